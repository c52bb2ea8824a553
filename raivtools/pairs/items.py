"""Media items and the facts that templates talk about, in a compact columnar table.

A *fact* is one thing a statement can claim about an item, in one of four families:

- ``object``: an object is present ("bread");
- ``action``: someone does a verb ("cut");
- ``action_entity``: an agent does a verb to an entity ("a man" / "cut" / "bread");
- ``action_location``: a verb happens at a place ("dive" / "in the lake").

Truth is decided conservatively, because the annotations only say what *is* there:

- a fact is *present* in an item when at least half of the item's annotations state it (one annotation for
  captions, imSitu and VidSitu train; three or more for VidSitu valid);
- a fact is *absent* only when no record of the item's visual group (the same video segment, video or image)
  mentions it in any annotation; a verb with an unknown entity or place never makes an action+entity or
  action+location fact absent; an object is not absent where an object with its head noun is mentioned ("coffee
  mug" and "mug" from sources that name objects differently, "tennis ball" and "golf ball"), nor where any role
  phrase has the word ("man in *wetsuit*");
- anything in between is *unknown* and is never used for a True or a False statement.

Strings are interned to ints and items are stored as parallel lists, so a million records fit in memory.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from raivtools.io.errors import InputError
from raivtools.text.english import PRONOUNS, is_mass_noun, is_plural, singular, with_article
from raivtools.text.srl import DETERMINERS, phrase_head

FAMILIES = ("object", "action", "action_entity", "action_location")
_WORD = re.compile(r"[^\W\d_]+")
IMAGE, VIDEO = 0, 1
KIND_NAMES = ("image", "video")
ARTICLES = ("a", "an", "the")
# imSitu and similar role names that are not the entity acted on
NON_ENTITY_ROLES = frozenset({"tool", "place", "agent", "coagent", "source", "destination", "instrument"})
DEFAULT_STOP_OBJECTS = ("person", "people", "sky", "someone", "something", "thing", "object", "scene", "image",
                        "picture", "photo", "video", "view", "camera")
# places take "on" or "at" rather than "in" ("on the beach", "at the desk")
ON_PLACES = frozenset(
    "beach street road grass stage sidewalk court floor ground bed couch bench table track dock boat bike "
    "bicycle horse hill mountain snow ice lawn roof sand shore deck platform bridge path trail ramp runway "
    "slope wave sofa chair skateboard surfboard board train bus highway pier".split()
)
LOCATIVE_PREPS = frozenset("in on at near under inside beside by behind above below into onto".split())
AT_PLACES = frozenset("desk counter bar station airport party concert wedding door window zoo lake river pond".split())


class Vocabulary:
    """Interns strings (or tuples) to consecutive ints, in first-seen order."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.values: list[Any] = []

    def add(self, value: Any) -> int:
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.values)
            self.values.append(value)
        return found

    def alias(self, value: Any, found: int) -> None:
        """Makes ``value`` a second name of id ``found``, unless it names one already (``len`` is unchanged)."""
        self.ids.setdefault(value, found)

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class ItemTable:
    """Every usable media record, column by column (index ``i`` is item ``i``)."""

    refs: list[dict[str, Any]] = field(default_factory=list)  # the media reference written into pairs
    kinds: list[int] = field(default_factory=list)  # IMAGE or VIDEO
    groups: list[int] = field(default_factory=list)  # visual-item id (segment / video / image) for leakage
    given_splits: list[str | None] = field(default_factory=list)  # the record's own split, if any
    splits: list[str] = field(default_factory=list)  # the split the item ends up in
    # (group, its record's split, the split used) of records that gave their visual item another split than an
    # earlier record of it did: the item goes whole into the first one, so that it is never in two splits
    moved_splits: list[tuple[str, str, str]] = field(default_factory=list)
    records: list[dict[str, Any]] | None = None  # whole records, kept only when a caller needs them
    present: dict[str, list[tuple[int, ...]]] = field(default_factory=lambda: {f: [] for f in FAMILIES})
    group_keys: Vocabulary = field(default_factory=Vocabulary)  # group name -> id
    # per group id, the ints that make a fact not-absent (see :func:`is_absent`)
    mentioned: dict[str, list[set[int]]] = field(default_factory=lambda: {f: [] for f in FAMILIES})
    facts: dict[str, Vocabulary] = field(default_factory=lambda: {f: Vocabulary() for f in FAMILIES})
    words: Vocabulary = field(default_factory=Vocabulary)  # verbs, heads: the parts facts are made of
    skipped: Counter = field(default_factory=Counter)  # reason -> records left out

    def __len__(self) -> int:
        return len(self.refs)


