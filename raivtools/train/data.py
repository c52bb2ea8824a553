"""Records and a feature store -> examples -> length-bucketed batches of tensors (the format in
:mod:`raivtools.models`).

An :class:`Example` is one thing the model scores: a pair statement, a statement with one reasoning choice
appended, or a video-caption record (with its hard negative). Examples keep the position of their record so
scores go back to the right line.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from raivtools.io.errors import InputError
from raivtools.io.records import require_fields
from raivtools.io.store import ArrayStore
from raivtools.schema import SPLIT_NAMES, choice_index, pair_label, shown

#: what each task reads: "pairs" (RAIV True/False), "reason" (RAIV 3-way reasoning), "video-text" (captions with
#: optional hard negatives), "tsp" (SRL records, pairs mined every epoch), "itm" (captions, matched and mismatched
#: anew every epoch), "retrieval" (score only)
TASKS = ("pairs", "reason", "video-text", "tsp", "itm", "retrieval")


@dataclass
class Example:
    """One scored unit."""

    index: int  # position of the source record in its input
    media: tuple[str, ...]  # feature-store ids of the visual inputs: (left, right) for pairs, (id,) for video-text
    text: str  # the statement / caption (for reasoning: the statement with one choice appended)
    label: float | None = None  # 1.0 true, 0.0 false; None for video-text
    negative: str | None = None  # the record's hard negative caption, if any
    choice: int = -1  # reasoning choice number, -1 otherwise
    video_key: int = 0  # the same number for examples of the same media item


def reasoning_text(statement: str, choice: str) -> str:
    """The statement with one reasoning choice appended (seed 000 §3.2: each choice is scored separately)."""
    return f"{statement.rstrip()} {choice.strip()}"


def pair_examples(record: dict[str, Any], index: int, where: str, labelled: bool = False) -> list[Example]:
    """The True/False example of a pair record (``labelled``: training or validation data, so it needs a label)."""
    require_fields(record, ("left", "right", "statement"), where)
    media = (_media_id(record, "left", where), _media_id(record, "right", where))
    return [Example(index, media, text_field(record, "statement", where), _label(record, where, labelled))]


def reasoning_examples(record: dict[str, Any], index: int, where: str, labelled: bool = False) -> list[Example]:
    """One example per reasoning choice of a pair record (label 1.0 for the answer); none without ``reason``."""
    reason = record.get("reason")
    if not reason:
        return []
    require_fields(record, ("left", "right", "statement"), where)
    if not isinstance(reason, dict) or not isinstance(reason.get("choices"), list):
        raise InputError(f"{where}: record {record.get('id')!r}: 'reason' must be {{\"choices\": [...], \"answer\": i}}")
    media = (_media_id(record, "left", where), _media_id(record, "right", where))
    statement = text_field(record, "statement", where)
    answer = _answer(record, reason, where, labelled)
    return [
        Example(index, media, reasoning_text(statement, str(choice)),
                None if answer is None else float(i == answer), choice=i)
        for i, choice in enumerate(reason["choices"])
    ]


def video_text_examples(record: dict[str, Any], index: int, where: str, labelled: bool = False) -> list[Example]:
    """The example of a video-text record (caption, optional ``negative``; no label, so ``labelled`` changes
    nothing)."""
    require_fields(record, ("id", "caption"), where)
    negative = record.get("negative")
    if negative is not None:  # null: negate found no edit, the record has no negative
        negative = text_field(record, "negative", where)
    return [Example(index, (str(record["id"]),), text_field(record, "caption", where), negative=negative)]


def text_field(record: dict[str, Any], name: str, where: str) -> str:
    """The record's text field ``name``; a null or a number would otherwise be trained on as the text "None"."""
    value = record[name]
    if not isinstance(value, str):
        raise InputError(f"{where}: record {record.get('id', '<no id>')!r}: {name!r} must be a string, "
                         f"got {shown(value)}")
    return value


