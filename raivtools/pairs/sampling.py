"""Sampling a pair of items that puts a template's fact in a wanted configuration.

The paper's order (seed 000, §3.1): decide True/False first, then the template, then sample a pair that
realises it. :class:`ConfigChooser` turns (template, label) into the configuration wanted (for False, evenly over
the other three, so the template does not give the reasoning answer away), and :class:`PairSampler` finds a pair
in it:

- the side(s) that must show the fact are drawn from the fact's posting list (the object index for objects);
- a side that must not show it is drawn, in ``cond`` sampling (the default), through the object index from
  the items sharing at least one object with the other side, so the two are alike; in ``rand`` sampling
  (the paper's ablation) uniformly among the items of its kind;
- ``neither`` draws the pair first and then a fact from a third item, absent from both;
- both sides always come from the same split and different visual groups (segments, videos, images).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from raivtools.pairs.items import FAMILIES, IMAGE, VIDEO, ItemTable, is_absent
from raivtools.pairs.templates import CONFIGS, Template

#: pair kind -> (left kind, right kind)
PAIR_SIDES = {"im-im": (IMAGE, IMAGE), "im-vid": (IMAGE, VIDEO), "vid-vid": (VIDEO, VIDEO)}
SAMPLING = ("cond", "rand")


class ConfigChooser:
    """Chooses the configuration to sample for a (template, label): the claimed one for True; for False, one of the
    other three, kept as even per template as the data allows.

    A False statement's reasoning answer is the configuration its pair is really in. Drawn at random, the
    configurations that are easy to find (the fact in neither input) win each time a harder draw fails, and the
    template alone then tells the answer (41 % against the 33 % of chance on im-vid, one template's answer at 64 %
    "neither"): a spurious bias the paper takes care to avoid. So a False instance asks for the configuration its
    template has had least so far. One that the sampler almost never finds for the template (an action no image
    shares with a video) is left out after ``min_tries`` tries, so its turn does not stall the split. The price is
    paid where a split runs out of pairs for the rarer configurations: there it ends with fewer statements (the
    quick start's 146 test videos give 562 instead of 748), not with a guessable answer.

    Args:
        templates: the templates, indexed as the instances index them.
        rng: the random source of ties.
        min_tries: sampler calls of a configuration before its success rate may rule it out.
        min_rate: the success rate under which it is ruled out.
        slack: how far (a share of the least-used count, at least one) a fallback's count may be above it.
    """

    def __init__(self, templates: list[Template], rng: random.Random, min_tries: int = 20, min_rate: float = 0.05,
                 slack: float = 0.1):
        self.templates, self.rng = templates, rng
        self.min_tries, self.min_rate, self.slack = min_tries, min_rate, slack
        self.made = [dict.fromkeys(CONFIGS, 0) for _ in templates]  # False instances kept, per configuration
        self.tries = [dict.fromkeys(CONFIGS, 0) for _ in templates]  # sampler calls
        self.found = [dict.fromkeys(CONFIGS, 0) for _ in templates]  # sampler calls that found a pair

    def choose(self, t_index: int, label: bool, tried: tuple[tuple[int, int], ...] = ()) -> tuple[int, int] | None:
        """The configuration to ask the sampler for; for False, the least-used one not in ``tried`` among those
        within ``slack`` of the least-used (None when none is left: another one would tip the template's balance).
        A False draw passes the configurations it tried in vain, so a fact in none of one's pairs gets another."""
        claimed = self.templates[t_index].config
        if label:
            return claimed
        made = self.made[t_index]
        others = [config for config in CONFIGS if config != claimed]
        open_ = [config for config in others if self._feasible(t_index, config)] or others
        fewest = min(made[config] for config in open_)
        limit = fewest + max(1, int(self.slack * fewest))
        allowed = [config for config in open_ if config not in tried and made[config] <= limit]
        if not allowed:
            return None
        lowest = min(made[config] for config in allowed)
        tied = [config for config in allowed if made[config] == lowest]
        return tied[self.rng.randrange(len(tied))] if len(tied) > 1 else tied[0]

    def sampled(self, t_index: int, config: tuple[int, int], found: bool) -> None:
        """Notes one sampler call for the configuration and whether it found a pair."""
        self.tries[t_index][config] += 1
        self.found[t_index][config] += found

    def kept(self, t_index: int, config: tuple[int, int], label: bool) -> None:
        """Notes an instance that went into the output."""
        if not label:
            self.made[t_index][config] += 1

    def _feasible(self, t_index: int, config: tuple[int, int]) -> bool:
        tries = self.tries[t_index][config]
        return tries < self.min_tries or self.found[t_index][config] >= self.min_rate * tries


def actual_config(table: ItemTable, family: str, fact: int, left: int, right: int) -> tuple[int, int] | None:
    """The fact's configuration over a pair, or None when a side is neither surely present nor surely absent."""
    sides = []
    for item in (left, right):
        if fact in table.present[family][item]:
            sides.append(1)
        elif is_absent(table, item, family, fact):
            sides.append(0)
        else:
            return None
    return sides[0], sides[1]


@dataclass
class SamplerConfig:
    """How pairs are drawn."""

    kind: str = "im-im"  # im-im | im-vid | vid-vid
    sampling: str = "cond"  # cond: the sides share an object; rand: any partner
    max_tries: int = 40  # draws per wanted configuration before giving up


class PairSampler:
    """Draws pairs from the items of one split (see module docstring).

    Args:
        table: the items.
        items: the item indices to draw from (one split).
        config: pair kind and sampling mode.
        banned_objects: object fact ids never used (stop objects, objects that are everywhere).
        rng: the random source; the same table, items and rng state give the same pairs.
    """

    def __init__(self, table: ItemTable, items: list[int], config: SamplerConfig, banned_objects: set[int],
                 rng: random.Random):
        self.table, self.config, self.rng = table, config, rng
        self.banned = banned_objects
        self.side_kinds = PAIR_SIDES[config.kind]
        self.pool: list[list[int]] = [[], []]
        self.fact_pool: list[dict[str, list[int]]] = [{f: [] for f in FAMILIES}, {f: [] for f in FAMILIES}]
        self.postings: list[dict[str, dict[int, list[int]]]] = [{f: {} for f in FAMILIES}, {f: {} for f in FAMILIES}]
        for side in sorted(set((0, 1) if self.side_kinds[0] != self.side_kinds[1] else (0,))):
            self._index_side(side, items)
        if self.side_kinds[0] == self.side_kinds[1]:
            self.pool[1], self.fact_pool[1], self.postings[1] = self.pool[0], self.fact_pool[0], self.postings[0]

    def _index_side(self, side: int, items: list[int]) -> None:
        kind = self.side_kinds[side]
        pool, fact_pool, postings = self.pool[side], self.fact_pool[side], self.postings[side]
        for item in items:
            if self.table.kinds[item] != kind:
                continue
            pool.append(item)
            for family in FAMILIES:
                facts = self.facts_of(item, family)
                if facts:
                    fact_pool[family].append(item)
                    index = postings[family]
                    for fact in facts:
                        index.setdefault(fact, []).append(item)

    def facts_of(self, item: int, family: str) -> tuple[int, ...]:
        facts = self.table.present[family][item]
        if family == "object" and self.banned:
            return tuple(f for f in facts if f not in self.banned)
        return facts

    def sample(self, template: Template, config: tuple[int, int], fact: int | None = None) -> tuple[int, int, int] | None:
        """A pair ``(left, right, fact)`` with ``fact`` (given, or drawn) in ``config``, or None if none found."""
        for _ in range(self.config.max_tries):
            found = self._try(template.family, config, fact)
            if found is not None:
                return found
        return None

    def _pick(self, items: list[int] | tuple[int, ...]) -> int | None:
        # random() * n is several times faster than randrange(n) and as uniform for lists this size
        return items[int(self.rng.random() * len(items))] if items else None

    def _try(self, family: str, config: tuple[int, int], fact: int | None) -> tuple[int, int, int] | None:
        left_has, right_has = config
        if left_has or right_has:
            anchor_side = 0 if left_has else 1
            if fact is None:
                anchor = self._pick(self.fact_pool[anchor_side][family])
                if anchor is None:
                    return None
                fact = self._pick(self.facts_of(anchor, family))
            else:
                anchor = self._pick(self.postings[anchor_side][family].get(fact, []))
                if anchor is None:
                    return None
            other_has = right_has if anchor_side == 0 else left_has
            partner = self._partner(anchor, 1 - anchor_side, family, fact, bool(other_has))
        else:
            anchor_side = 0
            anchor = self._pick(self.fact_pool[0]["object"] if self.config.sampling == "cond" else self.pool[0])
            if anchor is None:
                return None
            partner = self._partner(anchor, 1, family, fact, False)
            if partner is not None and fact is None:
                fact = self._third_fact(family)
        if partner is None or fact is None:
            return None
        left, right = (anchor, partner) if anchor_side == 0 else (partner, anchor)
        if self.table.groups[left] == self.table.groups[right]:
            return None
        if not left_has and not is_absent(self.table, left, family, fact):
            return None
        if not right_has and not is_absent(self.table, right, family, fact):
            return None
        return left, right, fact

    def _partner(self, anchor: int, side: int, family: str, fact: int | None, has: bool) -> int | None:
        if has:
            partner = self._pick(self.postings[side][family].get(fact, []))
            if partner is not None and family != "object" and self.config.sampling == "cond":
                if not set(self.facts_of(anchor, "object")) & set(self.facts_of(partner, "object")):
                    return None
            return partner
        if self.config.sampling == "rand":
            return self._pick(self.pool[side])
        objects = self.facts_of(anchor, "object")
        if not objects:
            return None
        shared = self._pick(objects)
        return self._pick(self.postings[side]["object"].get(shared, []))

    def _third_fact(self, family: str) -> int | None:
        """A fact of the family drawn as often as items state it, from either side's items."""
        side = 0 if self.rng.random() < 0.5 else 1
        item = self._pick(self.fact_pool[side][family])
        return None if item is None else self._pick(self.facts_of(item, family))