def normalise_phrase(phrase: str) -> str:
    """Lower-case, single-spaced, without a leading article ("The old man" -> "old man")."""
    words = phrase.strip().rstrip(".").lower().split()
    if words and words[0] in ARTICLES:
        words = words[1:]
    return " ".join(words)


@lru_cache(maxsize=None)
def head_of(phrase: str) -> str:
    return singular(phrase_head(phrase))


def noun_phrase_text(phrase: str, definite: bool = False) -> str:
    """A normalised phrase as it reads in a sentence: "man in wetsuit" -> "a man in wetsuit", "bread" -> "bread"."""
    head = phrase_head(phrase)
    first = phrase.split(" ", 1)[0].lower()
    if first in DETERMINERS:
        return phrase
    if head in PRONOUNS or head in ("someone", "somebody", "everyone", "people"):
        return phrase
    if definite:
        return f"the {phrase}"
    if is_plural(head) or is_mass_noun(head):
        return phrase
    return with_article(phrase)


def place_phrase(phrase: str, prep: str | None) -> str:
    """A location as a prepositional phrase: ("lake", None) -> "at the lake", ("beach", None) -> "on the beach"."""
    first, _, rest = phrase.partition(" ")
    if first in LOCATIVE_PREPS and rest:  # sources that keep the preposition in the role ("on the ice")
        prep, phrase = prep or first, normalise_phrase(rest)
    head = head_of(phrase)
    if not prep:
        prep = "on" if head in ON_PLACES else "at" if head in AT_PLACES else "in"
    return f"{prep} {noun_phrase_text(phrase, definite=True)}"


def verb_text(frame: dict[str, Any]) -> str:
    particle = frame.get("particle")
    verb = str(frame["verb"]).strip().lower()
    return f"{verb} {particle}" if particle and not verb.endswith(f" {particle}") else verb


def entity_role(roles: dict[str, str]) -> str | None:
    """ARG1, or for role sets without one (imSitu) the first role that names what the action is done to."""
    if "ARG1" in roles:
        return "ARG1"
    for name in roles:
        if not name.startswith("ARG") and name.lower() not in NON_ENTITY_ROLES:
            return name
    return None


@dataclass
class TableConfig:
    """How records become items."""

    kinds: tuple[int, ...] = (IMAGE, VIDEO)  # media kinds to keep
    stop_objects: frozenset[str] = frozenset(DEFAULT_STOP_OBJECTS)  # objects never used in statements
    keep_records: bool = False  # keep whole records (video-text output needs them)


def _check_srl(record: dict[str, Any], where: str) -> list[dict[str, Any]]:
    srl = record.get("srl")
    if not isinstance(srl, list):
        raise InputError(f"{where}: record {record.get('id')!r}: 'srl' must be a list of frames")
    for frame in srl:
        if not isinstance(frame, dict) or not isinstance(frame.get("verb"), str) or not isinstance(frame.get("roles"), dict):
            raise InputError(f"{where}: record {record.get('id')!r}: each srl frame needs a 'verb' string and a 'roles' object")
    objects = record.get("objects")
    if not isinstance(objects, list) or not all(isinstance(o, str) for o in objects):
        raise InputError(f"{where}: record {record.get('id')!r}: 'objects' must be a list of strings")
    return srl


def media_ref(record: dict[str, Any], kind: int) -> dict[str, Any]:
    ref: dict[str, Any] = {"id": record["id"], KIND_NAMES[kind]: record[KIND_NAMES[kind]]}
    for key in ("start", "end"):
        if record.get(key) is not None:
            ref[key] = record[key]
    return ref


def visual_names(record: dict[str, Any], kind: int) -> list[str]:
    """The names the visual item a record shows goes by: its media path, then its video segment if it names one
    (the group takes the segment's name: clips of one video share it)."""
    names = [f"{KIND_NAMES[kind]}:{record[KIND_NAMES[kind]]}"]
    if record.get("segment"):
        names.append(f"segment:{record['segment']}")
    return names


