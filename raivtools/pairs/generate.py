"""RAIV pair datasets: splitting by visual item, balanced True/False statements, reasoning choices, records.

Splits: every item of one visual group (a VidSitu segment, a video, an image) goes to one split, so nothing is
seen in two splits. A record that carries ``split`` keeps it; the other groups are ordered by a seeded hash and
cut 7:1:2 into train / val / test. Pairs are made inside a split only.

Balance (as NLVR2): each statement is made twice, once on a pair where it is True and once on a different pair
where it is False, so a reader of the text alone is at chance. In val and test every statement is used once
(that pair of instances only); train statements may repeat, each time as a True/False couple
(``balance_train=False`` makes train instances independent, with labels drawn 50/50).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from raivtools.pairs.items import FAMILIES, ItemTable
from raivtools.pairs.sampling import ConfigChooser, PairSampler, SamplerConfig, actual_config
from raivtools.pairs.templates import Template, realise, reason_choices
from raivtools.seeding import stable_hash

SPLIT_ORDER = ("train", "val", "test")
EXHAUSTED_AFTER = 50  # consecutive used-statement draws after which a template is done in a split
DEFAULT_RATIOS = (0.7, 0.1, 0.2)


@dataclass
class PairsConfig:
    """What make-pairs builds."""

    kind: str = "im-im"  # im-im | im-vid | vid-vid
    sampling: str = "cond"  # cond | rand (see sampling.py)
    pairs_per_item: float = 2.0  # instances per item of a split
    total: int | None = None  # total instances instead (shared by splits in proportion to their items)
    balance_train: bool = True  # train statements come as True/False couples too
    reasoning: bool = False  # False instances get a 3-way reason multiple choice
    ratios: tuple[float, float, float] = DEFAULT_RATIOS  # train / val / test share of unsplit groups
    max_object_share: float = 0.5  # objects in more than this share of items are stop objects ...
    share_min_items: int = 100  # ... when there are at least this many items
    max_failures: int = 200  # consecutive failed draws after which a split stops short
    seed: int = 0  # every random choice follows it


@dataclass(slots=True)
class Instance:
    """One pair instance, compact until it is written (slots: millions of them are held at once)."""

    left: int  # item index
    right: int  # item index
    template: int  # index into the template list
    fact: int  # fact id in the template's family
    label: bool  # the statement's truth on this pair
    config: tuple[int, int]  # the fact's actual configuration (left has it, right has it)


@dataclass
class SplitResult:
    """The instances of one split and what fell short."""

    split: str
    items: int
    instances: list[Instance] = field(default_factory=list)
    target: int = 0


def assign_splits(table: ItemTable, ratios: tuple[float, float, float] = DEFAULT_RATIOS, seed: int = 0) -> None:
    """Fills ``table.splits``: the split the first record of a visual group gives, else the group's 7:1:2 share
    by a seeded hash order. Records that give their group another split are noted in ``table.moved_splits``."""
    group_split: dict[int, str] = {}
    table.moved_splits = []
    for item, given in enumerate(table.given_splits):
        if given is not None:
            group = table.groups[item]
            first = group_split.setdefault(group, given)
            if first != given:
                table.moved_splits.append((table.group_keys.values[group], given, first))
    free = sorted({g for g in table.groups if g not in group_split},
                  key=lambda g: stable_hash(seed, "split", table.group_keys.values[g]))
    train_end = round(len(free) * ratios[0])
    val_end = train_end + round(len(free) * ratios[1])
    for position, group in enumerate(free):
        group_split[group] = "train" if position < train_end else "val" if position < val_end else "test"
    table.splits = [group_split[group] for group in table.groups]


def banned_objects(table: ItemTable, config: PairsConfig) -> set[int]:
    """Object ids present in more than ``max_object_share`` of the items (with enough items to tell)."""
    if len(table) < config.share_min_items:
        return set()
    counts: Counter[int] = Counter()
    for objects in table.present["object"]:
        counts.update(objects)
    limit = config.max_object_share * len(table)
    return {obj for obj, n in counts.items() if n > limit}


def split_items(table: ItemTable) -> dict[str, list[int]]:
    """Item indices per split, train / val / test first, then any other split names in sorted order."""
    by_split: dict[str, list[int]] = {}
    for item, split in enumerate(table.splits):
        by_split.setdefault(split, []).append(item)
    order = [s for s in SPLIT_ORDER if s in by_split] + sorted(s for s in by_split if s not in SPLIT_ORDER)
    return {split: by_split[split] for split in order}


def split_targets(by_split: dict[str, list[int]], config: PairsConfig) -> dict[str, int]:
    total_items = sum(len(items) for items in by_split.values()) or 1
    targets = {}
    for split, items in by_split.items():
        if config.total is not None:
            target = round(config.total * len(items) / total_items)
        else:
            target = round(config.pairs_per_item * len(items))
        targets[split] = target
    return targets


def sample_instances(sampler: PairSampler, templates: list[Template], target: int, rng: random.Random, *,
                     balanced: bool, unique_statements: bool, max_failures: int = 200) -> list[Instance]:
    """Draws ``target`` instances: label first, then template, then a pair (and its balancing twin).

    Args:
        sampler: draws pairs from one split.
        templates: the templates to choose from (by weight).
        target: how many instances to make (fewer when the split runs out of feasible pairs).
        rng: the random source.
        balanced: make each statement twice, True on one pair and False on another.
        unique_statements: never reuse a statement (val/test).
        max_failures: consecutive failed draws before stopping short.
    """
    configs = ConfigChooser(templates, rng)
    active = list(range(len(templates)))  # templates that still have unused statements
    reuses = [0] * len(templates)  # consecutive draws of an already used statement, per template
    seen_pairs: set[int] = set()
    used_statements: set[tuple[int, int]] = set()
    out: list[Instance] = []
    failures = 0
    while len(out) < target and failures < max_failures and active:
        label = rng.random() < 0.5
        t_index = rng.choices(active, [templates[i].weight for i in active])[0] if len(active) > 1 else active[0]
        template = templates[t_index]
        first = _draw(sampler, configs, t_index, label, tries=1 if label else 3)
        if first is not None and unique_statements and (t_index, first[2]) in used_statements:
            # a template whose draws keep landing on used statements has (nearly) run out of new ones; dropping
            # it keeps the cost per instance flat as a split grows
            reuses[t_index] += 1
            if reuses[t_index] >= EXHAUSTED_AFTER:
                active.remove(t_index)
            first = None
        if first is None:
            failures += 1
            continue
        reuses[t_index] = 0
        group = [Instance(first[0], first[1], t_index, first[2], label, _config_of(template, label, sampler, first))]
        if balanced:
            second = _draw(sampler, configs, t_index, not label, fact=first[2], not_pair=(first[0], first[1]))
            if second is None:
                failures += 1
                continue
            group.append(Instance(second[0], second[1], t_index, second[2], not label,
                                  _config_of(template, not label, sampler, second)))
        keys = [hash((i.left, i.right, t_index, i.fact)) for i in group]
        if any(key in seen_pairs for key in keys):
            failures += 1
            continue
        seen_pairs.update(keys)
        used_statements.add((t_index, first[2]))
        for instance in group:
            configs.kept(t_index, instance.config, instance.label)
        out.extend(group)
        failures = 0
    return out


def _draw(sampler: PairSampler, configs: ConfigChooser, t_index: int, label: bool, fact: int | None = None,
          tries: int = 3, not_pair: tuple[int, int] | None = None) -> tuple[int, int, int] | None:
    """A pair for the template and label (and ``fact``, other than ``not_pair``): a False one tries the
    configurations :class:`ConfigChooser` allows in turn, since a fact may be in none of one configuration's pairs."""
    tried: list[tuple[int, int]] = []
    for _ in range(tries):
        config = configs.choose(t_index, label, tuple(tried))
        if config is None:
            return None
        found = sampler.sample(configs.templates[t_index], config, fact=fact)
        configs.sampled(t_index, config, found is not None)
        if found is not None and (found[0], found[1]) != not_pair:
            return found
        if not label:
            tried.append(config)
    return None


