"""Task-specific pre-training (seed 000 §3.2, Table 6): RAIV pairs mined from SRL records anew every epoch.

Each epoch, every media item of the (COCO / VATEX style) SRL records is paired with another one, either sharing
at least one object (``cond``, the paper's default) or at random (``rand``), and a True/False statement is
written from a template over the two items' roles. The pair mining and the templates are make-pairs' own
(``raivtools.pairs``), not a copy: this module only asks that library for one epoch's pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from raivtools.io.errors import InputError
from raivtools.train.data import Example, FeatureSource, examples_for, usable

SAMPLINGS = ("cond", "rand")
NEEDS_PAIRS = ("--task tsp needs raivtools.pairs (the make-pairs template and sampling library, issue 4), "
               "which is not in this installation yet; mine pairs with `raiv make-pairs` and train with --task pairs")


def check_tsp_available() -> None:
    """Exit 2 with a clear message when the make-pairs library is missing."""
    try:
        import raivtools.pairs  # noqa: F401
    except ImportError:
        raise InputError(NEEDS_PAIRS) from None


def mine_pairs(srl_records: list[dict[str, Any]], rng: np.random.Generator, sampling: str) -> list[dict[str, Any]]:
    """One epoch of RAIV pair records (make-pairs' format) from SRL records, with make-pairs' own library."""
    if sampling not in SAMPLINGS:
        raise InputError(f"--sampling {sampling!r}: choose cond or rand")
    check_tsp_available()
    from raivtools import pairs

    return pairs.mine_pairs(srl_records, rng=rng, sampling=sampling)


def tsp_examples(srl_records: list[dict[str, Any]], rng: np.random.Generator, sampling: str,
                 features: FeatureSource) -> list[Example]:
    """This epoch's training examples: freshly mined pairs whose media have features."""
    mined = mine_pairs(srl_records, rng, sampling)
    _, examples = examples_for("pairs", (("<tsp>", i + 1, r) for i, r in enumerate(mined)))
    return usable(examples, features)[0]


def validation_pairs(srl_records: list[dict[str, Any]], rng: np.random.Generator, sampling: str) -> list[dict[str, Any]]:
    """Fixed validation pairs mined once from the validation SRL records."""
    return mine_pairs(srl_records, rng, sampling) if srl_records else []
