"""The ``extract-frames`` pipeline: media records in, frames into a frame store, records with status out.

Records are cut into shards by input position (shard ``i`` holds records ``i*S .. i*S+S-1``), so a rerun
with ``--resume`` meets the same shards, skips those whose done-marker exists and produces a store
byte-identical to an uninterrupted run. Records of a shard are written to stdout only after the shard is
on disk, so a downstream ``encode`` reading the pipe always finds the frames it is pointed at.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from raivtools.io.errors import InputError
from raivtools.io.records import record_id, require_fields
from raivtools.io.report import RunSummary
from raivtools.io.store import ShardWriteQueue, StoreWriter, iter_chunks, shard_name, shard_stats
from raivtools.media.decode import FrameSpec, MediaItem, decode_affinity, decode_task, quiet_decoders
from raivtools.media.pool import PoolConfig, Skip, TaskResult, TimeoutPool

Located = tuple[str, int, dict[str, Any]]


@dataclass(frozen=True)
class ExtractConfig:
    """Settings of one extract-frames run."""

    spec: FrameSpec = field(default_factory=FrameSpec)  # how each item becomes frames
    pool: PoolConfig = field(default_factory=PoolConfig)  # workers and the per-item timeout
    shard_size: int = 64  # records per store shard (the unit of --resume)
    media_root: str | None = None  # directory that relative media paths are taken from (default: cwd)

    def store_meta(self) -> dict[str, Any]:
        """What the frame store records about how it was made (a resumed run must match it)."""
        spec = self.spec
        return {
            "kind": "frames", "frames": spec.frames, "sampling": spec.sampling, "size": spec.size,
            "keep_aspect": spec.keep_aspect, "decoder": spec.decoder, "seed": spec.seed,
            "shard_size": self.shard_size, "arrays": {"frames": "uint8 [K,H,W,3]", "timestamps": "float32 [K] s"},
        }


def media_item(record: dict[str, Any], where: str, media_root: str | None = None) -> MediaItem:
    """The media reference of one record, checked.

    Raises:
        InputError: no ``id``, no ``video``/``image``, or a window that is not numbers with start < end.
    """
    media_id = record_id(record, where)
    require_fields(record, ["video|image"], where)
    kind = "video" if record.get("video") is not None or "image" not in record else "image"
    path = record.get(kind)
    if not isinstance(path, str) or not path:
        raise InputError(f"{where}: record {record['id']!r}: {kind!r} must be a non-empty path string, got {path!r}")
    if media_root and not os.path.isabs(path):
        path = os.path.join(media_root, path)
    start, end = record.get("start"), record.get("end")
    for name, value in (("start", start), ("end", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise InputError(f"{where}: record {record['id']!r}: {name!r} must be a number of seconds >= 0, got {value!r}")
    if start is not None and end is not None and end <= start:
        raise InputError(f"{where}: record {record['id']!r}: 'end' ({end}) must be after 'start' ({start})")
    if kind == "image":
        return MediaItem(media_id, "image", path)
    return MediaItem(media_id, "video", path, float(start or 0.0), None if end is None else float(end))


@dataclass
class _Pending:
    """A record on its way through the pool."""

    shard: int  # shard index (input position // shard size)
    last_in_shard: bool  # the shard is complete once this record has its result
    record: dict[str, Any]  # the input record
    item: MediaItem  # its media
    resumed: bool  # its shard was done before this run


@dataclass
class _Outcome:
    status: str  # "ok" or "error"
    error: str | None = None  # the message for an error
    media: tuple = ()  # (kind, path, start, end): a repeated id must name the same media


class FrameExtractor:
    """Runs the pipeline; ``run`` yields the output records in input order."""

    def __init__(self, config: ExtractConfig, writer: StoreWriter, store_dir: str, summary: RunSummary):
        self.config = config
        self.writer = writer
        self.store_dir = store_dir
        self.summary = summary
        self._seen: dict[str, _Outcome] = {}  # id -> outcome of its first record (consumer side)
        self._scheduled: set[str] = set()  # ids already met by the reader (feeder thread side)
        self._pending: deque[_Pending] = deque()  # appended by the feeder thread, popped in order by run()
        self._marker_cache: tuple[int, dict[str, Any]] | None = None  # the done-marker last read on --resume

    def run(self, located: Iterable[Located]) -> Iterator[dict[str, Any]]:
        """Decodes every record's media (skipping done shards) and yields the records with ``frames``/``status``.

        A shard is written by a background thread while the workers decode the next one: a write that
        held up this loop would leave the workers blocked on sending their frames.
        """
        shard_items: dict[str, dict[str, np.ndarray]] = {}
        shard_errors: dict[str, str] = {}
        shard_records: list[dict[str, Any]] = []
        with TimeoutPool(decode_task, self.config.pool, init=quiet_decoders, seed=self.config.spec.seed,
                         affinity=decode_affinity) as pool, \
                ShardWriteQueue(self.writer, "raiv-extract-writer") as writes:
            for result in pool.imap_ordered(self._tasks(located)):
                pending = self._pending.popleft()
                outcome = self._outcome(pending, result, shard_items, shard_errors)
                shard_records.append(self._output(pending.record, outcome))
                if pending.last_in_shard:
                    if pending.resumed:
                        writes.release(shard_records)
                    else:
                        writes.submit(shard_name(pending.shard), shard_items, shard_stats(shard_items, shard_errors),
                                      shard_records)
                    yield from writes.written(keep=0 if pending.resumed else 1)
                    shard_items, shard_errors, shard_records = {}, {}, []
            yield from writes.written()

    def _tasks(self, located: Iterable[Located]) -> Iterator[Any]:
        spec = self.config.spec
        for index, chunk in enumerate(iter_chunks(located, self.config.shard_size)):
            resumed = self.writer.is_done(shard_name(index))
            if resumed:
                self.summary.extra["resumed shards"] = self.summary.extra.get("resumed shards", 0) + 1
            for position, (name, line, record) in enumerate(chunk):
                item = media_item(record, f"{name}:{line}", self.config.media_root)
                self._pending.append(_Pending(index, position == len(chunk) - 1, record, item, resumed))
                # a repeated id is decoded once: its first record's outcome is reused (see _outcome)
                repeated = item.record_id in self._scheduled
                self._scheduled.add(item.record_id)
                yield Skip(None) if resumed or repeated else (item, spec)

    def _outcome(self, pending: _Pending, result: TaskResult, items: dict, errors: dict[str, str]) -> _Outcome:
        item = pending.item
        media = (item.kind, item.path, item.start, item.end)
        earlier = self._seen.get(item.record_id)
        if earlier is not None:
            if earlier.media != media:
                return _Outcome("error", f"id {item.record_id!r} is used by an earlier record for other media")
            return earlier
        if pending.resumed:
            outcome = self._resumed_outcome(pending.shard, item.record_id)
        elif result.error is not None:
            outcome = _Outcome("error", result.error)
            items[item.record_id] = {}
            errors[item.record_id] = result.error
        else:
            decoded = result.value
            items[item.record_id] = {"frames": decoded.frames, "timestamps": decoded.timestamps}
            outcome = _Outcome("ok")
            if decoded.decoder == "pyav" and self.config.spec.decoder == "auto":
                self.summary.extra["pyav fallback"] = self.summary.extra.get("pyav fallback", 0) + 1
        outcome.media = media
        self._seen[item.record_id] = outcome
        return outcome

    def _resumed_outcome(self, shard: int, record_id: str) -> _Outcome:
        marker = self._marker(shard)
        if marker["ids"].get(record_id):
            return _Outcome("ok")
        return _Outcome("error", marker["stats"].get("errors", {}).get(record_id, "failed in an earlier run"))

    def _marker(self, shard: int) -> dict[str, Any]:
        cached = self._marker_cache
        if cached is None or cached[0] != shard:
            cached = (shard, self.writer.marker(shard_name(shard)))
            self._marker_cache = cached
        return cached[1]

    def _output(self, record: dict[str, Any], outcome: _Outcome) -> dict[str, Any]:
        out = dict(record)
        out.pop("error", None)
        out["frames"] = self.store_dir
        out["status"] = outcome.status
        if outcome.error is not None:
            out["error"] = outcome.error
        self.summary.add(out)
        return out