def _config_of(template: Template, label: bool, sampler: PairSampler, found: tuple[int, int, int]) -> tuple[int, int]:
    config = actual_config(sampler.table, template.family, found[2], found[0], found[1])
    assert config is not None and template.truth(config) == label, "sampler returned a pair in the wrong configuration"
    return config


def make_split(table: ItemTable, split: str, items: list[int], templates: list[Template], config: PairsConfig,
               banned: set[int], target: int) -> SplitResult:
    """All instances of one split, shuffled (so a True never predictably precedes its False twin)."""
    rng = random.Random(stable_hash(config.seed, "make-pairs", split))
    sampler = PairSampler(table, items, SamplerConfig(kind=config.kind, sampling=config.sampling), banned, rng)
    evaluation = split != "train"
    balanced = evaluation or config.balance_train
    if balanced and target % 2:
        target -= 1
    instances = sample_instances(sampler, templates, target, rng, balanced=balanced, unique_statements=evaluation,
                                 max_failures=config.max_failures)
    rng.shuffle(instances)
    return SplitResult(split, len(items), instances, target)


def instance_record(table: ItemTable, instance: Instance, templates: list[Template], kind: str, split: str,
                    number: int, reasoning: bool, rng: random.Random | None = None) -> dict[str, Any]:
    """The pair record of an instance (the contract's fields, plus ``reason`` for False ones with reasoning)."""
    template = templates[instance.template]
    fact = table.facts[template.family].values[instance.fact]
    record: dict[str, Any] = {
        "id": f"{kind}-{split}-{number:07d}",
        "kind": kind,
        "left": table.refs[instance.left],
        "right": table.refs[instance.right],
        "statement": realise(template.text, kind, template.family, fact),
        "label": instance.label,
        "template": template.name,
        "split": split,
    }
    if reasoning and not instance.label:
        record["reason"] = reason_for(kind, template, fact, instance.config, rng or random.Random(number))
    return record