def _label(record: dict[str, Any], where: str, required: bool) -> float | None:
    """1.0 / 0.0 of the record's boolean ``label``; None for an unlabelled record that is only scored."""
    if required:
        require_fields(record, ("label",), where)
    label = record.get("label")
    if label is None and not required:
        return None
    return float(pair_label(label, where, record.get("id", "<no id>")))


def _answer(record: dict[str, Any], reason: dict[str, Any], where: str, required: bool) -> int | None:
    """The index of the right reasoning choice; None when a record that is only scored has none."""
    if reason.get("answer") is None and not required:
        return None
    return choice_index(reason, where, record.get("id", "<no id>"))


def _media_id(record: dict[str, Any], side: str, where: str) -> str:
    ref = record[side]
    if not isinstance(ref, dict) or "id" not in ref:
        raise InputError(f"{where}: record {record.get('id')!r}: {side!r} must be an object with an 'id'")
    return str(ref["id"])


EXAMPLE_MAKERS = {"pairs": pair_examples, "reason": reasoning_examples, "video-text": video_text_examples,
                  "retrieval": video_text_examples}


def examples_for(task: str, located: Iterable[tuple[str, int, dict[str, Any]]], start_index: int = 0,
                 labelled: bool = False, skip_errors: bool = False) -> tuple[list[dict[str, Any]], list[Example]]:
    """Reads located records (``(file, line, record)``) into (records, examples) for ``task``.

    Args:
        labelled: training or validation data: pair records need a ``label``, reasoning ones a ``reason.answer``
            (records that are only scored may have neither).
        skip_errors: records with ``status: error`` (an upstream command's failure) give no examples.

    Raises:
        InputError: a required field is missing or wrongly typed (names ``file:line``).
    """
    make = EXAMPLE_MAKERS[task]
    records: list[dict[str, Any]] = []
    examples: list[Example] = []
    for offset, (name, line, record) in enumerate(located):
        records.append(record)
        if skip_errors and record.get("status") == "error":
            continue
        examples.extend(make(record, start_index + offset, f"{name}:{line}", labelled))
    assign_video_keys(examples)
    return records, examples


def assign_video_keys(examples: Sequence[Example]) -> None:
    """Numbers media items so examples of the same item share ``video_key`` (in order of first appearance)."""
    keys: dict[tuple[str, ...], int] = {}
    for example in examples:
        example.video_key = keys.setdefault(example.media, len(keys))


def split_of(record: dict[str, Any]) -> str:
    """The record's split, ``train``/``val``/``test`` for any of their usual names ("train" when it has none);
    another value is returned as it is."""
    split = str(record.get("split") or "train")
    return SPLIT_NAMES.get(split.strip().lower(), split)


# ------------------------------------------------------------------------------------------------ features


class FeatureSource:
    """Per-frame features by media id, from a feature store (``frames`` [K, D], float16 on disk), or the pixels
    of a frame store (``frames`` [K, H, W, 3] uint8, for models such as ``clip`` that read pixels).

    Features are small (K x D per item), so every item read is kept in memory, in the store's dtype (float16:
    150k items of 4 x 512 take 0.6 GB), for the next epoch; the collator makes float32 batches of them. Patch
    tokens (``field="tokens"`` [K, P, W]) are too big to keep: pass ``cache=False``.
    """

    def __init__(self, store_dir: str, field: str = "frames", cache: bool = True):
        self.store = ArrayStore(store_dir)
        self.field = field
        # a frame store (raiv extract-frames: uint8 pixels, for models that read pixels) is too big to keep
        self.cache = cache and self.store.meta.get("kind") != "frames"
        self._cache: dict[str, np.ndarray] = {}

    @property
    def dim(self) -> int:
        """D (W for tokens): the feature size (from the store's meta, else from its first item)."""
        dim = self.store.meta.get("embed_dim" if self.field == "frames" else "token_width")
        if dim:
            return int(dim)
        for media_id in self.store.ids():
            if self.field in self.store.fields(media_id):
                return int(self.get(media_id).shape[-1])
        raise InputError(f"{self.store.root}: feature store has no {self.field!r} arrays (made by raiv encode?)")

    def missing(self, media_id: str) -> str | None:
        """Why ``media_id`` has no usable features, or None when it has."""
        if media_id not in self.store:
            return f"no features for {media_id!r} in {self.store.root}"
        if self.field not in self.store.fields(media_id):
            return f"no {self.field!r} features for {media_id!r} in {self.store.root} (its encode failed?)"
        return None

    def get(self, media_id: str) -> np.ndarray:
        """[K, D] features of ``media_id`` in the store's dtype (KeyError when absent)."""
        array = self._cache.get(media_id)
        if array is None:
            array = np.asarray(self.store.get(media_id)[self.field])
            if array.ndim == 1:  # a single embedding is a one-frame video
                array = array[None]
            if self.cache:
                self._cache[media_id] = array
        return array


