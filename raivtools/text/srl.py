"""Semantic roles from captions: a spaCy dependency parse turned into PropBank-style frames.

One frame per content verb (auxiliaries and adjectival participles are skipped)::

    "A man is cutting bread with a knife in the kitchen."
    -> {"verb": "cut", "sense": None, "roles": {"ARG0": "A man", "ARG1": "bread", "ARG2": "a knife",
                                               "ARGM-LOC": "the kitchen"}, "preps": {"ARG2": "with", "ARGM-LOC": "in"}}

Rules, in the order they apply to a verb:

- ARG0: the active subject (``nsubj``), the ``agent`` "by" phrase of a passive, the noun a participle modifies
  ("a dog *running*"), the antecedent of a relative pronoun, or the subject inherited from the verb it is
  coordinated with or controlled by ("a man sits and *reads*", "wants to *eat*").
- ARG1: the direct object, the passive subject (``nsubjpass``), a noun modified by a past participle
  ("a pizza *topped* with cheese"), the object of a look/listen/wait-type preposition ("looking *at* the camera"),
  or the object shared by coordinated verbs ("*cuts* and eats bread").
- ARG2: the ``dative`` ("gives *a woman* a flower", "hands it *to a boy*") or an inanimate "with" instrument.
- ARGM-LOC / -DIR / -TMP / -PRP: prepositional phrases by preposition and noun ("*into* the water" is a
  direction, "*on* the beach" a location, "*in* the morning" a time); "in front of", "next to", "on top of" and
  "in the middle of" are read as one preposition. A place-noun phrase that the parser hangs on an object ("a
  knife *in the kitchen*") is lifted to the verb, the known attachment error of small English pipelines.
- ARGM-MNR: manner adverbs ("slowly", "together"); ARGM-NEG and ``"negated": true``: negation.

Spans are whole noun phrases (determiners, adjectives, compounds, "of" and conjoined nouns), without the
relative or participle clauses that get frames of their own. ``objects`` are the lemmas of the noun-chunk
heads with their compound modifiers ("tennis racket"), pronouns excluded, in order of appearance.

The functions here take parsed Docs, so they are tested without a model; :func:`annotate` runs a pipeline
over records in batches, parsing each caption :func:`without_symbols` (emoji read as nouns and verbs) and with
its whitespace runs made one space.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from raivtools.schema import srl_frame
from raivtools.text.english import QUANTITY_NOUNS

SUBJECT_DEPS = ("nsubj", "csubj")
PASSIVE_SUBJECT_DEPS = ("nsubjpass", "csubjpass")
NON_EVENT_DEPS = ("aux", "auxpass", "amod", "compound")
# clauses that get frames of their own and so are not part of a noun phrase span
CLAUSE_DEPS = ("relcl", "acl", "advcl", "punct", "appos", "parataxis")
RELATIVE_PRONOUNS = ("who", "that", "which", "whom", "whose")
# pronouns that deny their clause: "Nobody is sitting on the bench" shows no one sitting
NEGATIVE_PRONOUNS = frozenset("nobody nothing none noone no-one".split())

LOC_PREPS = frozenset(
    "in on at near inside outside under beneath beside behind above below by between among within atop "
    "underneath against amid amongst upon alongside around".split()
    + ["in front of", "next to", "on top of", "close to", "in the middle of"]
)
DIR_PREPS = frozenset("into onto toward towards to through across along down up over from out off past".split())
TMP_PREPS = frozenset("during before after until since throughout while".split())
PRP_PREPS = frozenset(["for"])
TIME_NOUNS = frozenset(
    "morning afternoon evening night day daytime nighttime noon midnight sunset sunrise dawn dusk time moment "
    "weekend week winter summer spring autumn fall season year hour minute second today tonight christmas "
    "holiday birthday game match race".split()
)
# verbs whose PropBank ARG1 is the object of a preposition
VERB_PREP_ARG1 = {
    "look": ("at",), "stare": ("at",), "glance": ("at",), "gaze": ("at",), "smile": ("at",), "laugh": ("at",),
    "listen": ("to",), "talk": ("about",), "wait": ("for",), "search": ("for",), "reach": ("for",),
    "point": ("at", "to"), "aim": ("at",), "bark": ("at",), "yell": ("at",), "shout": ("at",),
}
# forms that en_core_web_sm lemmatizes wrongly
LEMMA_FIXES = {
    "riding": "ride", "rides": "ride", "rode": "ride", "ridden": "ride", "skiing": "ski", "skis": "ski",
    "skied": "ski", "lying": "lie", "dining": "dine", "wading": "wade", "hiding": "hide", "sliding": "slide",
    "gliding": "glide", "striding": "stride", "spitting": "spit", "bored": "bore", "boarding": "board",
}
# verbs whose PropBank ARG2 (hearer, recipient) is the object of a preposition, whatever the noun
VERB_PREP_ARG2 = {
    "talk": ("to", "with"), "speak": ("to", "with"), "chat": ("with",), "explain": ("to",), "sing": ("to",),
    "show": ("to",), "give": ("to",), "hand": ("to",), "pass": ("to",), "read": ("to",), "wave": ("to",),
    "say": ("to",), "tell": ("to",), "sell": ("to",), "send": ("to",), "present": ("to",), "feed": ("to",),
}
MOTION_VERBS = frozenset("walk run go come move drive ride fly swim jump head return travel rush hurry".split())
MANNER_ADVERBS = frozenset(
    "fast hard well together alone quickly slowly carefully happily gently quietly loudly badly closely "
    "tightly straight backwards sideways barefoot".split()
)
LOC_ADVERBS = frozenset("outside inside outdoors indoors here there nearby downstairs upstairs underwater overhead".split())
DIR_ADVERBS = frozenset("away back forward forwards backward downward upward downhill uphill ahead home".split())
TMP_ADVERBS = frozenset("now then today tonight yesterday tomorrow soon again already still early late".split())
# "with" + one of these is a companion (ARGM-COM), not an instrument (ARG2)
ANIMATE_NOUNS = frozenset(
    "man men woman women person people boy girl child children kid baby guy lady gentleman friend family "
    "player team crowd couple dog cat horse puppy kitten mother father mom dad brother sister son daughter "
    "partner group student teacher someone he she they him her them".split()
)
PLACE_NOUNS = frozenset(
    "kitchen room bathroom bedroom office park street road field beach yard backyard garden lake river ocean "
    "sea pool water snow grass forest woods city town building house restaurant store shop market stage gym "
    "court stadium classroom school church airport station library bar cafe hallway area lot parking "
    "sidewalk floor ground desert mountain hill farm zoo studio arena track ring rink playground air sky "
    "sink counter table bench couch bed".split()
)
# prepositions of motion that the parser may hang on the object ("pulls a carriage *down the road*")
LIFTED_DIR_PREPS = frozenset("into onto down across through along toward towards".split())
# complex prepositions read as one: (preposition, noun before "of") -> the whole preposition
COMPLEX_PREPS = {("in", "front"): "in front of", ("on", "top"): "on top of", ("in", "middle"): "in the middle of"}
# nouns that are part of a complex preposition ("in front of"), not objects
RELATIONAL_NOUNS = frozenset("front top middle side back edge".split())
# a side ("to the left", "the right of the box") is a direction, never a thing to see
SIDE_NOUNS = frozenset({"left", "right"})


@dataclass
class Frame:
    """One verb's roles as spaCy spans (the library form; :meth:`to_dict` gives the record form)."""

    verb: Any  # the verb's spaCy Token
    roles: dict[str, Any] = field(default_factory=dict)  # role name -> spaCy Span of the argument
    preps: dict[str, str] = field(default_factory=dict)  # role name -> the preposition that introduced it
    negation: Any = None  # the negation Token ("not", "n't", "never"), if any
    particle: str | None = None  # phrasal-verb particle ("pick *up*")

    @property
    def lemma(self) -> str:
        return verb_lemma(self.verb)

    def head(self, role: str) -> str | None:
        """The lower-case lemma of a role's head noun, or None when the role is empty."""
        span = self.roles.get(role)
        return None if span is None else span.root.lemma_.lower()

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.preps:
            extra["preps"] = dict(self.preps)
        if self.particle:
            extra["particle"] = self.particle
        if self.negation is not None:
            extra["negated"] = True
        roles = {name: span.text for name, span in self.roles.items()}
        if self.negation is not None:
            roles["ARGM-NEG"] = self.negation.text
        return srl_frame(self.lemma, roles, None, **extra)