def build_table(located: Iterable[tuple[str, int, dict[str, Any]]], config: TableConfig) -> ItemTable:
    """Reads SRL records into an :class:`ItemTable`.

    Records of a media kind not in ``config.kinds`` and records with ``status: error`` are counted in
    ``table.skipped`` (and reported), never silently dropped.

    Raises:
        InputError: a record lacks ``id``, a media path, ``srl`` or ``objects``, or they are malformed.
    """
    from raivtools.io.records import record_id, require_fields

    table = ItemTable(records=[] if config.keep_records else None)
    pending_mentions: list[dict[str, set]] = []
    media_of_id: dict[str, tuple[str, str]] = {}
    for where_file, line, record in located:
        where = f"{where_file}:{line}"
        require_fields(record, ["id", "video|image", "srl", "objects"], where)
        record_id(record, where)  # a null or empty id would become every store's key "None"
        srl = _check_srl(record, where)
        kind = VIDEO if record.get("video") else IMAGE
        media = record.get(KIND_NAMES[kind])
        if not isinstance(media, str) or not media.strip():
            raise InputError(f"{where}: record {record['id']!r}: 'video' or 'image' must be a media path, got {media!r}")
        _check_same_media(record, where, media_of_id)
        if record.get("status") == "error":
            table.skipped["status error"] += 1
            continue
        if kind not in config.kinds:
            table.skipped[f"{KIND_NAMES[kind]} records (not used by this --kind)"] += 1
            continue
        group = _group_of(table.group_keys, record, kind)
        if group == len(pending_mentions):
            pending_mentions.append({f: set() for f in FAMILIES})
        _add_item(table, record, kind, group, srl, config, pending_mentions[group])
    for family in FAMILIES:
        table.mentioned[family] = [mentions[family] for mentions in pending_mentions]
    return table


def _group_of(group_keys: Vocabulary, record: dict[str, Any], kind: int) -> int:
    """The record's visual group id: records that show one media file or name one segment share it.

    A clip named with its segment in one source and without in another (a VidSitu event and a caption record of
    the same clip) is one visual item: as two groups it could be split apart, paired with itself, and be called
    without an object that the other record mentions.
    """
    names = visual_names(record, kind)
    group = group_keys.ids.get(names[0])
    if group is None:
        group = group_keys.add(names[-1])
    for name in names:
        group_keys.alias(name, group)
    return group


def _check_same_media(record: dict[str, Any], where: str, media_of_id: dict[str, tuple[str, str]]) -> None:
    """An id names one media item in every store: two records may share it only if they show the same media."""
    media = str(record.get("video") or record.get("image"))
    first = media_of_id.setdefault(str(record["id"]), (media, where))
    if first[0] != media:
        raise InputError(f"{where}: id {record['id']!r} also names {first[0]!r} ({first[1]}), not {media!r}: "
                         "ids are store keys and must name one media item")


def _add_item(table: ItemTable, record: dict[str, Any], kind: int, group: int, srl: list[dict[str, Any]],
              config: TableConfig, mentions: dict[str, set]) -> None:
    words, facts = table.words, table.facts
    stop = config.stop_objects
    objects = [o.strip().lower() for o in record["objects"] if o.strip() and o.strip().lower() not in stop]
    present_objects = tuple(dict.fromkeys(facts["object"].add(o) for o in objects))
    for obj in record.get("objects_mentioned") or record["objects"]:
        name = obj.strip().lower()
        mentions["object"].add(facts["object"].add(name))
        mentions["object"].add(_head_mention(words.add(head_of(name))))
    _mention_role_words(srl, words, mentions)
    annotations = max(1, len({frame.get("annotation", 0) for frame in srl}))
    counts: dict[str, Counter] = {f: Counter() for f in FAMILIES[1:]}
    for frame in srl:
        stated = _frame_facts(frame, words, facts, mentions)
        for family, fact_ids in stated.items():
            counts[family].update(set(fact_ids))  # once per annotation
    table.refs.append(media_ref(record, kind))
    table.kinds.append(kind)
    table.groups.append(group)
    split = record.get("split")
    table.given_splits.append(str(split) if split else None)
    table.present["object"].append(present_objects)
    for family in FAMILIES[1:]:
        table.present[family].append(tuple(f for f, n in counts[family].items() if 2 * n >= annotations))
    if table.records is not None:
        table.records.append(record)


