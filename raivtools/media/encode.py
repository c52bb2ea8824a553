"""The ``encode`` pipeline: records with frames (or media, or text) in, CLIP features into a feature store.

Records are cut into shards by input position exactly as in ``extract-frames``; shard ``i`` belongs to rank
``i mod world`` (``--shard I/N`` or torchrun's ``RANK``/``WORLD_SIZE``), so every rank writes its own shards
into one store and ``--resume`` skips done shards. Frames are batched within a shard only, so a shard's
features do not depend on how the work was split. A reader thread loads and stages the frames of the next
shard (from the frame store, or by decoding media in worker processes) while the device computes this one and
a writer thread writes the last one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from raivtools.io.errors import InputError
from raivtools.io.prefetch import prefetch
from raivtools.io.records import record_id
from raivtools.io.report import RunSummary, warn
from raivtools.io.store import (ArrayStore, ShardWriteQueue, StoredArray, StoreWriter, iter_chunks, shard_name,
                                shard_stats)
from raivtools.media.clip import ClipEncoder
from raivtools.media.decode import FrameSpec, decode_affinity, decode_task, quiet_decoders
from raivtools.media.extract import media_item
from raivtools.media.pool import PoolConfig, Skip, TimeoutPool
from raivtools.schema import media_kind

Located = tuple[str, int, dict[str, Any]]
STORE_DTYPES = ("float16", "float32")


@dataclass(frozen=True)
class EncodeConfig:
    """Settings of one encode run."""

    text_fields: tuple[str, ...] = ()  # record fields whose strings are encoded into text.<field>
    visual: bool = True  # encode frames (from the frame store, or decoded from video/image)
    batch_size: int = 256  # frames (or texts) per forward pass
    shard_size: int = 64  # records per store shard (the unit of --resume and of sharding)
    rank: int = 0  # this process's share: shards i with i % world == rank
    world: int = 1  # how many shares the work is split into
    resume: bool = False  # skip this rank's shards that are already done
    store_dtype: str = "float16"  # dtype of the stored arrays
    frames: FrameSpec = field(default_factory=FrameSpec)  # decoding of records that have media but no frames
    pool: PoolConfig = field(default_factory=PoolConfig)  # decoder workers for those records
    media_root: str | None = None  # directory relative media paths are read from


def store_meta(config: EncodeConfig, encoder: ClipEncoder) -> dict[str, Any]:
    """What the feature store records about how it was made (``train`` reads model and embed_dim)."""
    spec = encoder.spec
    meta: dict[str, Any] = {
        "kind": "features", "model": spec.model, "pretrained": spec.pretrained, "embed_dim": encoder.embed_dim,
        "image_size": encoder.image_size, "precision": spec.precision, "dtype": config.store_dtype,
        "tokens": spec.tokens, "text_fields": list(config.text_fields), "visual": config.visual,
        "shard_size": config.shard_size,
        "decode": {"frames": config.frames.frames, "sampling": config.frames.sampling, "seed": config.frames.seed},
    }
    if spec.model_config:  # absolute, so `raiv train --init-text store` finds the tower from anywhere
        meta["model_config"] = str(Path(spec.model_config).resolve())
    if os.path.isfile(spec.pretrained):
        meta["pretrained"] = str(Path(spec.pretrained).resolve())
    if spec.tokens:
        meta["token_width"] = encoder.token_width
    return meta


@dataclass
class _Entry:
    """One record of a shard on its way to the model."""

    record: dict[str, Any]  # the input record
    record_id: str  # its id as a store key
    passthrough: bool = False  # an upstream error record: written out unchanged
    duplicate: bool = False  # an earlier record had this id: its arrays stand
    frames: np.ndarray | StoredArray | None = None  # uint8 [K,H,W,3] to encode (from a store: not yet read)
    texts: dict[str, str] = field(default_factory=dict)  # field -> text to encode
    error: str | None = None  # why this record cannot be encoded


@dataclass
class _Unit:
    """One shard's worth of records."""

    index: int  # shard index
    resumed: bool  # done in an earlier run: only replayed to stdout
    entries: list[_Entry]
    staged: list[list[Any]] = field(default_factory=list)  # its frames as ClipEncoder.stage'd batches