def verb_lemma(token: Any) -> str:
    """The verb's lemma, with the small pipelines' known lemmatizer slips corrected ("riding" -> "rid")."""
    return LEMMA_FIXES.get(token.lower_) or token.lemma_.lower()


def is_event_verb(token: Any) -> bool:
    """Content verbs get frames; auxiliaries, copulas ("there *is* a cat") and adjectival participles do not."""
    return token.pos_ == "VERB" and token.dep_ not in NON_EVENT_DEPS and token.lemma_.lower() != "be"


@lru_cache(maxsize=1)
def _action_verbs() -> frozenset[str]:
    """One-word action verbs of the shipped action list (Table 8 of seed 004), to recognise mis-tagged verbs."""
    return _one_word_entries("action")


@lru_cache(maxsize=None)
def _one_word_entries(category: str) -> frozenset[str]:
    from raivtools.text.negation.wordlists import load_wordlists

    return frozenset(entry.lower() for entry in load_wordlists().categories[category] if " " not in entry)


def _subject_head(root: Any) -> Any | None:
    """The noun a nominalised verb swallowed: the compound before it ("circle" in "brown circle hovers"), or the
    word right before it when that is a known noun the tagger read as an adjective ("square" in "brown square
    hovers")."""
    compound = next((child for child in reversed(list(root.lefts)) if child.dep_ == "compound"), None)
    if compound is not None:
        return compound
    before = root.doc[root.i - 1] if root.i > 0 else None
    if before is not None and before.head.i == root.i and before.dep_ == "amod" \
            and before.lower_ in _one_word_entries("noun"):
        return before
    return None