def feature_statistics(features: FeatureSource, media_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std ([D] float32 each) over every frame of ``media_ids`` that has features
    (float64 sums, so a big store adds up exactly enough); mean 0 and std 1 when none has."""
    total = squares = None
    count = 0
    for media_id in media_ids:
        if features.missing(media_id):
            continue
        frames = features.get(media_id).astype(np.float64)
        frames = frames.reshape(-1, frames.shape[-1])
        total = frames.sum(0) if total is None else total + frames.sum(0)
        squares = (frames ** 2).sum(0) if squares is None else squares + (frames ** 2).sum(0)
        count += frames.shape[0]
    if not count:
        dim = features.dim
        return np.zeros(dim, np.float32), np.ones(dim, np.float32)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean ** 2, 0.0))
    return mean.astype(np.float32), std.astype(np.float32)


def usable(examples: Iterable[Example], features: FeatureSource) -> tuple[list[Example], dict[int, str]]:
    """Splits examples into those whose media all have features, and {record index: why not} for the rest."""
    kept: list[Example] = []
    problems: dict[int, str] = {}
    for example in examples:
        reason = next(filter(None, (features.missing(media_id) for media_id in example.media)), None)
        if reason is None:
            kept.append(example)
        else:
            problems.setdefault(example.index, reason)
    return kept, problems


def sample_frame_indices(count: int, wanted: int, rng: np.random.Generator | None) -> np.ndarray:
    """VindLU/RAIV frame sampling: split ``count`` frames into ``wanted`` equal intervals and take a random
    frame of each (training, ``rng`` given) or the middle one (evaluation). Fewer frames are all kept."""
    return sample_frame_indices_of([count], wanted, rng)[0]


def sample_frame_indices_of(counts: Sequence[int], wanted: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """:func:`sample_frame_indices` for each of ``counts`` in turn, with one draw from ``rng`` for them all: the
    same frames as a call each (the generator fills an array element by element), for a tenth of the time."""
    if rng is None:
        return [_middle_frames(count, wanted) for count in counts]
    bounds = [_frame_intervals(count, wanted) for count in counts]
    drawn = [b for b in bounds if b is not None]
    if not drawn:
        return [np.arange(count) for count in counts]
    lows, highs = np.concatenate([lo for lo, _ in drawn]), np.concatenate([hi for _, hi in drawn])
    picks = iter(np.split(rng.integers(lows, highs), np.arange(wanted, wanted * len(drawn), wanted)))
    return [np.arange(count) if b is None else next(picks) for count, b in zip(counts, bounds)]


@lru_cache(maxsize=4096)
def _frame_intervals(count: int, wanted: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The first frames and ends (exclusive) of ``wanted`` equal intervals of ``count`` frames; None when all
    frames are kept."""
    if count <= wanted:
        return None
    edges = np.linspace(0, count, wanted + 1).astype(int)
    starts = edges[:-1]
    ends = np.maximum(edges[1:], starts + 1)
    starts.flags.writeable = ends.flags.writeable = False  # cached: shared by every call
    return starts, ends


def _middle_frames(count: int, wanted: int) -> np.ndarray:
    bounds = _frame_intervals(count, wanted)
    return np.arange(count) if bounds is None else (bounds[0] + bounds[1] - 1) // 2


# ------------------------------------------------------------------------------------------------ batching


def example_length(example: Example, tokenizer, frames_per_input: int) -> int:
    """Sequence length that drives attention cost: text tokens plus (at most) the frames of each visual input."""
    return len(tokenizer.encode(example.text)) + len(example.media) * frames_per_input


def bucketed_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None,
                     bucket_batches: int = 50) -> list[list[int]]:
    """Length-bucketed (dynamic) batching, as UNITER: shuffle, cut into pools of ``bucket_batches`` batches,
    sort each pool by length, split into batches, shuffle the batch order. Examples in a batch have similar
    lengths, so padding is small. Without ``rng`` (evaluation) the order is sorted by length throughout.

    Returns:
        lists of example positions.
    """
    order = np.arange(len(lengths)) if rng is None else rng.permutation(len(lengths))
    pool = len(order) if rng is None else batch_size * bucket_batches
    batches: list[list[int]] = []
    lengths_array = np.asarray(lengths)
    for start in range(0, len(order), max(pool, 1)):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(lengths_array[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size].tolist() for i in range(0, len(chunk), batch_size))
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def shard_batches(batches: list[list[int]], rank: int, world_size: int) -> list[list[int]]:
    """This rank's share of the batches (DistributedSampler's split, by batch): every ``world_size``-th batch,
    with the list first padded by wrapping around so every rank runs the same number of steps."""
    if world_size <= 1:
        return batches
    if not batches:
        return []
    per_rank = -(-len(batches) // world_size)
    padded = [batches[i % len(batches)] for i in range(per_rank * world_size)]
    return padded[rank::world_size]


class Collator:
    """Examples -> a batch dict of tensors on the host (see :mod:`raivtools.models` for the keys), features in
    the store's dtype: :func:`move_batch` makes them the models' float32 on the device.

    Args:
        features: where the frames come from.
        tokenizer: a :class:`~raivtools.models.layers.TextTokenizer`.
        max_frames: frames per visual input; longer inputs are subsampled per interval.
        visual_inputs: 2 for pair models, 1 for video-text models.
        tokens: the store's patch tokens (see :func:`token_source`), for models with ``needs_tokens``: adds
            ``tokens`` [B, V, K, P, W] (the same frames as ``frames``) and ``frame_index`` int64 [B, V, K]
            (which stored frame each batch frame is; -1 at padding).
    """

    def __init__(self, features: FeatureSource, tokenizer, max_frames: int, visual_inputs: int,
                 tokens: FeatureSource | None = None):
        self.features = features
        self.tokenizer = tokenizer
        self.max_frames = max_frames
        self.visual_inputs = visual_inputs
        self.tokens = tokens

    def __call__(self, examples: Sequence[Example], rng: np.random.Generator | None = None) -> dict[str, Any]:
        """Builds the batch; ``rng`` picks training frames (None: middle frames, for evaluation)."""
        import torch

        frames, frame_mask, chosen = self._frames(examples, rng)
        text_ids, text_mask = self._texts([e.text for e in examples])
        batch: dict[str, Any] = {
            "frames": torch.from_numpy(frames),
            "frame_mask": torch.from_numpy(frame_mask),
            "text_ids": torch.from_numpy(text_ids),
            "text_mask": torch.from_numpy(text_mask),
            "video_key": torch.tensor([e.video_key for e in examples], dtype=torch.long),
            "index": torch.tensor([e.index for e in examples], dtype=torch.long),
            "choice": torch.tensor([e.choice for e in examples], dtype=torch.long),
        }
        if all(e.label is not None for e in examples):
            batch["labels"] = torch.tensor([e.label for e in examples], dtype=torch.float32)
        if any(e.negative is not None for e in examples):
            neg_ids, neg_mask = self._texts([e.negative or "" for e in examples])
            batch["neg_ids"], batch["neg_mask"] = torch.from_numpy(neg_ids), torch.from_numpy(neg_mask)
            batch["has_neg"] = torch.tensor([e.negative is not None for e in examples], dtype=torch.bool)
        if self.tokens is not None:
            tokens, frame_index = self._tokens(examples, chosen, frame_mask.shape[-1])
            batch["tokens"], batch["frame_index"] = torch.from_numpy(tokens), torch.from_numpy(frame_index)
        return batch

    def _frames(self, examples: Sequence[Example], rng: np.random.Generator | None):
        media = [e.media[: self.visual_inputs] for e in examples]
        for example, row in zip(examples, media):
            if len(row) != self.visual_inputs:
                raise InputError(f"record at position {example.index}: this model needs {self.visual_inputs} "
                                 f"visual inputs per record, got {len(row)}")
        stored = [self.features.get(m) for row in media for m in row]
        first = stored[0]
        if any(a.shape[1:] != first.shape[1:] for a in stored):
            raise InputError(f"{self.features.store.root}: frames of different sizes in one batch; extract them "
                             "with a fixed --size (not --keep-aspect) for models that read pixels")
        picks = sample_frame_indices_of([a.shape[0] for a in stored], self.max_frames, rng)
        lengths = np.array([len(p) for p in picks]).reshape(len(examples), self.visual_inputs)
        mask = np.arange(lengths.max()) < lengths[..., None]
        picked = np.concatenate([a if len(p) == len(a) else a[p] for a, p in zip(stored, picks)])
        frames = np.zeros((*mask.shape, *first.shape[1:]), picked.dtype)
        # the mask's True cells in C order are the picked frames of each input in turn: one copy for the batch
        frames[mask] = picked
        chosen = [picks[b * self.visual_inputs:(b + 1) * self.visual_inputs] for b in range(len(examples))]
        return frames, mask, chosen

    def _tokens(self, examples: Sequence[Example], chosen: list[list[np.ndarray]], longest: int):
        """Patch tokens of the frames ``_frames`` picked, and which stored frames those are."""
        stored = [[self.tokens.get(media_id) for media_id in example.media] for example in examples]
        first = stored[0][0]
        dtype = np.result_type(*(array for row in stored for array in row))
        tokens = np.zeros((len(examples), self.visual_inputs, longest, *first.shape[1:]), dtype)
        frame_index = np.full((len(examples), self.visual_inputs, longest), -1, np.int64)
        for b, (arrays, row) in enumerate(zip(stored, chosen)):
            for v, (array, indices) in enumerate(zip(arrays, row)):
                tokens[b, v, : len(indices)] = array[indices]
                frame_index[b, v, : len(indices)] = indices
        return tokens, frame_index

    def _texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        encoded = [self.tokenizer.encode(text) for text in texts]
        lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
        mask = np.arange(lengths.max()) < lengths[:, None]
        ids = np.zeros(mask.shape, np.int64)
        ids[mask] = np.fromiter(itertools.chain.from_iterable(encoded), np.int64, int(lengths.sum()))
        return ids, mask


def token_source(model_class: type, features: FeatureSource) -> FeatureSource | None:
    """The store's patch tokens when the model asks for them (``needs_tokens``) and the store has them
    (``raiv encode --tokens``); None otherwise (such a model then uses each frame's feature as its one patch)."""
    if not getattr(model_class, "needs_tokens", False):
        return None
    store = features.store
    has_tokens = store.meta.get("tokens") or any("tokens" in store.fields(i) for i in store.ids()[:1])
    return FeatureSource(str(store.root), field="tokens", cache=False) if has_tokens else None


def move_batch(batch: dict[str, Any], device) -> dict[str, Any]:
    """The batch on ``device`` as the models take it, with features float32 (non-blocking where the source is
    pinned).

    The collator leaves features in the store's dtype (float16): half the bytes cross to a GPU, and the cast
    runs there; on the host numpy's float16 cast took a third of a batch's collate time.
    """
    import torch

    def moved(value):
        if not isinstance(value, torch.Tensor):
            return value
        dtype = torch.float32 if value.is_floating_point() else value.dtype
        return value.to(device, dtype, non_blocking=True)

    return {key: moved(value) for key, value in batch.items()}
