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
from raivtools.io.report import warn
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
        pairs_per_item: statements per item and epoch (the paper retrieves one partner per instance), rounded up
            to an even number in all: they come as True/False couples.
    """

    rng_name = "tsp"  # each epoch's pairs are drawn from rng_for(seed, rng_name, epoch)

    def __init__(self, srl_records: list[dict[str, Any]], sampling: str = "cond", pairs_per_item: float = 1.0):
        if sampling not in SAMPLINGS:
            raise InputError(f"--sampling {sampling!r}: choose cond or rand")
        check_tsp_available()
        from raivtools import pairs

        self.pairs = pairs
        self.sampling = sampling
        self.records = srl_records
        self.templates = list(pairs.BUILTIN_TEMPLATES)
        self.pairs_per_item = pairs_per_item
        self._use(srl_records)
        self.features_checked: FeatureSource | None = None

    def _use(self, records: list[dict[str, Any]]) -> None:
        """Mines from ``records`` from now on, ``pairs_per_item`` statements for each of them per epoch."""
        from raivtools.pairs.generate import banned_objects

        self.table = self.pairs.table_from_records(records)
        self.banned = banned_objects(self.table, self.pairs.PairsConfig())
        # statements come as True/False couples (NLVR2 balance), so an epoch has an even number of them
        wanted = round(len(self.table) * self.pairs_per_item)
        self.target = 2 * max(1, -(-wanted // 2)) if len(self.table) else 0

    def kinds(self) -> list[str]:
        """Pair kinds the media allow: im-im and vid-vid for one media kind, plus im-vid for both."""
        from raivtools.pairs.items import IMAGE, VIDEO

        present = set(self.table.kinds)
        kinds = (["im-im"] if IMAGE in present else []) + (["im-vid"] if {IMAGE, VIDEO} <= present else [])
        return kinds + (["vid-vid"] if VIDEO in present else [])

    def mine(self, rng: np.random.Generator) -> list[dict[str, Any]]:
        """One epoch of pair records (make-pairs' format), drawn with ``rng``: ``target`` statements shared evenly by
        the pair kinds, a kind's shortfall (one image only, no shared objects) going to the kinds after it."""
        py_rng = random.Random(int(rng.integers(2**63)))
        kinds = self.kinds()
        records: list[dict[str, Any]] = []
        items = list(range(len(self.table)))
        for number, kind in enumerate(kinds):
            couples_left = (self.target - len(records)) // 2
            share = 2 * -(-couples_left // (len(kinds) - number))
            config = self.pairs.SamplerConfig(kind=kind, sampling=self.sampling)
            sampler = self.pairs.PairSampler(self.table, items, config, self.banned, py_rng)
            instances = self.pairs.sample_instances(sampler, self.templates, share, py_rng, balanced=True,
                                                    unique_statements=False)
            records += [self.pairs.instance_record(self.table, instance, self.templates, kind, "train",
                                                   len(records) + i, reasoning=False, rng=py_rng)
                        for i, instance in enumerate(instances)]
        return records

    def examples(self, rng: np.random.Generator, features: FeatureSource) -> list[Example]:
        """This epoch's training examples: freshly mined pairs of media that have features.

        Raises:
            InputError: no pair can be mined (too few items, or none sharing an object for ``cond``).
        """
        self.leave_out_items_without(features)
        mined = self.mine(rng)
        if not mined:
            raise InputError(f"--task tsp: no True/False pair can be mined from the {len(self.table)} training items "
                             "with features: a pair needs two different videos or images, a fact of one that the "
                             "other's annotations never mention and, for --sampling cond, an object they share; add "
                             "records, give them 'objects', or pass --sampling rand")
        _, examples = examples_for("pairs", (("<tsp>", i + 1, r) for i, r in enumerate(mined)))
        return usable(examples, features)[0]

    def leave_out_items_without(self, features: FeatureSource, what: str = "training") -> None:
        """Mines among the items with features only (a pair whose other side has none would be dropped after
        mining, leaving its True or False twin alone); warns once how many ``what`` records are left out."""
        if self.features_checked is features:
            return
        self.features_checked = features
        missing = [(record, why) for record in self.records if (why := features.missing(str(record.get("id"))))]
        if not missing:
            return
        first = "; ".join(f"record {record.get('id')!r}: {why}" for record, why in missing[:3])
        warn(f"--task tsp: {len(missing)} of {len(self.records)} {what} records have no features and are left out "
             f"of the mined pairs: {first}{'; ...' if len(missing) > 3 else ''}")
        lacking = {id(record) for record, _ in missing}
        self._use([record for record in self.records if id(record) not in lacking])