def _nominalised_verbs(doc: Any) -> list[Any]:
    """Sentence roots that small parsers read as plural nouns although they are the verb.

    "A small brown circle hovers above a square." parses as one noun phrase whose head is "hovers" (NNS) with
    "circle" as a compound ("square" before it is even read as an adjective). Only a sentence with no verb at
    all, whose root is such a plural noun with a :func:`_subject_head` before it and whose lemma is a known
    action verb, is repaired.
    """
    if any(token.pos_ in ("VERB", "AUX") for token in doc):
        return []
    return [
        sent.root for sent in doc.sents
        if sent.root.tag_ == "NNS" and sent.root.lemma_.lower() in _action_verbs() and _subject_head(sent.root)
    ]


def _nominalised_frame(verb: Any) -> Frame:
    frame = Frame(verb=verb)
    frame.roles["ARG0"] = verb.doc[verb.left_edge.i : verb.i]  # everything before the verb is its subject
    for child in verb.rights:
        if child.dep_ == "prep":
            _prep_role(frame, child)
        elif child.dep_ in ("advmod", "npadvmod"):
            _adverb_role(frame, child)
    _lift_misattached_places(frame)
    return frame


def doc_frames(doc: Any) -> list[Frame]:
    """All frames of a parsed Doc, in the order of their verbs."""
    frames = {token.i: Frame(verb=token) for token in doc if is_event_verb(token)}
    if not frames:
        return [_nominalised_frame(verb) for verb in _nominalised_verbs(doc)]
    for frame in frames.values():
        _direct_roles(frame)
    # inherited roles need the direct roles of the verb they come from, hence a second pass in order
    for frame in frames.values():
        _inherited_roles(frame, frames)
    for frame in frames.values():
        _lift_misattached_places(frame)
    return [frames[i] for i in sorted(frames)]


def doc_objects(doc: Any) -> list[str]:
    """Lemmas of noun-chunk heads with their compounds ("tennis racket"), no pronouns, first mention order."""
    seen: dict[str, None] = {}
    verbs = {token.i for token in _nominalised_verbs(doc)}
    for chunk in doc.noun_chunks:
        root = chunk.root
        if root.i in verbs:  # "a brown circle hovers": the noun is the one before the verb
            root = _subject_head(root)
        elif root.pos_ not in ("NOUN", "PROPN") or root.lemma_.lower() in SIDE_NOUNS:
            continue
        if root.lemma_.lower() in RELATIONAL_NOUNS | QUANTITY_NOUNS and any(
                c.dep_ == "prep" and c.lower_ == "of" for c in root.children):
            continue  # "the front of the box", "a group of men": the object is what follows "of"
        if denial(root) is not None:
            continue  # "a man with no shirt", "without a hat", "no cars or people": named, and not there
        words = [child.lemma_.lower() for child in root.lefts if child.dep_ == "compound"]
        seen.setdefault(" ".join(words + [root.lemma_.lower()]), None)
    return list(seen)