class _FrameStores:
    """Frame stores named by records, opened once each; refreshed when an id is not (yet) there."""

    def __init__(self) -> None:
        self._stores: dict[str, ArrayStore] = {}

    def frames(self, directory: str, record_id: str) -> StoredArray | np.ndarray:
        store = self._stores.get(directory)
        if store is None:
            store = self._stores[directory] = ArrayStore(directory)
        if record_id not in store:
            store.refresh()
        return store.lazy(record_id, "frames")  # read by ClipEncoder.stage, straight into the batch


class FeatureEncoder:
    """Runs the pipeline; ``run`` yields this rank's output records in input order."""

    def __init__(self, config: EncodeConfig, encoder: ClipEncoder | None, writer: StoreWriter, store_dir: str,
                 summary: RunSummary):
        self.config = config
        self.encoder = encoder
        self.writer = writer
        self.store_dir = store_dir
        self.summary = summary
        self._stores = _FrameStores()
        self._first_outcome: dict[str, tuple[str, str | None]] = {}
        self._warned_duplicate = False
        self._texts_found = {name: 0 for name in config.text_fields}  # records with each --text-field

    # ---- reading (a background thread) -------------------------------------------------------------

    def _units(self, located: Iterable[Located]) -> Iterator[_Unit]:
        pending: list[tuple[_Entry, bool]] = []  # (entry, needs decoding)
        unit_meta: list[tuple[int, bool, int]] = []  # (shard, resumed, size)

        def tasks() -> Iterator[Any]:
            seen: set[str] = set()
            for index, chunk in enumerate(iter_chunks(located, self.config.shard_size)):
                if index % self.config.world != self.config.rank:
                    # another share encodes it, but its ids come first: a later record with one is a
                    # duplicate here too, as in a run over the whole input (else its arrays would win)
                    seen.update(record_id(record, f"{name}:{line}") for name, line, record in chunk
                                if record.get("status") != "error")
                    continue
                chunk_entries = [self._entry(record, f"{name}:{line}", seen) for name, line, record in chunk]
                resumed = self.config.resume and self._done_with(index, chunk_entries)
                unit_meta.append((index, resumed, len(chunk)))
                for (name, line, record), entry in zip(chunk, chunk_entries):
                    decode = not resumed and entry.error is None and not entry.passthrough \
                        and not entry.duplicate and self.config.visual and not isinstance(record.get("frames"), str) \
                        and media_kind(record) is not None
                    pending.append((entry, decode))
                    if decode:
                        yield (media_item(record, f"{name}:{line}", self.config.media_root), self.config.frames)
                    else:
                        yield Skip(None)

        entries: list[_Entry] = []
        position = 0
        with TimeoutPool(decode_task, self.config.pool, init=quiet_decoders, seed=self.config.frames.seed,
                         affinity=decode_affinity) as pool:
            for result in pool.imap_ordered(tasks()):
                entry, decoded = pending[position]
                position += 1
                index, resumed, size = unit_meta[0]
                if not resumed:
                    self._load_frames(entry, decoded, result)
                entries.append(entry)
                if len(entries) == size:
                    yield self._staged(_Unit(index, resumed, entries))
                    unit_meta.pop(0)
                    del pending[:position]
                    entries, position = [], 0

    def _done_with(self, index: int, entries: list[_Entry]) -> bool:
        """Whether shard ``index`` is done and holds exactly these records: a shard done from other input (records
        added or removed before it) is redone, so no record is printed "ok" without its arrays in the store."""
        name = shard_name(index)
        marker = self.writer.marker(name)
        if marker is None:
            return False
        if list(marker["ids"]) == [e.record_id for e in entries if not e.passthrough and not e.duplicate]:
            return True
        warn(f"--resume: {name} was made from other records than the input has there now; encoding it again")
        return False

    def _staged(self, unit: _Unit) -> _Unit:
        """The unit with its frames cut into batches and staged on the host (here, in the reader thread)."""
        clips = [e.frames for e in self._with_frames(unit)]
        unit.staged = [self.encoder.stage(pieces) for pieces in frame_batches(clips, self.config.batch_size)]
        return unit

    @staticmethod
    def _with_frames(unit: _Unit) -> list[_Entry]:
        return [e for e in unit.entries if not e.passthrough and not e.duplicate and e.frames is not None]

    def _entry(self, record: dict[str, Any], where: str, seen: set[str]) -> _Entry:
        entry = _Entry(record, record_id(record, where))
        if record.get("status") == "error":
            entry.passthrough = True
            return entry
        for name in self.config.text_fields:
            value = record.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise InputError(f"{where}: record {entry.record_id!r}: --text-field {name!r} must be a string, "
                                 f"got {type(value).__name__}")
            entry.texts[name] = value
            self._texts_found[name] += 1
        has_visual = isinstance(record.get("frames"), str) or media_kind(record) is not None
        if self.config.visual and not has_visual and not self.config.text_fields:
            raise InputError(f"{where}: record {entry.record_id!r} has no 'frames', 'video' or 'image' field "
                             "(run extract-frames first, or encode only text with --text-field NAME --no-visual)")
        if entry.record_id in seen:
            entry.duplicate = True
        seen.add(entry.record_id)
        return entry

    def _load_frames(self, entry: _Entry, decoded: bool, result: Any) -> None:
        if entry.passthrough or entry.duplicate or not self.config.visual:
            return
        if decoded:
            if result.error is not None:
                entry.error = result.error
            else:
                entry.frames = result.value.frames
            return
        directory = entry.record.get("frames")
        if not isinstance(directory, str):
            return  # a text-only record
        try:
            entry.frames = self._stores.frames(directory, entry.record_id)
        except KeyError:
            entry.error = f"no frames for id {entry.record_id!r} in frame store {directory}"
        except InputError as exc:
            entry.error = exc.message

    # ---- encoding (the calling thread) --------------------------------------------------------------

    def run(self, located: Iterable[Located]) -> Iterator[dict[str, Any]]:
        """Encodes this rank's shards (skipping done ones with ``resume``) and yields their records.

        Three stages overlap: the reader thread loads shard n+1, the device computes shard n (queued before
        shard n-1's results are taken back) and a writer thread writes shard n-1. A shard's records are
        yielded once it is on disk, in input order.
        """
        with ShardWriteQueue(self.writer, "raiv-encode-writer") as writes:
            queued: tuple[_Unit, list] | None = None  # on the device, results not yet taken back
            for unit in prefetch(self._units(located), depth=2, name="raiv-encode-reader"):
                # this unit is queued before the last one is taken back, so the device never waits for the host
                launched = None if unit.resumed else (unit, [self.encoder.launch(staged) for staged in unit.staged])
                if queued is not None:
                    self._write(*queued, writes)
                queued = launched
                if unit.resumed:
                    writes.release(self._replay(unit))
                yield from writes.written(keep=0 if unit.resumed else 1)
            if queued is not None:
                self._write(*queued, writes)
            yield from writes.written()
        self._warn_missing_texts()

    def _warn_missing_texts(self) -> None:
        """A --text-field no record has (a typo, or the wrong stage's records) would otherwise end "ok" with no
        text embeddings in the store."""
        for name, found in self._texts_found.items():
            if not found:
                warn(f"--text-field {name!r}: no record has a string {name!r} field, so no text.{name} was encoded")

    def _write(self, unit: _Unit, pending: list, writes: ShardWriteQueue) -> None:
        """Takes the unit's embeddings back and queues its shard, with its output records, for writing."""
        items, errors = self._unit_arrays(unit, [batch.result() for batch in pending])
        records = [self._output(entry, *self._status(entry, errors)) for entry in unit.entries]
        writes.submit(shard_name(unit.index), items, shard_stats(items, errors), records)

    def _unit_arrays(self, unit: _Unit, results: list[tuple[np.ndarray, np.ndarray | None]]
                     ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, str]]:
        """The unit's arrays by record (frame embeddings split back per record, text embeddings) and errors."""
        dtype = np.dtype(self.config.store_dtype)
        items: dict[str, dict[str, np.ndarray]] = {}
        errors: dict[str, str] = {}
        fresh = [e for e in unit.entries if not e.passthrough and not e.duplicate]
        arrays: dict[str, dict[str, np.ndarray]] = {e.record_id: {} for e in fresh}
        if results:
            pooled = np.concatenate([batch_pooled for batch_pooled, _ in results])
            tokens = np.concatenate([t for _, t in results]) if results[0][1] is not None else None
            start = 0
            for entry in self._with_frames(unit):
                count = len(entry.frames)
                arrays[entry.record_id]["frames"] = pooled[start: start + count].astype(dtype)
                if tokens is not None:
                    arrays[entry.record_id]["tokens"] = tokens[start: start + count].astype(dtype)
                start += count
        for name in self.config.text_fields:
            owners = [e for e in fresh if name in e.texts]
            for offset in range(0, len(owners), self.config.batch_size):
                batch = owners[offset: offset + self.config.batch_size]
                vectors = self.encoder.encode_texts([e.texts[name] for e in batch])
                for entry, vector in zip(batch, vectors):
                    arrays[entry.record_id][f"text.{name}"] = vector.astype(dtype)
        for entry in fresh:
            if entry.error is not None:
                items[entry.record_id] = {}
                errors[entry.record_id] = entry.error
            else:
                items[entry.record_id] = arrays[entry.record_id]
        return items, errors

    def _status(self, entry: _Entry, errors: dict[str, str]) -> tuple[str, str | None]:
        if entry.passthrough:
            return "error", None
        if entry.duplicate:
            return self._first_outcome.get(entry.record_id, ("ok", None))
        outcome = ("error", errors[entry.record_id]) if entry.record_id in errors else ("ok", None)
        self._first_outcome[entry.record_id] = outcome
        return outcome

    def _replay(self, unit: _Unit) -> list[dict[str, Any]]:
        marker = self.writer.marker(shard_name(unit.index))
        errors = marker.get("stats", {}).get("errors", {})
        self.summary.extra["resumed shards"] = self.summary.extra.get("resumed shards", 0) + 1
        return [self._output(entry, *self._status(entry, errors)) for entry in unit.entries]

    def _output(self, entry: _Entry, status: str, error: str | None) -> dict[str, Any]:
        if entry.passthrough:
            self.summary.add(entry.record)
            return entry.record
        if entry.duplicate and not self._warned_duplicate:
            warn(f"id {entry.record_id!r} appears more than once: the arrays of its first record are kept")
            self._warned_duplicate = True
        out = dict(entry.record)
        out.pop("error", None)
        out["features"] = self.store_dir
        out["status"] = status
        if error is not None:
            out["error"] = error
        self.summary.add(out)
        return out


def frame_batches(clips: list[np.ndarray], batch_size: int) -> list[list[np.ndarray]]:
    """Cuts a shard's clips into batches of ``batch_size`` frames (the last may be shorter); a clip may span
    two batches. Each batch is a list of pieces (views of the clips)."""
    batches: list[list[np.ndarray]] = []
    pieces: list[np.ndarray] = []
    filled = 0
    for clip in clips:
        offset = 0
        while offset < len(clip):
            take = min(len(clip) - offset, batch_size - filled)
            pieces.append(clip[offset: offset + take])
            offset += take
            filled += take
            if filled == batch_size:
                batches.append(pieces)
                pieces, filled = [], 0
    if pieces:
        batches.append(pieces)
    return batches
