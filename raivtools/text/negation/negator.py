"""NAVERO's negative text generator: rule, masked-LM or mixed edits, over one or more rounds (§3.1.3).

Texts are processed in batches: each round parses every still-active text of the batch with one ``nlp.pipe``
call and fills every mask of the batch with one forward pass per model batch. All random choices of a text come
from its own generator (keyed by ``--seed`` and the record id), so a text's negative does not depend on the
batch it lands in.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from raivtools.seeding import rng_for
from raivtools.text.negation.edits import Candidate, Edit, apply_replacement, overlaps, realise_case, same_lemma, track_change
from raivtools.text.negation.mlm import DEFAULT_MLM, POS_TYPES, MaskedLM, sample_order
from raivtools.text.negation.rule import RuleIndex
from raivtools.text.negation.wordlists import TYPES, WordLists, load_wordlists
from raivtools.text.srl import LOC_PREPS

GENERATORS = ("rule", "mlm", "mixed")

#: the two-letter nouns, verbs and adjectives a masked LM may fill in
_SHORT_CONTENT_WORDS = frozenset({"go", "do", "ox", "tv", "pc"})

#: adpositions (a closed class) a masked LM may put in place of another: spatial and relational ones
_ADPOSITIONS = frozenset(
    "aboard about above across after against along alongside amid among around as at atop before behind below "
    "beneath beside besides between beyond by despite down during except for from in inside into like near "
    "of off on onto opposite out outside over past per round since than through throughout to toward towards "
    "under underneath unlike until up upon via with within without".split()
)


#: complex prepositions beyond the relation list's (srl's multi-word locatives, "in between"): their words are one
#: relation, never masked one by one
_EXTRA_COMPLEX_PREPOSITIONS = (*sorted(prep for prep in LOC_PREPS if " " in prep), "in between")


@dataclass
class NegateConfig:
    """How negatives are made (the ``raiv negate`` options)."""

    generator: str = "mixed"  # rule, mlm, or mixed (rule or mlm with probability 1/2 per edit, each the other's fallback)
    rounds: int = 1  # edits per negative; each round edits the previous round's output
    types: tuple[str, ...] = TYPES  # edit types allowed (one type: an AARO test set)
    mlm: str = DEFAULT_MLM  # masked LM: hub name or local folder
    top_k: int = 20  # masked-LM tokens considered per mask before filtering
    pos_checks: int = 4  # masked-LM words tried (tagged in context) per mask before giving the mask up
    mask_tries: int = 2  # tokens masked, one after the other, before the masked LM gives up on a text
    batch_size: int = 64  # texts per spaCy batch and per model forward pass
    seed: int = 0  # with the record key, decides every random choice
    spacy_model: str | None = None  # spaCy pipeline name or path; None: en_core_web_sm, then its re-upload
    wordlists: str | None = None  # folder replacing the built-in word lists
    device: str | None = None  # torch device for the masked LM; None: CUDA when available


@dataclass
class Negative:
    """The result for one text."""

    negative: str | None  # the negative text, or None when no edit was possible
    neg_type: str | None  # the edits' type, ``mixed`` when they differ, None without a negative
    edits: list[Edit]  # the applied edits, in order
    error: str | None = None  # why there is no negative
    rounds_done: int = 0  # rounds that found an edit (fewer than asked when the text ran out of candidates)


@dataclass
class _State:
    """One text while it is being edited."""

    original: str
    text: str
    rng: np.random.Generator
    edits: list[Edit] = field(default_factory=list)
    # regions changed by earlier rounds: (start, end, the caption's words there)
    changes: list[tuple[int, int, str]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # every earlier round's text
    reasons: list[str] = field(default_factory=list)  # why generators failed in the current round
    active: bool = True
    error: str | None = None

    @property
    def edited(self) -> list[tuple[int, int]]:
        """Character ranges changed by earlier rounds."""
        return [(start, end) for start, end, _ in self.changes]

    def changes_after(self, new_text: str, start: int, before: str, after: str) -> list[tuple[int, int, str]] | None:
        """The changed regions once ``before`` at ``start`` becomes ``after`` (giving ``new_text``), or None when that
        edit is no edit: it gives back the caption or an earlier round's text, or writes a region's caption words
        back (red -> blue, car -> bus, blue -> red would leave one object edit labelled as mixed)."""
        if new_text in (self.original, self.text) or new_text in self.seen:
            return None
        changes = track_change(self.changes, self.text, start, len(before), len(after))
        if any(new_text[r_start:r_end] == original for r_start, r_end, original in changes):
            return None
        return changes


@dataclass
class _MaskJob:
    """A masked-LM edit in progress for one text."""

    state: _State
    doc: object  # the round's parsed doc
    fallback: bool  # may the rule generator try when the masked LM fails
    order: list[Candidate]  # tokens to mask, in the order to try
    options: list[tuple[Candidate, str]] = field(default_factory=list)  # (masked token, word) to tag in context


class Negator:
    """Makes hard negatives for batches of texts.

    Args:
        config: the options.
        nlp: a loaded spaCy pipeline (default: :func:`raivtools.text.nlp.load_spacy` without parser and NER,
            which the generators do not use).
        mlm: a loaded :class:`MaskedLM` (default: loaded from ``config.mlm`` when the generator needs one).
        wordlists: word lists (default: ``config.wordlists`` or the built-in ones).

    Raises:
        InputError: the spaCy pipeline, the word lists or the masked LM cannot be loaded.
    """

    def __init__(self, config: NegateConfig, nlp=None, mlm: MaskedLM | None = None, wordlists: WordLists | None = None):
        from raivtools.text.nlp import load_spacy

        self.config = config
        self.nlp = nlp if nlp is not None else load_spacy(config.spacy_model, disable=("parser", "ner"))
        self.wordlists = wordlists if wordlists is not None else load_wordlists(config.wordlists)
        self.lexicon = _english_lexicon(self.nlp)
        verbs = self.lexicon["VERB"] if self.lexicon else ()
        self.rules = RuleIndex(self.wordlists, self.nlp.tokenizer, verbs) if config.generator != "mlm" else None
        self.mlm = mlm
        self.complex_prepositions = _complex_prepositions(self.wordlists)
        if self.mlm is None and config.generator != "rule":
            self.mlm = MaskedLM(config.mlm, device=config.device, batch_size=config.batch_size)

    def negate(self, texts: list[str], keys: list[object]) -> list[Negative]:
        """Negatives for ``texts``; ``keys`` (record ids) key each text's random generator."""
        states = [_State(text, text, rng_for(self.config.seed, key)) for text, key in zip(texts, keys)]
        for state in states:
            if not state.text.strip():
                state.active, state.error = False, "the text is empty"
        for begin in range(0, len(states), self.config.batch_size):
            self._negate_batch(states[begin : begin + self.config.batch_size])
        return [self._result(state) for state in states]

    def _negate_batch(self, states: list[_State]) -> None:
        for round_number in range(1, self.config.rounds + 1):
            active = [state for state in states if state.active]
            if not active:
                return
            docs = list(self.nlp.pipe([state.text for state in active], batch_size=self.config.batch_size))
            mask_jobs: list[tuple[_State, object, bool]] = []
            for state, doc in zip(active, docs):
                state.reasons = []
                choice = self._choose_generator(state.rng)
                if choice == "mlm":
                    mask_jobs.append((state, doc, self.config.generator == "mixed"))
                elif self._rule_edit(state, doc, round_number):
                    continue
                elif self.config.generator == "mixed":
                    mask_jobs.append((state, doc, False))
                else:
                    self._give_up(state)
            for state, doc, fallback in self._mlm_edits(mask_jobs, round_number):
                if not (fallback and self._rule_edit(state, doc, round_number)):
                    self._give_up(state)

    def _choose_generator(self, rng: np.random.Generator) -> str:
        if self.config.generator != "mixed":
            return self.config.generator
        return "rule" if rng.random() < 0.5 else "mlm"

    def _give_up(self, state: _State) -> None:
        """No generator could edit this round: later rounds would see the same text, so the text is done."""
        state.active = False
        if not state.edits:
            state.error = "; ".join(state.reasons) or "no edit possible"

    # ----- choosing what to edit -----

    def _order(self, candidates: list[Candidate], state: _State) -> Iterator[Candidate]:
        """Candidates in the order to try: not edited before first; a random type, then a random span of it."""
        fresh = [c for c in candidates if not overlaps(c.start, c.end, state.edited)]
        stale = [c for c in candidates if overlaps(c.start, c.end, state.edited)]
        yield from _typed_shuffle(fresh, state.rng)
        yield from _typed_shuffle(stale, state.rng)

    def _try_replacement(self, state: _State, candidate: Candidate, word: str, round_number: int, generator: str) -> bool:
        following = state.text[candidate.end:].split(maxsplit=1)
        if " " in word and following and following[0].strip(".,;:!?").lower() == word.rsplit(" ", 1)[-1].lower():
            return False  # "sits on the grass" -> "mounts on on the grass": the phrase's last word is there already
        new_text, start, before, after = apply_replacement(state.text, candidate.start, candidate.end, word)
        changes = state.changes_after(new_text, start, before, after)
        if changes is None:
            return False
        state.edits.append(Edit(round_number, candidate.type, generator, before, after, start))
        state.changes = changes
        state.seen.add(state.text)
        state.text = new_text
        return True

    # ----- rule generator -----

    def _rule_edit(self, state: _State, doc, round_number: int) -> bool:
        candidates = self.rules.candidates(doc, self.config.types)
        if not candidates:
            state.reasons.append(f"no word-list entry of type {'/'.join(self.config.types)} in the text")
            return False
        for candidate in self._order(candidates, state):
            for word in self.rules.replacements(candidate, state.rng):
                if self._try_replacement(state, candidate, word, round_number, "rule"):
                    return True
        state.reasons.append("no word-list replacement changes the text")
        return False

    # ----- masked-LM generator -----

    def _mask_candidates(self, doc) -> list[Candidate]:
        """One token each, but a complex preposition ("in front of") is masked whole: one of its words alone gave
        "below front of the house"."""
        wanted = {pos for pos, kind in POS_TYPES.items() if kind in self.config.types}
        phrases = _phrase_spans(doc, self.complex_prepositions)
        inside = {i for first, end in phrases for i in range(first, end)}
        candidates = [
            Candidate(start=t.idx, end=t.idx + len(t.text), type=POS_TYPES[t.pos_], text=t.text,
                      lemma=t.lemma_.lower(), tag=t.tag_, pos=t.pos_, token=t.i)
            for t in doc if t.pos_ in wanted and t.is_alpha and t.tag_ != "RP"  # particles belong to their verb
            and t.i not in inside
        ]
        if "ADP" in wanted:
            for first, end in phrases:
                span = doc[first:end]
                candidates.append(Candidate(start=span.start_char, end=span.end_char, type=POS_TYPES["ADP"],
                                            text=span.text, lemma=span.text.lower(), tag=doc[first].tag_, pos="ADP",
                                            token=first))
        return sorted(candidates, key=lambda c: c.start)

    def _mlm_edits(self, jobs: list[tuple[_State, object, bool]], round_number: int) -> list[tuple[_State, object, bool]]:
        """Runs the masked LM for every job; returns the jobs it could not edit."""
        failed, pending = [], []
        for state, doc, fallback in jobs:
            candidates = self._mask_candidates(doc)
            if not candidates:
                pos = "/".join(p for p, kind in POS_TYPES.items() if kind in self.config.types)
                state.reasons.append(f"no {pos} token to mask")
                failed.append((state, doc, fallback))
            else:
                order = list(itertools.islice(self._order(candidates, state), self.config.mask_tries))
                pending.append(_MaskJob(state, doc, fallback, order))
        for attempt in range(self.config.mask_tries):
            trying = [job for job in pending if attempt < len(job.order)]
            if not trying:
                break
            self._predict([(job, job.order[attempt]) for job in trying])
            self._check_in_context(trying, round_number)
            pending = [job for job in pending if job.options is not None]  # None marks an edited job
        for job in pending:
            job.state.reasons.append("no usable masked-LM prediction")
            failed.append((job.state, job.doc, job.fallback))
        return failed

    def _predict(self, masked: list[tuple[_MaskJob, Candidate]]) -> None:
        texts, after_space = [], []
        for job, cand in masked:
            text = job.state.text
            texts.append(text[: cand.start] + self.mlm.mask + text[cand.end :])
            after_space.append(cand.start > 0 and text[cand.start - 1].isspace())
        predictions = self.mlm.top_words(texts, after_space, self.config.top_k)
        for (job, cand), words in zip(masked, predictions):
            usable = [p for p in sample_order(words, job.state.rng) if self._usable_prediction(cand, p.word)]
            job.options = [(cand, realise_case(p.word, cand.text)) for p in usable[: self.config.pos_checks]]

    def _usable_prediction(self, cand: Candidate, word: str) -> bool:
        if word.lower() == cand.text.lower() or same_lemma(cand.text, word, cand.lemma):
            return False
        if cand.pos == "ADP" and word.lower() not in _ADPOSITIONS:
            return False
        if cand.pos != "ADP" and len(word) < 3 and word.lower() not in _SHORT_CONTENT_WORDS:
            return False  # two-letter pieces ("ba", "th") are sub-word starts, even where a lexicon lists them
        return not (self.wordlists.are_synonyms(word, cand.text) or self.wordlists.are_synonyms(word, cand.lemma))

    def _check_in_context(self, jobs: list[_MaskJob], round_number: int) -> None:
        """Tags each job's next option in its sentence until one keeps the POS and inflection; one spaCy batch per try."""
        for level in range(self.config.pos_checks):
            tries = []
            for job in jobs:
                if job.options is not None and level < len(job.options):
                    cand, word = job.options[level]
                    new_text, start, before, after = apply_replacement(job.state.text, cand.start, cand.end, word)
                    if job.state.changes_after(new_text, start, before, after) is not None:
                        tries.append((job, cand, word, new_text, start + len(after) - len(word)))
            if not tries:
                return
            for (job, cand, word, new_text, word_start), doc in zip(tries, self.nlp.pipe([t[3] for t in tries])):
                if _keeps_pos(doc, word_start, word, cand, self.lexicon):
                    self._try_replacement(job.state, cand, word, round_number, "mlm")
                    job.options = None

    def _result(self, state: _State) -> Negative:
        if not state.edits:
            return Negative(None, None, [], state.error or "no edit possible")
        kinds = {edit.type for edit in state.edits}
        neg_type = kinds.pop() if len(kinds) == 1 else "mixed"
        return Negative(state.text, neg_type, state.edits, None, rounds_done=len(state.edits))