def srl_fields(doc: Any) -> dict[str, Any]:
    """The ``srl`` and ``objects`` fields of a record whose caption parsed to ``doc`` (parse it
    :func:`without_symbols` and with single spaces, as :func:`annotate` does)."""
    return {"srl": [frame.to_dict() for frame in doc_frames(doc)], "objects": doc_objects(doc)}


# --- spans -----------------------------------------------------------------------------------------------


def noun_phrase(token: Any, exclude: Iterable[Any] = ()) -> Any:
    """The whole noun phrase headed by ``token``, without clauses and without the subtrees in ``exclude``."""
    excluded = {t.i for sub in exclude for t in sub.subtree}
    kept = [token]
    for child in token.children:
        if _own_clause(child) or child.i in excluded:
            continue
        kept.extend(t for t in child.subtree if t.i not in excluded)
    start = min(t.i for t in kept)
    end = max(t.i for t in kept) + 1
    doc = token.doc
    # a right-side cut (an excluded clause in the middle) ends the phrase before it
    for i in range(token.i + 1, end):
        if i in excluded or (_own_clause(doc[i]) and doc[i].head.i == token.i):
            end = i
            break
    # a coordinator whose conjunct is a clause of its own is left dangling ("rides a horse and a woman walks")
    while end > start + 1 and (doc[end - 1].is_punct or doc[end - 1].dep_ == "cc"):
        end -= 1
    return doc[start:end]


def _own_clause(token: Any) -> bool:
    """A clause that gets a frame of its own, also a verb the parser coordinated with a noun ("eating pizza and
    *drinking* beer" with "drinking" a conjunct of "pizza")."""
    return token.dep_ in CLAUSE_DEPS or (token.dep_ == "conj" and is_event_verb(token))


def denial(token: Any) -> Any | None:
    """The word that says a noun is not there, or None: "no" before it ("no shirt", "no one"), "without" above
    it, the noun itself when it is a negative pronoun ("nobody"), or the denial of the noun it is conjoined with
    ("no cars or people")."""
    while True:
        if token.lower_ in NEGATIVE_PRONOUNS:
            return token
        no = next((c for c in token.children if c.dep_ == "det" and c.lower_ == "no"), None)
        if no is not None:
            return no
        if token.dep_ == "pobj" and token.head.lower_ == "without":
            return token.head
        if token.dep_ != "conj":
            return None
        token = token.head


def _resolve(token: Any) -> Any:
    """A relative pronoun stands for the noun its clause modifies."""
    if token.lower_ in RELATIVE_PRONOUNS and token.head.dep_ == "relcl":
        return token.head.head
    return token


def _prep_object(prep: Any) -> tuple[str, Any] | None:
    """``(preposition, object token)`` of a prepositional phrase, reading "in front of" as one preposition."""
    pobj = next((c for c in prep.children if c.dep_ in ("pobj", "pcomp")), None)
    if pobj is None:
        return None
    word = prep.lower_
    inner = next((c for c in pobj.children if c.dep_ == "prep" and c.lower_ == "of"), None)
    if inner is not None and (word, pobj.lower_) in COMPLEX_PREPS:
        nested = _prep_object(inner)
        if nested is not None:
            return COMPLEX_PREPS[word, pobj.lower_], nested[1]
    return word, pobj


def _is_passive(verb: Any) -> bool:
    return any(c.dep_ in ("auxpass", "nsubjpass") for c in verb.children)


# --- roles -----------------------------------------------------------------------------------------------


def _set(frame: Frame, role: str, token: Any, prep: str | None = None, exclude: Iterable[Any] = ()) -> None:
    if role in frame.roles or token is None:
        return
    frame.roles[role] = noun_phrase(token, exclude)
    if prep:
        frame.preps[role] = prep