def reason_for(kind: str, template: Template, fact: Any, actual: tuple[int, int], rng: random.Random) -> dict[str, Any]:
    """The 3-way reason choice of a False statement: the three configurations it does not claim, true one at random."""
    choices = reason_choices(kind, template.family, fact, template.config)
    rng.shuffle(choices)
    return {"choices": [text for _, text in choices], "answer": [config for config, _ in choices].index(actual)}


def iter_pair_records(table: ItemTable, results: list[SplitResult], templates: list[Template],
                      config: PairsConfig) -> Iterator[dict[str, Any]]:
    """Pair records split after split; reasoning choices are shuffled by a seeded generator of their own."""
    for result in results:
        rng = random.Random(stable_hash(config.seed, "reasons", result.split))
        for number, instance in enumerate(result.instances):
            yield instance_record(table, instance, templates, config.kind, result.split, number, config.reasoning, rng)


def make_pairs(table: ItemTable, templates: list[Template], config: PairsConfig) -> list[SplitResult]:
    """Splits the items and makes every split's instances (the whole of ``raiv make-pairs`` but the I/O)."""
    assign_splits(table, config.ratios, config.seed)
    banned = banned_objects(table, config)
    by_split = split_items(table)
    targets = split_targets(by_split, config)
    return [make_split(table, split, items, templates, config, banned, targets[split]) for split, items in by_split.items()]


def family_counts(table: ItemTable) -> dict[str, int]:
    """How many items state at least one fact of each family."""
    return {family: sum(1 for facts in table.present[family] if facts) for family in FAMILIES}
