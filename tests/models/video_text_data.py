"""Shared helpers for the VideoDistill and VLM tests: the "coloured things" world of tests/train as a feature
store (optionally with patch tokens, as ``raiv encode --tokens`` writes them) and real collated batches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from raivtools.io.store import ArrayStore, shard_name
from raivtools.models.layers import TextTokenizer
from raivtools.train.data import Collator, FeatureSource, examples_for, move_batch, token_source
from tests.train.conftest import TINY, World

__all__ = ["TINY", "World", "single_thread", "tiny_config", "world_store", "collator_for", "world_batches",
           "train_steps"]


@contextmanager
def single_thread() -> Iterator[None]:
    """One intra-op thread: tiny models on a shared 2-core machine run many times faster without thread hand-offs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)

#: the tests' vocabulary: the world's few words get compact ids (see :func:`compact_ids`), so the word embedding
#: and the MLM output layer are small and CPU steps take milliseconds
TINY_VOCAB = 64


def tiny_config(**fields) -> dict:
    """litgpt-style tiny settings (2 layers, width 32, a 64-word vocabulary) for a 16-dim feature store."""
    return {**TINY, "feature_dim": 16, "vocab_size": TINY_VOCAB, **fields}


def compact_ids(batches: list[dict], vocab: int = TINY_VOCAB) -> list[dict]:
    """Renumbers the BPE ids of the batches' texts into ``[0, vocab)``, keeping the tokenizer's layout: ordinary
    words first, the start and end tokens as the last two ids (padding stays 0 and stays masked)."""
    tokenizer = TextTokenizer()
    words = sorted({int(i) for b in batches for key in ("text_ids", "neg_ids") if key in b
                    for i in b[key][b[key.replace("ids", "mask")]].tolist()} - {tokenizer.start_id, tokenizer.end_id})
    if len(words) + 3 > vocab:
        raise ValueError(f"{len(words)} distinct words do not fit a vocabulary of {vocab}")
    table = {word: number + 1 for number, word in enumerate(words)}
    table.update({tokenizer.start_id: vocab - 2, tokenizer.end_id: vocab - 1})
    for batch in batches:
        for key in ("text_ids", "neg_ids"):
            if key in batch:
                mask = batch[key.replace("ids", "mask")]
                batch[key] = torch.tensor([[table[i] if m else 0 for i, m in zip(row, row_mask)]
                                           for row, row_mask in zip(batch[key].tolist(), mask.tolist())])
    return batches


def world_store(root: Path, world: World, patches: int = 0, seed: int = 0) -> Path:
    """The world's features as a store; with ``patches`` > 0 also ``tokens`` [K, patches, 16] per item."""
    rng = np.random.default_rng(seed)
    meta = {"kind": "features", "model": "test", "pretrained": "", "embed_dim": 16, "tokens": patches > 0}
    if patches:
        meta["token_width"] = 16
    writer = ArrayStore.create(root, meta=meta)
    items = {}
    for media_id, frames in world.features.items():
        arrays = {"frames": frames.astype(np.float16)}
        if patches:
            noise = 0.3 * rng.normal(size=(frames.shape[0], patches, frames.shape[1]))
            arrays["tokens"] = (frames[:, None, :] + noise).astype(np.float16)
        items[media_id] = arrays
    writer.write_shard(shard_name(0), items)
    return root


def collator_for(model, store: Path) -> Collator:
    """The collator ``raiv train`` would build for ``model`` over ``store``."""
    features = FeatureSource(str(store))
    tokenizer = TextTokenizer(model.config.context_length)
    return Collator(features, tokenizer, model.config.max_frames, 1, tokens=token_source(type(model), features))


def world_batches(model, store: Path, world: World, batch_size: int = 8, seed: int = 0) -> list[dict]:
    """Every media item of the world as video-text examples, in shuffled batches (training frame sampling)."""
    records = world.video_text_records("train")
    _, examples = examples_for("video-text", (("mem", i + 1, r) for i, r in enumerate(records)))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(examples))
    collate = collator_for(model, store)
    batches = [move_batch(collate([examples[i] for i in order[start:start + batch_size]], rng), "cpu")
               for start in range(0, len(order) - batch_size + 1, batch_size)]
    return compact_ids(batches) if model.config.vocab_size == TINY_VOCAB else batches


def train_steps(model, batches: list[dict], steps: int, lr: float = 2e-3) -> list[float]:
    """Plain AdamW steps cycling over ``batches``; the loss of each step."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for step in range(steps):
        out = model(batches[step % len(batches)])
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
        losses.append(float(out["loss"].detach()))
    return losses