def _direct_roles(frame: Frame) -> None:
    verb = frame.verb
    for child in verb.children:
        dep = child.dep_
        if dep in (*SUBJECT_DEPS, *PASSIVE_SUBJECT_DEPS, "dobj") and frame.negation is None:
            # "Nobody is sitting", "No dogs are running", "eating no meat": the action is not shown
            frame.negation = denial(child)
        if dep in SUBJECT_DEPS:
            _set(frame, "ARG0", _resolve(child))
        elif dep in PASSIVE_SUBJECT_DEPS:
            _set(frame, "ARG1", _resolve(child))
        elif dep == "agent":
            pobj = next((c for c in child.children if c.dep_ == "pobj"), None)
            _set(frame, "ARG0", pobj, "by")
        elif dep == "dobj":
            _set(frame, "ARG1", _resolve(child))
        elif dep == "dative":
            if child.pos_ == "ADP":
                found = _prep_object(child)
                if found:
                    _set(frame, "ARG2", found[1], found[0])
            else:
                _set(frame, "ARG2", child)
        elif dep == "prt":
            frame.particle = child.lower_
        elif dep == "neg":
            frame.negation = child
        elif dep == "prep":
            _prep_role(frame, child)
        elif dep in ("advmod", "npadvmod"):
            _adverb_role(frame, child)
    if verb.dep_ == "acl" and verb.head.pos_ in ("NOUN", "PROPN", "PRON"):
        # "a dog running" -> the dog runs; "a pizza topped with cheese" -> the pizza is topped
        _set(frame, "ARG1" if verb.tag_ == "VBN" else "ARG0", verb.head)


def _prep_role(frame: Frame, prep: Any) -> None:
    found = _prep_object(prep)
    if found is None:
        return
    word, obj = found
    lemma = frame.lemma
    if word in VERB_PREP_ARG1.get(lemma, ()):
        _set(frame, "ARG1", obj, word)
    elif word == "with":
        role = "ARGM-COM" if _animate(obj) else "ARG2"
        _set(frame, role, obj, word)
    elif word in VERB_PREP_ARG2.get(lemma, ()) or (word == "to" and _animate(obj) and lemma not in MOTION_VERBS):
        _set(frame, "ARG2", obj, word)  # the hearer or recipient ("talks to a friend", "throws a ball to his father")
    elif word == "by" and _is_passive(frame.verb):
        _set(frame, "ARG0", obj, word)
    elif word in TMP_PREPS or (obj.lemma_.lower() in TIME_NOUNS and word in ("in", "on", "at", "during")):
        _set(frame, "ARGM-TMP", obj, word)
    elif word in LOC_PREPS:
        _set(frame, "ARGM-LOC", obj, word)
    elif word in DIR_PREPS:
        _set(frame, "ARGM-DIR", obj, word)
    elif word in PRP_PREPS:
        _set(frame, "ARGM-PRP", obj, word)


def _animate(token: Any) -> bool:
    return token.lower_ in ANIMATE_NOUNS or token.lemma_.lower() in ANIMATE_NOUNS


def _adverb_role(frame: Frame, adverb: Any) -> None:
    word = adverb.lower_
    if word in ("next", "close"):  # the parser reads "next to" and "close to" as an adverb with a "to" phrase
        to = next((c for c in adverb.children if c.dep_ == "prep" and c.lower_ == "to"), None)
        found = _prep_object(to) if to is not None else None
        if found:
            _set(frame, "ARGM-LOC", found[1], f"{word} to")
        return
    if word in ("never", "not", "n't"):
        frame.negation = adverb
    elif word in LOC_ADVERBS:
        frame.roles.setdefault("ARGM-LOC", adverb.doc[adverb.i : adverb.i + 1])
    elif word in DIR_ADVERBS:
        frame.roles.setdefault("ARGM-DIR", adverb.doc[adverb.i : adverb.i + 1])
    elif word in TMP_ADVERBS or adverb.lemma_.lower() in TIME_NOUNS:
        frame.roles.setdefault("ARGM-TMP", adverb.doc[adverb.i : adverb.i + 1])
    elif word in MANNER_ADVERBS or (word.endswith("ly") and word not in ("only", "early", "nearly", "really")):
        frame.roles.setdefault("ARGM-MNR", adverb.doc[adverb.i : adverb.i + 1])


