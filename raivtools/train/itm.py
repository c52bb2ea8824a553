"""Video/image-text matching (ITM) pre-training of the RAIV fusion encoder: METER's pre-training objective.

The RAIV models start from METER, pre-trained with image-text matching (and MLM) on CC3M, SBU, COCO and VG
(seed 000 §4.1); "without pre-training the model performs very similar to a simple majority voting" (§4.3,
Tables 2-3), because one True/False label for two visual inputs is too sparse a signal to learn grounding from.
Where no METER checkpoint exists (the toy benchmark, or new features) ``raiv train --task itm`` pre-trains the
same co-attention encoder on captioned media: every epoch each caption is shown with its own video (match) and
with the caption of another item (no match, drawn anew each epoch, as METER draws its ITM negatives; the most
word-sharing of a few random captions, so that one differing fact has to be seen), and, for records with
semantic roles, one of the item's facts as a sentence with a fact the item does not show (see
:class:`FactStatements`); one visual input per pass, a matching head on METER's pooled output, BCE. Fine-tune
(or run task-specific pre-training) after it with ``--init RUN_DIR``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from raivtools.io.errors import InputError
from raivtools.io.records import require_fields
from raivtools.train.data import Example, FeatureSource, assign_video_keys, text_field, usable

WORD = re.compile(r"[^\W_]+")


class FactStatements:
    """Single-video statements of the facts make-pairs' templates talk about, true or checked false of an item.

    Pair statements ask about one fact at a time ("Only the left video shows someone jumping"): an object, an
    action, an action with its entity or its place. Matching whole captions teaches the fusion too little of that
    (a caption of another item differs in many facts at once), so each item is also shown one of its facts as a
    sentence ("Someone is jumping.") and a fact of another item that its own annotations do not mention (make-pairs'
    absence rule, so a negative is never true of the video). The facts come from make-pairs' item table.

    Args:
        records: records with ``id``, ``srl``, ``objects`` and ``video`` or ``image``.
    """

    def __init__(self, records: list[dict[str, Any]]):
        from raivtools import pairs

        self.pairs = pairs
        self.table = pairs.table_from_records(records)
        self.row_of = {str(ref["id"]): row for row, ref in enumerate(self.table.refs)}

    def _families(self, media_id: str) -> tuple[int, list[str]]:
        """The item's row and the fact families it has a fact of (none for an unknown item)."""
        row = self.row_of.get(media_id)
        if row is None:
            return -1, []
        return row, [f for f in self.pairs.FAMILIES if self.table.present[f][row]]

    def has_fact(self, media_id: str) -> bool:
        """Whether the item has a fact to state (else :meth:`draw` gives None for it)."""
        return bool(self._families(media_id)[1])

    def draw(self, media_id: str, rng: np.random.Generator) -> tuple[str, str] | None:
        """(a true statement, a false statement) about the item, or None when it has no usable fact."""
        row, families = self._families(media_id)
        if not families:
            return None
        family = families[int(rng.integers(len(families)))]
        own = self.table.present[family][row]
        true_fact = own[int(rng.integers(len(own)))]
        for _ in range(32):  # another item's fact of the same family that this item's group does not mention
            other = self.table.present[family][int(rng.integers(len(self.table)))]
            if other:
                false_fact = other[int(rng.integers(len(other)))]
                if self.pairs.is_absent(self.table, row, family, false_fact):
                    return self._sentence(family, true_fact, rng), self._sentence(family, false_fact, rng)
        return None

    def _sentence(self, family: str, fact_id: int, rng: np.random.Generator) -> str:
        from raivtools.pairs.templates import FACT_SENTENCES

        texts = FACT_SENTENCES[family]
        fact = self.table.facts[family].values[fact_id]
        return self.pairs.realise(texts[int(rng.integers(len(texts)))], "vid-vid", family, fact)


