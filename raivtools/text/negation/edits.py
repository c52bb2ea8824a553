"""One word (or phrase) replaced in a text, exactly: offsets, casing, article agreement, lemma checks.

Both generators find a :class:`Candidate` (a span of the text and what it is) and a replacement; this module turns
that into new text that differs from the old one only inside the edited span (and the article before it when the
replacement starts with another sound), so punctuation and spacing stay byte-identical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from raivtools.text.english import (
    gerund,
    indefinite_article,
    match_case,
    past_participle,
    past_tense,
    plural,
    third_person,
)

# "a"/"an" as a whole word directly before the span (only whitespace between)
_ARTICLE_BEFORE = re.compile(r"(?<![\w'’-])(an|a)(\s+)$", re.IGNORECASE)


@dataclass
class Candidate:
    """A span of the text that a generator may replace."""

    start: int  # character offset of the span in the text
    end: int  # character offset just past the span
    type: str  # edit type: action, attribute, relation or object
    text: str  # the span as written
    lemma: str  # lower-case lemma of the span (its words' lemmas joined by spaces)
    tag: str  # Penn tag of the span's head token (inflection to keep)
    pos: str  # coarse POS of the head token
    category: str = ""  # word-list category (rule generator)
    token: int = -1  # index of the head token in the parsed doc
    plural: bool = False  # matched through a plural noun's lemma: the replacement must be plural too
    counted: bool = False  # the noun of an a/an phrase ("a sharp knife"): the replacement must be countable


@dataclass
class Edit:
    """One applied replacement; ``text[start:start + len(before)] == before`` in the round's input."""

    round: int  # 1-based round number
    type: str  # edit type
    generator: str  # rule or mlm
    before: str  # replaced text (the span, plus the article before it when that changed)
    after: str  # new text at the same place
    start: int  # character offset in the round's input

    def as_record(self) -> dict:
        return {"round": self.round, "type": self.type, "generator": self.generator, "from": self.before,
                "to": self.after, "start": self.start}


def realise_case(replacement: str, original: str, proper: bool = False) -> str:
    """The replacement in the original's casing; a proper noun keeps its capital unless the original is all caps."""
    if proper:
        return replacement.upper() if len(original) > 1 and original.isupper() else replacement
    return match_case(replacement, original)


def apply_replacement(text: str, start: int, end: int, replacement: str) -> tuple[str, int, str, str]:
    """Replaces ``text[start:end]`` and makes an ``a``/``an`` right before it agree with the replacement.

    Returns:
        (new text, start of the changed region, old region text, new region text).
    """
    region_start, before_article = start, ""
    article = _ARTICLE_BEFORE.search(text, 0, start)
    if article:
        wanted = match_case(indefinite_article(replacement), article.group(1))
        if article.group(1).isupper() and len(replacement) > 1 and replacement.isupper():  # "A RED CAR"
            wanted = wanted.upper()
        if wanted != article.group(1):
            region_start = article.start()
            before_article = wanted + article.group(2)
    new_region = before_article + replacement if region_start != start else replacement
    new_text = text[:region_start] + new_region + text[end:]
    return new_text, region_start, text[region_start:end], new_region


_SUFFIXES = (("ies", "y"), ("ied", "y"), ("ying", "ie"), ("ing", ""), ("ing", "e"), ("es", ""), ("s", ""),
             ("ed", ""), ("ed", "e"), ("er", ""), ("est", ""), ("er", "e"), ("est", "e"))


@lru_cache(maxsize=65536)
def _stems(word: str) -> frozenset[str]:
    """Possible lemmas of one lower-case word by suffix stripping (wider than needed: used only to reject)."""
    stems = {word}
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            stem = word[: -len(suffix)] + repl
            stems.add(stem)
            if len(stem) > 2 and stem[-1] == stem[-2]:  # cutting -> cutt -> cut
                stems.add(stem[:-1])
    return frozenset(stems)


@lru_cache(maxsize=65536)
def _forms(lemma: str) -> frozenset[str]:
    return frozenset({lemma, third_person(lemma), gerund(lemma), past_tense(lemma), past_participle(lemma), plural(lemma)})


def same_lemma(a: str, b: str, a_lemma: str | None = None) -> bool:
    """Whether two words or phrases (any case) could be forms of one lemma: runs/ran, wears/wearing, dog/dogs.

    Phrases are compared word by word; a phrase never shares a lemma with a phrase of another length.
    """
    a_words, b_words = a.lower().split(), b.lower().split()
    if len(a_words) != len(b_words):
        return False
    a_lemmas = a_lemma.lower().split() if a_lemma and len(a_lemma.split()) == len(a_words) else [None] * len(a_words)
    return all(_same_word_lemma(x, y, lx) for x, y, lx in zip(a_words, b_words, a_lemmas))


@lru_cache(maxsize=262144)
def _same_word_lemma(a: str, b: str, a_lemma: str | None) -> bool:
    if a == b:
        return True
    a_stems = _stems(a) | ({a_lemma} if a_lemma else frozenset())
    b_stems = _stems(b)
    if a_stems & b_stems:
        return True
    return any(b in _forms(stem) for stem in a_stems) or any(a in _forms(stem) for stem in b_stems)


def overlaps(start: int, end: int, ranges: list[tuple[int, int]]) -> bool:
    """Whether ``[start, end)`` overlaps any of ``ranges``."""
    return any(start < r_end and r_start < end for r_start, r_end in ranges)


def track_change(changes: list[tuple[int, int, str]], text: str, start: int, old_len: int,
                 new_len: int) -> list[tuple[int, int, str]]:
    """Changed regions ``(start, end, original words)`` after ``text[start:start + old_len]`` became ``new_len``
    characters. Each region also remembers what the caption said there, so a later round that writes it back (an
    undone edit) can be told apart from a real one; regions the edit overlaps merge into one.

    Args:
        changes: the regions of ``text`` (sorted, disjoint) that differ from the caption, with the caption's words.
        text: the text before this edit.
        start: where the edit starts in ``text``.
        old_len: characters replaced.
        new_len: characters written instead.
    """
    end, delta = start + old_len, new_len - old_len
    kept, merged = [], []
    for region in changes:
        if region[1] <= start:
            kept.append(region)
        elif region[0] >= end:
            kept.append((region[0] + delta, region[1] + delta, region[2]))
        else:
            merged.append(region)
    low = min([start] + [r[0] for r in merged])
    high = max([end] + [r[1] for r in merged])
    # the caption's words over [low, high): untouched characters as they are, earlier edits as they were
    pieces, position = [], low
    for r_start, r_end, original in merged:
        pieces += [text[position:r_start], original]
        position = r_end
    pieces.append(text[position:high])
    return sorted(kept + [(low, high + delta, "".join(pieces))])