def _inherited_roles(frame: Frame, frames: dict[int, Frame]) -> None:
    verb = frame.verb
    # a verb hung on a preposition, or coordinated with its governor's object ("eats pizza and drinks beer"), is
    # governed by the verb above
    lifted = (verb.dep_ == "pcomp" and verb.head.dep_ == "prep") or (verb.dep_ == "conj" and verb.head.dep_ == "dobj")
    head = verb.head.head if lifted else verb.head
    governor = frames.get(head.i) if head.i != verb.i else None
    if governor is not None and verb.dep_ in ("conj", "xcomp", "advcl", "pcomp", "ccomp") and not _has_subject(verb):
        # coordinated / controlled verbs share the governor's subject; a passive participle takes it as ARG1
        subject = _subject_of(governor)
        if subject is not None:
            role = "ARG1" if verb.tag_ == "VBN" and (_is_passive(governor) or _is_passive(verb)) else "ARG0"
            _set(frame, role, subject)
    if "ARG1" not in frame.roles:
        # "cuts and eats bread": the first verb shares the object of the verb coordinated with it
        for child in verb.children:
            sibling = frames.get(child.i)
            if child.dep_ == "conj" and sibling is not None and not _has_subject(child):
                if not any(c.dep_ in ("dobj", "prep", "dative") and c.i < child.i for c in verb.children):
                    obj = next((c for c in child.children if c.dep_ == "dobj"), None)
                    if obj is not None:
                        _set(frame, "ARG1", obj)
                break


def _has_subject(verb: Any) -> bool:
    return any(c.dep_ in SUBJECT_DEPS + PASSIVE_SUBJECT_DEPS + ("agent",) for c in verb.children)


def _subject_of(frame: Frame) -> Any:
    """The token that is the governing verb's grammatical subject (ARG0, or ARG1 of a passive)."""
    verb = frame.verb
    for child in verb.children:
        if child.dep_ in SUBJECT_DEPS + PASSIVE_SUBJECT_DEPS:
            return _resolve(child)
    if verb.dep_ == "acl":
        return verb.head
    span = frame.roles.get("ARG0")
    return span.root if span is not None else None


def _lift_misattached_places(frame: Frame) -> None:
    """Moves "in the kitchen" from "a knife in the kitchen" to the verb when the verb has no location
    (and "down the road" from "a carriage down the road" when it has no direction)."""
    for role in ("ARG1", "ARG2", "ARG0"):
        span = frame.roles.get(role)
        if span is None or span.root.i < frame.verb.i:
            continue
        for child in span.root.children:
            found = _prep_object(child) if child.dep_ == "prep" else None
            if found is None:
                continue
            word, obj = found
            if word in LOC_PREPS and obj.lemma_.lower() in PLACE_NOUNS and "ARGM-LOC" not in frame.roles:
                target = "ARGM-LOC"
            elif word in LIFTED_DIR_PREPS and "ARGM-DIR" not in frame.roles:
                target = "ARGM-DIR"
            else:
                continue
            frame.roles[role] = noun_phrase(span.root, [child])
            frame.roles[target] = noun_phrase(obj)
            frame.preps[target] = word
            return


# --- records ---------------------------------------------------------------------------------------------


@dataclass
class CaptionSRLConfig:
    """How :func:`annotate` runs the pipeline."""

    field: str = "caption"  # record field holding the text
    batch_size: int = 256  # texts per nlp.pipe batch
    workers: int = 1  # nlp.pipe processes (n_process)
    chunk_records: int = 4096  # records read ahead per pipe call (bounds memory)


