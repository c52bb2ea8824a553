"""Reproducible randomness: the same inputs and ``--seed`` give the same outputs, whatever the worker count.

Randomness that belongs to one record is drawn from a generator keyed by the seed and the record's id, so
it does not depend on the order records reach a worker.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np


def stable_hash(*parts: object) -> int:
    """A 63-bit hash of ``parts`` that is the same in every process (unlike ``hash()``)."""
    text = "\x1f".join(str(part) for part in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """A numpy generator for ``seed`` and ``keys`` (e.g. a record id and a round number)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, stable_hash(*keys)])


def seed_everything(seed: int) -> None:
    """Seeds Python's, numpy's and (when installed) torch's global generators."""
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    try:
        import torch
    except ImportError:  # torch is a dependency, but seeding must not be what breaks without it
        return
    torch.manual_seed(seed)
