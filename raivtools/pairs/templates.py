"""Statement templates: a family of fact, a claim about the two sides, and a sentence with placeholders.

A template claims one *configuration* of a fact over the pair (left, right): ``both`` (1, 1), ``only_left``
(1, 0), ``only_right`` (0, 1) or ``neither`` (0, 0). It is True for a pair in that configuration and False for
a pair in any of the other three; which is why each False statement also has exactly three candidate reasons
(the other configurations), one of which is the truth.

Placeholders (``{name}``, or ``{Name}`` for a capitalised form):

- everywhere: ``{both}`` (both images / both videos / both the image and the video), ``{left}``, ``{right}``
  (the left image / the image ...), ``{neither}`` (neither image / neither the image nor the video),
  ``{media}`` (image / video / visual input);
- ``object``: ``{obj}`` (bread), ``{a_obj}`` (a knife / bread / scissors), ``{is}`` (is / are);
- ``action``: ``{ving}`` (cutting, picking up), ``{verb}`` (cut);
- ``action_entity``: ``{agent}`` (a man in wetsuit), ``{be}`` (is / are), ``{ving}``, ``{entity}`` (bread);
- ``action_location``: ``{ving}``, ``{loc}`` (in the kitchen, on the beach).

User templates (``--templates FILE``) are a JSON list, or JSONL, of
``{"name": ..., "family": ..., "claim": ..., "text": ...}`` objects, checked like the built-in ones.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from raivtools.io.errors import InputError
from raivtools.text.english import gerund, is_plural
from raivtools.text.srl import phrase_head

CLAIMS = {"both": (1, 1), "only_left": (1, 0), "only_right": (0, 1), "neither": (0, 0)}
CONFIGS = ((1, 1), (1, 0), (0, 1), (0, 0))
COMMON_FIELDS = ("both", "left", "right", "neither", "media", "media_plural")
FAMILY_FIELDS = {
    "object": ("obj", "a_obj", "is"),
    "action": ("ving", "verb"),
    "action_entity": ("agent", "be", "ving", "entity"),
    "action_location": ("ving", "loc", "verb"),
}


@dataclass(frozen=True)
class Template:
    """One statement pattern."""

    name: str  # unique, written into each pair's ``template`` field
    family: str  # which kind of fact it talks about (a key of FAMILY_FIELDS)
    claim: str  # the configuration it claims (a key of CLAIMS)
    text: str  # the sentence, with placeholders
    weight: float = 1.0  # relative chance of being chosen

    @property
    def config(self) -> tuple[int, int]:
        return CLAIMS[self.claim]

    def truth(self, config: tuple[int, int]) -> bool:
        return config == self.config


BUILTIN_TEMPLATES = (
    Template("object-both", "object", "both", "In {both}, {a_obj} {is} present."),
    Template("object-both-there", "object", "both", "There {is} {a_obj} in {both}."),
    Template("object-only-left", "object", "only_left", "{A_obj} {is} present only in {left}."),
    Template("object-only-left-contrast", "object", "only_left", "{Left} contains {a_obj}, but {right} does not."),
    Template("object-only-right", "object", "only_right", "Only {right} shows {a_obj}."),
    Template("object-only-right-contrast", "object", "only_right", "{Right} contains {a_obj}, but {left} does not."),
    Template("object-neither", "object", "neither", "{Neither} shows {a_obj}."),
    Template("action-both", "action", "both", "In {both}, someone is {ving}."),
    Template("action-only-left", "action", "only_left", "Only {left} shows someone {ving}."),
    Template("action-only-right", "action", "only_right", "Someone is {ving} in {right} but not in {left}."),
    Template("action-neither", "action", "neither", "{Neither} shows anyone {ving}."),
    Template("action-entity-both", "action_entity", "both", "In {both}, {agent} {be} {ving} {entity}."),
    Template("action-entity-only-left", "action_entity", "only_left", "Only {left} shows {agent} {ving} {entity}."),
    Template("action-entity-only-right", "action_entity", "only_right", "Only {right} shows {agent} {ving} {entity}."),
    Template("action-entity-neither", "action_entity", "neither", "{Neither} shows {agent} {ving} {entity}."),
    Template("location-both", "action_location", "both", "In {both}, someone is {ving} {loc}."),
    Template("location-only-left", "action_location", "only_left", "Only {left} shows someone {ving} {loc}."),
    Template("location-only-right", "action_location", "only_right", "Only {right} shows someone {ving} {loc}."),
)

#: the reason sentence for each configuration of a fact, per family (the 3-way reasoning choices)
REASONS = {
    "object": {
        (1, 1): "{A_obj} {is} present in {both}.",
        (1, 0): "{A_obj} {is} present in {left} but not in {right}.",
        (0, 1): "{A_obj} {is} present in {right} but not in {left}.",
        (0, 0): "{A_obj} {is} present in {neither}.",
    },
    "action": {
        (1, 1): "Someone is {ving} in {both}.",
        (1, 0): "Someone is {ving} in {left} but not in {right}.",
        (0, 1): "Someone is {ving} in {right} but not in {left}.",
        (0, 0): "Nobody is {ving} in either {media}.",
    },
    "action_entity": {
        (1, 1): "{Agent} {be} {ving} {entity} in {both}.",
        (1, 0): "{Agent} {be} {ving} {entity} in {left} but not in {right}.",
        (0, 1): "{Agent} {be} {ving} {entity} in {right} but not in {left}.",
        (0, 0): "No one is {ving} {entity} in either {media}.",
    },
    "action_location": {
        (1, 1): "Someone is {ving} {loc} in {both}.",
        (1, 0): "Someone is {ving} {loc} in {left} but not in {right}.",
        (0, 1): "Someone is {ving} {loc} in {right} but not in {left}.",
        (0, 0): "Nobody is {ving} {loc} in either {media}.",
    },
}

#: one-visual-input sentences stating a fact (``raiv train --task itm`` matches them against one video)
FACT_SENTENCES = {
    "object": ("There {is} {a_obj}.", "{A_obj} {is} present."),
    "action": ("Someone is {ving}.",),
    "action_entity": ("{Agent} {be} {ving} {entity}.",),
    "action_location": ("Someone is {ving} {loc}.",),
}

#: pair kind -> how its sides are named
SIDE_WORDS = {
    "im-im": {"both": "both images", "left": "the left image", "right": "the right image",
              "neither": "neither image", "media": "image", "media_plural": "images"},
    "vid-vid": {"both": "both videos", "left": "the left video", "right": "the right video",
                "neither": "neither video", "media": "video", "media_plural": "videos"},
    "im-vid": {"both": "both the image and the video", "left": "the image", "right": "the video",
               "neither": "neither the image nor the video", "media": "one", "media_plural": "of them"},
}


def _fields_of(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def check_template(template: Template, where: str) -> None:
    """Raises :class:`InputError` (naming ``where``) for an unknown family or claim or a bad placeholder."""
    if template.family not in FAMILY_FIELDS:
        raise InputError(f"{where}: unknown family {template.family!r} (expected one of {sorted(FAMILY_FIELDS)})")
    if template.claim not in CLAIMS:
        raise InputError(f"{where}: unknown claim {template.claim!r} (expected one of {sorted(CLAIMS)})")
    allowed = set(COMMON_FIELDS) | set(FAMILY_FIELDS[template.family])
    try:
        names = _fields_of(template.text)
    except ValueError as exc:
        raise InputError(f"{where}: template text {template.text!r}: {exc}") from None
    allowed |= {name[:1].upper() + name[1:] for name in allowed}
    for name in names:
        if name not in allowed:
            raise InputError(f"{where}: unknown placeholder {{{name}}} for family {template.family!r} "
                             f"(allowed: {', '.join(sorted(allowed))}, or capitalised)")
    if not template.weight > 0:
        raise InputError(f"{where}: weight must be positive")


def load_templates(path: str) -> list[Template]:
    """Reads user templates from a JSON list or a JSONL file (see module docstring)."""
    from raivtools.io.records import iter_located, read_json_file

    if path.endswith(".jsonl"):
        entries = [(f"{name}:{line}", record) for name, line, record in iter_located([path])]
    else:
        data = read_json_file(path)
        if not isinstance(data, list):
            raise InputError(f"{path}: expected a JSON list of templates (or a .jsonl file)")
        entries = [(f"{path}: template #{i}", entry) for i, entry in enumerate(data)]
    templates = []
    for where, entry in entries:
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected an object with name, family, claim, text")
        missing = [key for key in ("name", "family", "claim", "text") if not isinstance(entry.get(key), str)]
        if missing:
            raise InputError(f"{where}: missing or non-string field(s) {missing}")
        unknown = set(entry) - {"name", "family", "claim", "text", "weight"}
        if unknown:
            raise InputError(f"{where}: unknown field(s) {sorted(unknown)}")
        try:
            weight = float(entry.get("weight", 1.0))
        except (TypeError, ValueError):  # a traceback would not say which file and template
            raise InputError(f"{where}: weight must be a number, got {entry['weight']!r}") from None
        template = Template(entry["name"], entry["family"], entry["claim"], entry["text"], weight)
        check_template(template, where)
        templates.append(template)
    return templates


@lru_cache(maxsize=None)
def _fact_fields(family: str, fact: Any) -> dict[str, str]:
    """Placeholder values of one fact (a value from the table's fact vocabulary of that family)."""
    from raivtools.pairs.items import noun_phrase_text, place_phrase

    if family == "object":
        return {"obj": fact, "a_obj": noun_phrase_text(fact), "is": "are" if is_plural(fact) else "is"}
    if family == "action":
        return {"ving": gerund(fact), "verb": fact}
    if family == "action_entity":
        verb, agent, entity, _ = fact
        return {"agent": noun_phrase_text(agent), "be": "are" if is_plural(phrase_head(agent)) else "is",
                "ving": gerund(verb), "entity": noun_phrase_text(entity)}
    verb, location, _, prep = fact
    return {"ving": gerund(verb), "verb": verb, "loc": place_phrase(location, prep)}


@lru_cache(maxsize=None)
def realise(text: str, kind: str, family: str, fact: Any) -> str:
    """Fills a template (or reason) text for a pair kind and a fact; the first letter is capitalised.

    Cached: a dataset says the same statement about many pairs."""
    values = dict(SIDE_WORDS[kind])
    values.update(_fact_fields(family, fact))
    values.update({key[:1].upper() + key[1:]: value[:1].upper() + value[1:] for key, value in list(values.items())})
    sentence = text.format(**values)
    return sentence[:1].upper() + sentence[1:]


def reason_choices(kind: str, family: str, fact: Any, claimed: tuple[int, int]) -> list[tuple[tuple[int, int], str]]:
    """The three configurations other than the claimed one, each with its reason sentence."""
    return [(config, realise(REASONS[family][config], kind, family, fact)) for config in CONFIGS if config != claimed]