def annotate(located: Iterable[tuple[str, int, dict[str, Any]]], nlp: Any, config: CaptionSRLConfig) -> Iterator[dict]:
    """Adds ``srl`` and ``objects`` to each record of ``(file, line, record)`` triples, keeping the order.

    Raises:
        InputError: a record has no ``config.field`` or it is not a string (names ``file:line``).
    """
    from raivtools.io.errors import InputError
    from raivtools.io.records import require_fields

    chunk: list[dict[str, Any]] = []
    texts: list[str] = []

    def flush() -> Iterator[dict]:
        # a run of spaces, a tab or a newline is a token of its own to spaCy: it ends up inside role spans
        # ("A man  ") or takes the subject's place ("  A dog runs" loses its ARG0), so one space it is
        parsed = (" ".join(without_symbols(text).split()) for text in texts)
        docs = nlp.pipe(parsed, batch_size=config.batch_size, n_process=config.workers)
        for record, doc in zip(chunk, docs):
            record.update(srl_fields(doc))
            yield record
        chunk.clear()
        texts.clear()

    for where_file, line, record in located:
        where = f"{where_file}:{line}"
        require_fields(record, [config.field], where)
        text = record[config.field]
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise InputError(f"{where}: field {config.field!r} must be a string, got {type(text).__name__}")
        chunk.append(record)
        texts.append(text)
        if len(chunk) >= config.chunk_records:
            yield from flush()
    if chunk:
        yield from flush()


def without_symbols(text: str) -> str:
    """``text`` without its emoji and other non-ASCII symbols, spaced as if they had never been there.

    Small pipelines tag an emoji as a noun or a verb and build the parse around it ("A man 😀 runs" loses its
    verb, "a frisbee 🥏" gets the emoji as its head), so captions are parsed without them. A variation selector,
    skin tone or keycap mark goes with the symbol before it; a mark after a letter is part of the letter ("café"
    spelt with a combining accent). ASCII symbols ("+", "#") and currency signs stay: the tagger was trained on
    them, and "$5" reads as a word. Text without symbols comes back unchanged.

    Examples: "A man 😀 runs" -> "A man runs", "man😀runs" -> "man runs", "a sign❤️." -> "a sign.".
    """
    if text.isascii():
        return text
    out: list[str] = []
    in_symbol = False  # the characters just read were a symbol run
    for char in text:
        if _is_symbol(char, loose_mark=in_symbol or not out or out[-1].isspace()):
            in_symbol = True
            continue
        if in_symbol and char.isspace() and (not out or out[-1].isspace()):
            continue  # "a ❤️ sign", "😀 A man": the run goes with one of the spaces around it
        if in_symbol and char.isalnum() and out and not out[-1].isspace():
            out.append(" ")  # "man😀runs": the run kept two words apart
        in_symbol = False
        out.append(char)
    return "".join(out)


def _is_symbol(char: str, loose_mark: bool) -> bool:
    """Whether ``char`` belongs to a non-ASCII symbol: is one (emoji, "©", a zero-width joiner), or is a mark with no
    letter to attach to (``loose_mark``: it follows a symbol, a space or nothing), such as a variation selector."""
    category = unicodedata.category(char)
    if category[0] == "M":
        return loose_mark
    return category[0] in "SC" and category != "Sc" and not char.isascii() and not char.isspace()


DETERMINERS = frozenset(
    "a an the this that these those his her their its my our your some any two three four five six several many "
    "one another other each every both".split()
)
# everything that ends the head of a short annotated noun phrase: prepositions (one word), relative words and
# the participles annotators write most
POST_MODIFIERS = frozenset(
    "in on at with of near by from under behind beside for to into onto inside outside who that which wearing "
    "holding carrying dressed whose whom where named called like without about w/".split()
) | {prep for prep in LOC_PREPS | DIR_PREPS | TMP_PREPS if " " not in prep}
# words that make a preposition with the one after them ("next to the car", "close to the door")
PREPOSITION_PARTS = frozenset("next close away ahead out".split())
# -ing/-ed nouns, which stay heads after a noun ("office building", "wedding ring")
PARTICIPLE_LIKE_NOUNS = frozenset(
    "building ceiling clothing painting wedding evening morning sibling pudding stocking earring railing icing "
    "frosting bedding lightning awning offspring duckling dumpling sapling herring something nothing anything "
    "everything darling viking stuffing topping lining housing setting landing opening beginning ending being "
    "hundred".split()
)
# word lists whose words are adjectives: an -ing/-ed word after one is an adjective too ("good looking man")
ADJECTIVE_LISTS = ("color", "size", "state")
CONJUNCTIONS = frozenset({"and", "or", "nor", "&"})
OWNER_MARK = "'s"  # head_words writes an owner as "man's" or "boys's" ("the boys' ball")