def _mention_role_words(srl: list[dict[str, Any]], words: Vocabulary, mentions: dict[str, set]) -> None:
    """Every word of the role phrases mentions an object by that head: a noun inside a phrase ("man in *wetsuit*",
    "cup of *coffee*") is no object of the record's own, but it is seen, so it must never be called absent."""
    for frame in srl:
        for value in frame["roles"].values():
            if isinstance(value, str):
                for word in _WORD.findall(value.lower()):
                    mentions["object"].add(_head_mention(words.add(singular(word))))


def _frame_facts(frame: dict[str, Any], words: Vocabulary, facts: dict[str, Vocabulary],
                 mentions: dict[str, set]) -> dict[str, list[int]]:
    """The facts one frame states (``{family: [fact id]}``) and what it mentions, for absence checks."""
    verb = verb_text(frame)
    verb_id = words.add(verb)
    roles = {name: str(value) for name, value in frame["roles"].items() if isinstance(value, str) and value.strip()}
    mentions["action"].add(verb_id)
    entity_name = entity_role(roles)
    entity = normalise_phrase(roles[entity_name]) if entity_name else ""
    entity_head = words.add(head_of(entity)) if entity else -1
    mentions["action_entity"].add(_pack(verb_id, entity_head))
    location = normalise_phrase(roles.get("ARGM-LOC", ""))
    location_head = words.add(head_of(location)) if location else -1
    mentions["action_location"].add(_pack(verb_id, location_head))
    if frame.get("negated"):
        return {}  # a negated action is mentioned (so never "absent") but not shown
    stated: dict[str, list[int]] = {"action": [facts["action"].add(verb)]}
    agent = normalise_phrase(roles.get("ARG0", ""))
    if agent and entity and phrase_head(agent) not in PRONOUNS and phrase_head(entity) not in PRONOUNS:
        stated["action_entity"] = [facts["action_entity"].add((verb, agent, entity, entity_head))]
    if location and phrase_head(location) not in PRONOUNS:
        # keyed by the words the statement says: imSitu's "beach", a caption's "beach" with "on" and a role that
        # keeps its preposition ("on the beach") are one fact, not three that are each unknown in the others'
        # items and each made into the same val/test statement
        prep = (frame.get("preps") or {}).get("ARGM-LOC")
        first, _, rest = location.partition(" ")
        if first in LOCATIVE_PREPS and rest:
            prep, location = prep or first, normalise_phrase(rest)
        if prep and place_phrase(location, prep) == place_phrase(location, None):
            prep = None
        stated["action_location"] = [facts["action_location"].add((verb, location, location_head, prep))]
    return stated


def _pack(verb_id: int, head_id: int) -> int:
    return verb_id * (1 << 32) + head_id + 1


def _head_mention(head_id: int) -> int:
    """An object mention by head noun, kept in the same set as the object fact ids (which are >= 0)."""
    return -1 - head_id


def is_absent(table: ItemTable, item: int, family: str, fact_id: int) -> bool:
    """Whether nothing in the item's visual group mentions the fact (see module docstring)."""
    mentioned = table.mentioned[family][table.groups[item]]
    fact = table.facts[family].values[fact_id]
    if family == "object" or family == "action":
        if family == "action":
            return table.words.ids.get(fact, -2) not in mentioned
        head_id = table.words.ids.get(head_of(fact))
        return fact_id not in mentioned and (head_id is None or _head_mention(head_id) not in mentioned)
    verb_id = table.words.ids[fact[0]]
    head_id = fact[3] if family == "action_entity" else fact[2]
    # the same verb with the same head, or with an unknown one, leaves the fact possibly true
    return _pack(verb_id, head_id) not in mentioned and _pack(verb_id, -1) not in mentioned


def iter_items(table: ItemTable, split: str | None = None) -> Iterator[int]:
    for i in range(len(table)):
        if split is None or table.splits[i] == split:
            yield i