class CaptionMatcher:
    """Matched and mismatched (media, caption) examples of a fixed set of caption records, one call per epoch.

    Args:
        records: located records ``(file, line, record)`` with ``id`` and ``caption``.
        hard_candidates: the mismatched caption is the one sharing the most words with the item's own among this
            many random other captions (1: a random caption).
    """

    rng_name = "itm"  # each epoch's mismatches are drawn from rng_for(seed, rng_name, epoch)

    def __init__(self, records: list[tuple[str, int, dict[str, Any]]], hard_candidates: int = 1):
        self.items: list[tuple[int, str, str]] = []  # (record index, media id, caption)
        for index, (name, line, record) in enumerate(records):
            require_fields(record, ("id", "caption"), f"{name}:{line}")
            self.items.append((index, str(record["id"]), text_field(record, "caption", f"{name}:{line}")))
        self._check_mismatches()
        self.words = [set(WORD.findall(caption.lower())) for _, _, caption in self.items]
        self.hard_candidates = max(1, hard_candidates)
        with_roles = all("srl" in record and "objects" in record for _, _, record in records)
        self.facts = FactStatements([record for _, _, record in records]) if with_roles else None
        self.target = self._count_target()

    def _count_target(self) -> int:
        """Examples per epoch: a caption match and mismatch per item, and a fact statement true and false of each
        item with a fact (the LR schedule's length comes from this)."""
        with_fact = sum(self.facts.has_fact(media_id) for _, media_id, _ in self.items) if self.facts else 0
        return 2 * len(self.items) + 2 * with_fact

    def leave_out_items_without(self, features: FeatureSource) -> None:
        """Keeps the items with features only: their examples would be dropped each epoch, and the LR schedule,
        planned for them, would end before its decay does (the caller warns about them)."""
        kept = [position for position, (_, media_id, _) in enumerate(self.items) if not features.missing(media_id)]
        if len(kept) == len(self.items):
            return
        self.items = [self.items[position] for position in kept]
        self.words = [self.words[position] for position in kept]
        self._check_mismatches()
        self.target = self._count_target()

    def _check_mismatches(self) -> None:
        """Every caption needs a mismatch: a different caption of another media item (COCO and VATEX give an item
        several captions, and each of them matches it)."""
        ids = Counter(media_id for _, media_id, _ in self.items)
        captions = Counter(caption for _, _, caption in self.items)
        both = Counter((media_id, caption) for _, media_id, caption in self.items)
        for _, media_id, caption in self.items:
            # other items' captions, less those that are this very caption
            if len(self.items) - ids[media_id] - (captions[caption] - both[(media_id, caption)]) <= 0:
                raise InputError("--task itm needs at least two different captions of two media items (ids): "
                                 f"{caption!r} of {media_id!r} has no other item's caption to mismatch it with")

    def examples(self, rng: np.random.Generator, features: FeatureSource) -> list[Example]:
        """Each item with its own caption (label 1) and with another item's different caption (label 0); with
        roles, also with one of its facts as a sentence (label 1) and a fact it does not show (label 0)."""
        examples: list[Example] = []
        for position, (index, media_id, caption) in enumerate(self.items):
            examples.append(Example(index, (media_id,), caption, 1.0))
            examples.append(Example(index, (media_id,), self._mismatch(position, rng), 0.0))
            statements = self.facts.draw(media_id, rng) if self.facts else None
            if statements:
                examples.append(Example(index, (media_id,), statements[0], 1.0))
                examples.append(Example(index, (media_id,), statements[1], 0.0))
        assign_video_keys(examples)
        return usable(examples, features)[0]

    def _mismatch(self, position: int, rng: np.random.Generator) -> str:
        """Another item's different caption (so the negative is a true mismatch: never another caption of the same
        media id), the most word-sharing one of ``hard_candidates`` random draws: a caption that differs in one fact
        makes the fusion ground every word, where a random one can often be told apart by the place alone."""
        _, media_id, caption = self.items[position]
        words = self.words[position]
        best, best_overlap = None, -1
        for _ in range(self.hard_candidates):
            other = int(rng.integers(len(self.items)))
            while self.items[other][2] == caption or self.items[other][1] == media_id:
                other = int(rng.integers(len(self.items)))
            overlap = len(words & self.words[other])
            if overlap > best_overlap:
                best, best_overlap = other, overlap
        return self.items[best][2]