def _keeps_pos(doc, start: int, word: str, cand: Candidate, lexicon: dict[str, object] | None) -> bool:
    """Whether ``word`` at ``start`` is one token with the replaced token's POS (and Penn tag, but for ADP), and,
    for nouns, verbs and adjectives, a known English word: a word-initial sub-word piece ("wal") is not."""
    token = next((t for t in doc if t.idx == start), None)
    if token is None or token.text != word or token.pos_ != cand.pos:
        return False
    if cand.pos != "ADP" and token.tag_ != cand.tag:
        return False
    known = lexicon.get(cand.pos) if lexicon else None
    return known is None or token.lemma_.lower() in known or word.lower() in known


def _complex_prepositions(wordlists: WordLists) -> tuple[tuple[str, ...], ...]:
    """The relation list's multi-word prepositions ("in front of", "next to": a preposition or "next" first and
    last), not its verb phrases ("sitting on", whose words edit well alone), and a few more, longest first."""
    entries = [entry.lower().split() for entry in wordlists.categories.get("relation", ())]
    found = {tuple(words) for words in entries if len(words) > 1 and words[-1] in _ADPOSITIONS
             and (words[0] in _ADPOSITIONS or words[0] == "next")}
    found |= {tuple(phrase.split()) for phrase in _EXTRA_COMPLEX_PREPOSITIONS}
    return tuple(sorted(found, key=lambda words: (-len(words), words)))