def phrase_head(phrase: str) -> str:
    """The head word of a short annotated noun phrase without parsing it ("man in wetsuit" -> "man").

    The head of an English noun phrase is the last word before its first post-modifier (a preposition, a
    relative pronoun or a participle: "man *sitting* on the couch"); determiners, numbers and an owner before
    the head ("man's hand" -> "hand") are never heads, and a leading preposition belongs to the role, not to
    the phrase ("next to the car" -> "car"). An owner alone is the head: "the man's" -> "man".
    """
    words = head_words(phrase)
    content = [w for i, w in enumerate(words) if _is_content_word(w) and not (is_owner(w) and i < len(words) - 1)]
    head = content[-1] if content else (words[-1] if words else "")
    return owner_name(head)


def head_words(phrase: str) -> list[str]:
    """The words of a noun phrase up to its head, lower case and without punctuation (see :func:`phrase_head`).

    Possessives are written with :data:`OWNER_MARK` ("the boys' ball" -> the, boys's, ball).
    """
    words = phrase_words(phrase)
    kept: list[str] = []
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else None
        if _starts_post_modifier(word, following, kept):
            if kept:
                break
            continue  # a leading preposition ("*next to* the car") introduces the phrase
        kept.append(word)
    return kept or words[:1]  # a phrase that is all preposition ("outside") is its own head


def phrase_words(phrase: str) -> list[str]:
    """The words of a phrase, lower case, without punctuation; a possessive ends in :data:`OWNER_MARK`."""
    words = []
    for raw in phrase.lower().replace("\u2019", "'").split():
        word = raw.strip(".,;:!?\"()#")
        owner = word.endswith((OWNER_MARK, "s'"))
        word = word.strip("'")
        if owner and not word.endswith(OWNER_MARK):
            word += OWNER_MARK  # "boys'" -> "boys's", so every owner ends alike
        if word:
            words.append(word)
    return words


def _starts_post_modifier(word: str, following: str | None, kept: list[str]) -> bool:
    if word in POST_MODIFIERS or (word in PREPOSITION_PARTS and following in POST_MODIFIERS):
        return True
    # a participle modifies the noun before it; after a determiner or an adjective it is an adjective itself
    # ("the crying woman", "large dining table")
    before = kept[-1] if kept else None
    return (before is not None and _is_content_word(before) and not is_owner(before) and not is_adjective(before)
            and is_participle(word, following))


def is_participle(word: str, following: str | None = None) -> bool:
    """Whether a word after a noun is a participle ("man *sitting*", "man *tied* to a chair"), by its ending.

    An -ed word before another noun is a modifier ("red *haired* woman"), so ``following`` must be nothing, a
    preposition or a determiner; -ing and -ed words need a vowel before the ending ("ring", "bed" are nouns).
    """
    if word in PARTICIPLE_LIKE_NOUNS:
        return False
    if word.endswith("ing"):
        return _has_vowel(word[:-3])
    if word.endswith("ed") and not word.endswith("eed"):  # seed, speed, breed
        return _has_vowel(word[:-2]) and (following is None or following in POST_MODIFIERS or following in DETERMINERS)
    return False


def is_adjective(word: str) -> bool:
    """Whether a word is in one of the shipped adjective lists (colours, sizes, states: "black", "old")."""
    return any(word in _one_word_entries(category) for category in ADJECTIVE_LISTS)


def is_owner(word: str) -> bool:
    """Whether a word of :func:`head_words` is a possessive ("man's")."""
    return word.endswith(OWNER_MARK) and len(word) > len(OWNER_MARK)


def owner_name(word: str) -> str:
    """The owner a possessive names ("man's" -> "man", "boys's" -> "boys"); other words unchanged."""
    return word[: -len(OWNER_MARK)] if is_owner(word) else word


def _is_content_word(word: str) -> bool:
    return word not in DETERMINERS and word not in CONJUNCTIONS and any(char.isalpha() for char in word)


def _has_vowel(stem: str) -> bool:
    return any(char in "aeiouy" for char in stem)
