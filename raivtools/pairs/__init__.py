"""RAIV pair datasets from semantic roles (seed 000 §3.1, §4.1): importable, so training can mine pairs too.

Library API (everything ``raiv make-pairs`` does, without the I/O); ``raiv train --task tsp`` uses it to mine
new pairs each epoch::

    import random
    from raivtools.pairs import (BUILTIN_TEMPLATES, PairSampler, PairsConfig, SamplerConfig, TableConfig,
                                 build_table, instance_record, sample_instances, table_from_records)

    table = table_from_records(records, TableConfig())        # records: dicts with srl, objects, video|image
    items = list(range(len(table)))                           # or the indices of one split
    rng = random.Random(epoch)                                # all randomness comes from this
    sampler = PairSampler(table, items, SamplerConfig(kind="im-vid", sampling="cond"), set(), rng)
    templates = list(BUILTIN_TEMPLATES)
    instances = sample_instances(sampler, templates, 1000, rng, balanced=True, unique_statements=False)
    pairs = [instance_record(table, inst, templates, "im-vid", "train", i, reasoning=True, rng=rng)
             for i, inst in enumerate(instances)]

- :func:`build_table` / :func:`table_from_records`: records -> :class:`ItemTable` (facts interned, columnar);
- :class:`PairSampler`: label-first, template-second pair sampling over an object index (``cond``) or at
  random (``rand``); :class:`ConfigChooser` maps (template, label) to the wanted configuration (False ones
  even per template, so the template does not tell the reasoning answer);
- :func:`sample_instances`: many instances, NLVR2-balanced when asked;
- :func:`make_pairs`: the whole command: 7:1:2 split by visual group, per-split generation;
- :func:`instance_record` / :func:`iter_pair_records`: the pair records of the contract;
- :func:`realise`, :data:`BUILTIN_TEMPLATES`, :func:`load_templates`: statements and templates;
- :func:`caption_from_frame`: a caption realised from one frame (video-text records).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from raivtools.pairs.captions import caption_for, caption_from_frame, video_text_record
from raivtools.pairs.generate import (
    Instance,
    PairsConfig,
    assign_splits,
    instance_record,
    iter_pair_records,
    make_pairs,
    sample_instances,
)
from raivtools.pairs.items import FAMILIES, ItemTable, TableConfig, build_table, is_absent
from raivtools.pairs.sampling import ConfigChooser, PairSampler, SamplerConfig, actual_config
from raivtools.pairs.templates import BUILTIN_TEMPLATES, Template, load_templates, realise


def table_from_records(records: Iterable[dict[str, Any]], config: TableConfig | None = None) -> ItemTable:
    """:func:`build_table` over in-memory records (errors name ``<records>:N``, N counting from 1)."""
    located = (("<records>", number, record) for number, record in enumerate(records, start=1))
    return build_table(located, config or TableConfig())


__all__ = [
    "BUILTIN_TEMPLATES", "ConfigChooser", "FAMILIES", "Instance", "ItemTable", "PairSampler", "PairsConfig", "SamplerConfig",
    "TableConfig", "Template", "actual_config", "assign_splits", "build_table", "caption_for", "caption_from_frame",
    "instance_record", "is_absent", "iter_pair_records", "load_templates", "make_pairs", "realise",
    "sample_instances", "table_from_records", "video_text_record",
]
