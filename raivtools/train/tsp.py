"""Task-specific pre-training (seed 000 §3.2, §4.2, Table 6): RAIV pairs mined from SRL records anew every epoch.

The records are captioned images and videos with semantic roles and objects (COCO / VATEX style, from
``raiv srl``). Every epoch each item is paired with another one, sharing at least one object (``cond``, the
paper's default) or at random (``rand``), and a True/False statement is written from a template over the two
items' roles: Im-Im, Im-Vid and Vid-Vid pairs as the media allow. The sampling and the templates are
make-pairs' own library (:mod:`raivtools.pairs`), not a copy; this module only asks it for one epoch's pairs.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from raivtools.io.errors import InputError
from raivtools.train.data import Example, FeatureSource, examples_for, usable

SAMPLINGS = ("cond", "rand")
NEEDS_PAIRS = ("--task tsp needs raivtools.pairs (make-pairs' template and sampling library), which is not in "
               "this installation yet; mine pairs once with `raiv make-pairs` and train with --task pairs instead")


def check_tsp_available() -> None:
    """Exit 2 with a clear message when the make-pairs library is missing."""
    try:
        import raivtools.pairs  # noqa: F401
    except ImportError:
        raise InputError(NEEDS_PAIRS) from None


class PairMiner:
    """Mines RAIV pair records from a fixed set of SRL records, one call per epoch.

    Args:
        srl_records: media records with ``srl`` and ``objects`` (and ``video`` or ``image``).
        sampling: ``cond`` (partners share an object) or ``rand``.
        pairs_per_item: pairs per item and epoch (the paper retrieves one partner per instance).
    """

    rng_name = "tsp"  # each epoch's pairs are drawn from rng_for(seed, rng_name, epoch)

    def __init__(self, srl_records: list[dict[str, Any]], sampling: str = "cond", pairs_per_item: float = 1.0):
        if sampling not in SAMPLINGS:
            raise InputError(f"--sampling {sampling!r}: choose cond or rand")
        check_tsp_available()
        from raivtools import pairs
        from raivtools.pairs.generate import banned_objects

        self.pairs = pairs
        self.sampling = sampling
        self.table = pairs.table_from_records(srl_records)
        self.banned = banned_objects(self.table, pairs.PairsConfig())
        self.templates = list(pairs.BUILTIN_TEMPLATES)
        self.target = max(1, round(len(self.table) * pairs_per_item))

    def kinds(self) -> list[str]:
        """Pair kinds the media allow: im-im and vid-vid for one media kind, plus im-vid for both."""
        from raivtools.pairs.items import IMAGE, VIDEO

        present = set(self.table.kinds)
        kinds = (["im-im"] if IMAGE in present else []) + (["im-vid"] if {IMAGE, VIDEO} <= present else [])
        return kinds + (["vid-vid"] if VIDEO in present else [])

    def mine(self, rng: np.random.Generator) -> list[dict[str, Any]]:
        """One epoch of pair records (make-pairs' format), drawn with ``rng``."""
        py_rng = random.Random(int(rng.integers(2**63)))
        kinds = self.kinds()
        records: list[dict[str, Any]] = []
        items = list(range(len(self.table)))
        for number, kind in enumerate(kinds):
            share = self.target // len(kinds) + (1 if number < self.target % len(kinds) else 0)
            config = self.pairs.SamplerConfig(kind=kind, sampling=self.sampling)
            sampler = self.pairs.PairSampler(self.table, items, config, self.banned, py_rng)
            instances = self.pairs.sample_instances(sampler, self.templates, share, py_rng, balanced=True,
                                                    unique_statements=False)
            records += [self.pairs.instance_record(self.table, instance, self.templates, kind, "train",
                                                   len(records) + i, reasoning=False, rng=py_rng)
                        for i, instance in enumerate(instances)]
        return records

    def examples(self, rng: np.random.Generator, features: FeatureSource) -> list[Example]:
        """This epoch's training examples: freshly mined pairs whose media have features."""
        mined = self.mine(rng)
        _, examples = examples_for("pairs", (("<tsp>", i + 1, r) for i, r in enumerate(mined)))
        return usable(examples, features)[0]