def _phrase_spans(doc, phrases: tuple[tuple[str, ...], ...]) -> list[tuple[int, int]]:
    """Token ranges ``[first, end)`` of ``doc`` that read as one of ``phrases`` (lower case), left to right, not
    overlapping."""
    words = [t.lower_ for t in doc]
    spans, i = [], 0
    while i < len(words):
        match = next((p for p in phrases if tuple(words[i: i + len(p)]) == p), None)
        if match:
            spans.append((i, i + len(match)))
            i += len(match)
        else:
            i += 1
    return spans


def _english_lexicon(nlp) -> dict[str, object] | None:
    """Known base forms per POS from the pipeline's rule lemmatizer (WordNet's index), or None without one."""
    try:
        index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index")
        return {"NOUN": index["noun"], "VERB": index["verb"], "ADJ": index["adj"]}
    except (KeyError, AttributeError, ValueError):
        return None


def _typed_shuffle(candidates: list[Candidate], rng: np.random.Generator) -> Iterator[Candidate]:
    """A random order that picks a type uniformly first, so frequent prepositions do not crowd out other types.

    Lazy: the caller usually takes the first candidate only.
    """
    groups: dict[str, list[Candidate]] = {}
    for cand in candidates:
        groups.setdefault(cand.type, []).append(cand)
    while groups:
        kinds = sorted(groups)
        kind = kinds[int(rng.integers(len(kinds)))] if len(kinds) > 1 else kinds[0]
        group = groups[kind]
        yield group.pop(int(rng.integers(len(group))) if len(group) > 1 else 0)
        if not group:
            del groups[kind]
