"""The rule generator (NAVERO §3.1.1): replace a word-list match with another entry of the same category.

Unlike SVLC's substring test and ``str.replace``, matching is on spaCy tokens: whole words and whole phrases
("in front of" is one relation, "red" never matches inside "bored"), the longest entry wins, the part of speech has
to fit the category (the verb "dry" is an action, the adjective "dry" a state), and exactly one occurrence is
replaced. The replacement is inflected like the word it replaces (runs -> walks, cutting -> pushing, dogs -> cats).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass

import numpy as np

from raivtools.text.english import gerund, inflect_verb, past_participle, past_tense, plural, third_person
from raivtools.text.negation.edits import Candidate, realise_case, same_lemma
from raivtools.text.negation.wordlists import CATEGORY_TYPES, WordLists

#: coarse POS a single-token match may have, per category (multi-token entries are specific enough already)
ALLOWED_POS = {
    "action": {"VERB"},
    "color": {"ADJ", "NOUN", "PROPN"},
    "size": {"ADJ"},
    "state": {"ADJ"},
    "material": {"ADJ", "NOUN", "PROPN"},
    "noun": {"NOUN", "PROPN"},
    "relation": {"ADP", "SCONJ", "ADV", "ADJ", "VERB", "PART"},
}
#: uncountable entries of the noun and material lists: never put in place of a plural noun ("soccers") or of a
#: noun after a/an ("a jewellery")
MASS_NOUNS = frozenset(
    "energy furniture gas gold grass honey hydrogen ice insurance iron jelly jewellery juice leather oil oxygen "
    "plastic rain shampoo soccer sugar traffic helium nitrogen mud sand soil steam smoke water".split()
) | {"carbon dioxide", "man-made fibers"}
_VERB_TAGS = {"VB", "VBP", "VBZ", "VBD", "VBN", "VBG"}
# (ending, what replaces it) of regular verb forms, to find the base of an inflected action entry
_VERB_ENDINGS = (("ing", ""), ("ing", "e"), ("ying", "ie"), ("ied", "y"), ("ies", "y"), ("ed", ""), ("ed", "e"),
                 ("es", ""), ("s", ""))
_PLURAL_TAGS = {"NNS", "NNPS"}


@dataclass(frozen=True)
class _Entry:
    category: str  # word-list category
    text: str  # the entry as written in the list
    proper: bool  # a capitalised noun entry (London): replaces and is replaced only by proper nouns
    base: str = ""  # an action entry with its verb in the base form ("eating" -> "eat"): matched and inflected

    @property
    def lemma(self) -> str:
        return self.base or self.text


class RuleIndex:
    """Word lists indexed by token sequence, for fast whole-word matching in parsed docs.

    Args:
        wordlists: the lists to use.
        tokenizer: a spaCy tokenizer, so entries split into tokens exactly as captions do ("pocket-size").
        verbs: known verb base forms (the lemmatizer's WordNet index), to match action entries written inflected
            (the old SVLC list's "eating", "sitting on") by their verb's lemma; empty: entries as written.
    """

    def __init__(self, wordlists: WordLists, tokenizer, verbs: Collection[str] = ()):
        from spacy.symbols import ADJ, ADV, NOUN, PROPN, VERB

        self.wordlists = wordlists
        strings = tokenizer.vocab.strings
        # keys are tuples of spaCy string hashes, so matching reads doc.to_array and builds no Token objects
        self.by_surface: dict[tuple[int, ...], list[_Entry]] = {}  # lower-case token texts -> entries
        self.by_lemma: dict[tuple[int, ...], list[_Entry]] = {}  # verb lemma + particle texts -> action entries
        self.entries: dict[str, list[_Entry]] = {}  # category -> entries
        self.by_text: dict[tuple[str, str], _Entry] = {}  # (category, lower-case entry) -> entry
        self.max_tokens = 1
        verbs = frozenset(verbs)
        for category, words in wordlists.categories.items():
            self.entries[category] = []
            for word in words:
                base = _action_base(word, verbs) if category == "action" and verbs else ""
                entry = _Entry(category, word, category == "noun" and word[:1].isupper(), base)
                self.entries[category].append(entry)
                self.by_text[(category, word.lower())] = entry
                self.by_text.setdefault((category, entry.lemma.lower()), entry)
                key = tuple(strings.add(token.lower_) for token in tokenizer(entry.lemma))
                self.max_tokens = max(self.max_tokens, len(key))
                (self.by_lemma if category == "action" else self.by_surface).setdefault(key, []).append(entry)
        # first words of all entries: most tokens of a caption start none, and are skipped at once
        self.surface_starts = {key[0] for key in self.by_surface}
        self.lemma_starts = {key[0] for key in self.by_lemma}
        self._verb = int(VERB)
        self._plural_tags = {strings.add(tag) for tag in _PLURAL_TAGS}
        self._indefinite = {strings.add("a"), strings.add("an")}
        # words that may stand between a/an and its noun ("a sharp knife", "a very old tennis ball")
        self._premodifiers = {int(ADJ), int(ADV), int(NOUN), int(PROPN)}

    def candidates(self, doc, types: tuple[str, ...]) -> list[Candidate]:
        """Every word-list match in ``doc`` whose type is in ``types``, shorter ones inside longer ones dropped."""
        from spacy.attrs import LEMMA, LOWER, POS, TAG

        rows = doc.to_array([LOWER, LEMMA, POS, TAG]).tolist() if len(doc) else []
        lowers = [row[0] for row in rows]
        found: list[Candidate] = []
        for i, (lower, lemma, pos, tag) in enumerate(rows):
            is_verb = pos == self._verb and lemma in self.lemma_starts
            is_plural = tag in self._plural_tags and lemma in self.surface_starts
            if not (is_verb or is_plural or lower in self.surface_starts):
                continue
            for length in range(min(self.max_tokens, len(rows) - i), 0, -1):
                surface = tuple(lowers[i : i + length])
                keys = [(surface, self.by_surface, False)]
                if is_verb:
                    keys.append(((lemma, *surface[1:]), self.by_lemma, False))
                if is_plural and length == 1:
                    keys.append(((lemma,), self.by_surface, True))
                if any(key in index for key, index, _ in keys):
                    counted = self._after_indefinite(rows, i)
                    found.extend(self._matches(doc[i : i + length], keys, types, counted))
        return _drop_nested(found)

    def _after_indefinite(self, rows: list[list[int]], i: int) -> bool:
        """Whether token ``i`` is a noun of an a/an phrase, the article right before it or before its modifiers."""
        j = i - 1
        while j >= 0 and rows[j][2] in self._premodifiers:
            j -= 1
        return j >= 0 and rows[j][0] in self._indefinite

    def _matches(self, span, keys, types: tuple[str, ...], counted: bool) -> list[Candidate]:
        head = span[0]
        out, seen = [], set()
        for key, index, via_plural in keys:
            for entry in index.get(key, ()):
                kind = CATEGORY_TYPES[entry.category]
                if kind not in types or (entry.category, via_plural) in seen:
                    continue
                if len(span) == 1 and head.pos_ not in ALLOWED_POS[entry.category]:
                    continue
                if entry.category == "relation" and len(span) == 1 and head.tag_ == "RP":
                    continue  # a verb particle ("putting on makeup") is part of the action, not a relation
                if entry.category == "action" and head.pos_ != "VERB":
                    continue
                seen.add((entry.category, via_plural))
                out.append(Candidate(
                    start=span.start_char, end=span.end_char, type=kind, text=span.text,
                    lemma=" ".join(token.lemma_.lower() for token in span), tag=head.tag_, pos=head.pos_,
                    category=entry.category, token=head.i, plural=via_plural,
                    counted=counted and head.pos_ in ("NOUN", "PROPN"),
                ))
        return out

    def replacements(self, candidate: Candidate, rng: np.random.Generator) -> Iterator[str]:
        """The candidate's possible replacements, inflected and cased, in a random order (lazily: callers
        usually need one).

        Entries of another lemma only, never a near-synonym, never another form of the same word.
        """
        original = self._entry_for(candidate)
        entries = self.entries.get(candidate.category, [])
        for k in rng.permutation(len(entries)):
            if self._usable(entries[k], original, candidate):
                yield self._realise(entries[k], candidate)

    def _entry_for(self, candidate: Candidate) -> _Entry | None:
        return self.by_text.get((candidate.category, candidate.text.lower())) or self.by_text.get(
            (candidate.category, candidate.lemma))

    def _usable(self, entry: _Entry, original: _Entry | None, candidate: Candidate) -> bool:
        if original is not None and (entry.text.lower() == original.text.lower() or entry.proper != original.proper):
            return False
        if (candidate.plural or candidate.counted) and entry.text.lower() in MASS_NOUNS:
            return False
        if self.wordlists.are_synonyms(entry.text, candidate.text) or self.wordlists.are_synonyms(entry.text, candidate.lemma):
            return False
        return not same_lemma(candidate.text, entry.text, candidate.lemma) and not same_lemma(candidate.lemma, entry.text)

    @staticmethod
    def _realise(entry: _Entry, candidate: Candidate) -> str:
        word = entry.text
        if entry.category == "action" and candidate.tag in _VERB_TAGS:
            word = inflect_verb(entry.lemma, candidate.tag)
        elif candidate.plural:
            word = plural(word)
        return realise_case(word, candidate.text, proper=entry.proper)


def _action_base(entry: str, verbs: frozenset[str]) -> str:
    """The entry with its first word as a known verb's base form when it is written inflected ("sitting on" ->
    "sit on", "wears" -> "wear"), else "" (a base form already, or no known verb gives it back)."""
    first, _, rest = entry.lower().partition(" ")
    if first in verbs:
        return ""
    for ending, replacement in _VERB_ENDINGS:
        if not first.endswith(ending):
            continue
        stem = first[: -len(ending)] + replacement
        for base in (stem[:-1], stem) if len(stem) > 2 and stem[-1] == stem[-2] else (stem,):  # sitting -> sit
            if base in verbs and first in (gerund(base), third_person(base), past_tense(base), past_participle(base)):
                return f"{base} {rest}".strip()
    return ""


def _drop_nested(candidates: list[Candidate]) -> list[Candidate]:
    """Drops a match lying inside a longer match of the same type ("in" and "of" inside "in front of")."""
    kept = []
    for cand in candidates:
        nested = any(
            other is not cand and other.type == cand.type and other.start <= cand.start and cand.end <= other.end
            and (other.end - other.start) > (cand.end - cand.start)
            for other in candidates
        )
        if not nested:
            kept.append(cand)
    return kept
