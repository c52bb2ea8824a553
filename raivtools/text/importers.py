"""Readers for native visual semantic-role annotation files: VidSitu and imSitu, into SRL records.

VidSitu (``vsann_{train,valid}_lb.json``, a JSON list; each element is one annotation of a 10-second segment
with events ``Ev1``..``Ev5``): one record per event, covering the event's 2-second window of the segment clip::

    {"id": "v_M3u94uEBq9o_seg_80_90_ev1", "video": "<root>/v_M3u94uEBq9o_seg_80_90.mp4", "start": 0.0, "end": 2.0,
     "segment": "v_M3u94uEBq9o_seg_80_90", "youtube_id": "M3u94uEBq9o", "segment_start": 80, "segment_end": 90,
     "event": "Ev1", "annotations": 1,
     "srl": [{"verb": "dive", "sense": "dive.02", "roles": {"ARG1": "man in wetsuit", "ARGM-DIR": "downward",
              "ARGM-LOC": "lake"}, "annotation": 0, "ev_rel": "Causes", "role_desc": {"ARG1": "thing falling"}}],
     "objects": ["man", "lake"]}

A segment annotated several times (the valid split has three or more annotations per segment) gives one record
per event whose ``srl`` holds one frame per annotation (``annotation`` numbers them); ``objects`` then lists the
objects that at least half of the annotations name, and ``objects_mentioned`` every object any annotation names.
Objects are the heads of the role phrases (:func:`objects_of`): both nouns of "man and woman", the owner too in
"man's hand", what a quantity counts ("one of the men"), none for a pronoun ("he", "each other").

imSitu (``train.json``/``dev.json``/``test.json`` plus ``imsitu_space.json``): one record per image; each role
is the majority noun of the three annotator frames, realised with its first gloss; ``agent`` becomes ARG0 and
``place`` ARGM-LOC, other roles keep their imSitu names, in the verb's role order::

    {"id": "clinging_250", "image": "<root>/clinging_250.jpg", "imsitu_verb": "clinging",
     "srl": [{"verb": "cling", "sense": null, "roles": {"ARG0": "lion", "clungto": "rock"}}],
     "objects": ["lion", "rock"]}

Anything unexpected (a missing key, an unknown role, a noun id absent from the space file) raises
:class:`InputError` naming the file and the record: nothing is dropped silently.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from raivtools.io.errors import InputError
from raivtools.io.records import read_json_file, source_name
from raivtools.schema import SPLIT_NAMES, srl_frame
from raivtools.text.english import PRONOUNS, QUANTITY_NOUNS, singular, third_person
from raivtools.text.srl import (
    DETERMINERS,
    LOC_ADVERBS,
    NEGATIVE_PRONOUNS,
    POST_MODIFIERS,
    RELATIONAL_NOUNS,
    SIDE_NOUNS,
    head_words,
    is_adjective,
    is_owner,
    is_participle,
    owner_name,
    phrase_head,
    phrase_words,
)

VIDSITU_EVENTS = ("Ev1", "Ev2", "Ev3", "Ev4", "Ev5")
VIDSITU_EVENT_SECONDS = 2.0
VIDSITU_EVENT_KEYS = frozenset({"vid_uid", "vid_seg_int", "EvRel", "Args", "Arg_List", "Verb", "VerbID"})
VIDSITU_REQUIRED_KEYS = ("vid_seg_int", "Args", "Verb", "VerbID")
VIDSITU_EV_RELS = frozenset({"Causes", "Reaction To", "Enables", "NoRel"})
#: the bracket word of a VidSitu ``ArgM (...)`` key -> PropBank modifier
VIDSITU_ARGM = {
    "location": "ARGM-LOC", "direction": "ARGM-DIR", "manner": "ARGM-MNR", "purpose": "ARGM-PRP",
    "goal": "ARGM-GOL", "temporal": "ARGM-TMP", "time": "ARGM-TMP", "cause": "ARGM-CAU", "extent": "ARGM-EXT",
    "adverbial": "ARGM-ADV",
}
VIDSITU_SCENE_KEY = "Scene of the Event"
_CORE_ROLE_KEY = re.compile(r"^Arg([0-5]) \((.*)\)$")
_ARGM_KEY = re.compile(r"^ArgM \((.*)\)$")
_SEGMENT_NAME = re.compile(r"^(.+)_seg_(\d+)_(\d+)$")
#: roles whose values are things one can see (they give ``objects``); modifiers such as manner are not
OBJECT_ROLES = ("ARG0", "ARG1", "ARG2", "ARG3", "ARG4", "ARG5", "ARGM-LOC")

#: heads that name no object: pronouns (personal, indefinite, reciprocal "each other", possessive), determiners
#: standing alone ("the other"), a side ("the left") and place adverbs ("outside")
NO_OBJECT_WORDS = PRONOUNS | NEGATIVE_PRONOUNS | DETERMINERS | SIDE_NOUNS | LOC_ADVERBS | frozenset(
    "someone somebody anyone anybody everyone everybody something anything everything others hers mine yours "
    "theirs ours".split()
)
#: heads that stand for what follows "of": quantities ("group of men"), partitives ("one of the men", "all of
#: them") and parts of a thing ("the side of the road")
COUNTING_WORDS = QUANTITY_NOUNS | DETERMINERS | RELATIONAL_NOUNS | frozenset("all most half rest majority".split())
# ", " / " and " / " & " / " as well as " between two noun phrases (the separator is kept, to rejoin adjectives)
_COORDINATOR = re.compile(r"(\s*,\s*(?:and\s+)?|\s+(?:and|&|as well as)\s+)", re.IGNORECASE)

IMSITU_ROLE_NAMES = {"agent": "ARG0", "place": "ARGM-LOC"}
IMSITU_RECORD_KEYS = frozenset({"verb", "frames"})


def split_from_filename(path: str) -> str:
    """``train``/``val``/``test`` from a native file name (vsann_valid_lb.json -> val, dev.json -> val)."""
    stem = os.path.basename(path).lower()
    for word in re.split(r"[^a-z]+", stem):
        if word in SPLIT_NAMES:
            return SPLIT_NAMES[word]
    raise InputError(f"{path}: --split auto cannot tell the split from the file name; pass --split train|val|test")


# --- VidSitu -----------------------------------------------------------------------------------------------


def parse_segment_name(name: str) -> tuple[str, int, int]:
    """``v_{youtube_id}_seg_{start}_{end}`` -> (youtube_id, start, end); ids may contain underscores."""
    if not name.startswith("v_"):
        raise ValueError(f"segment name {name!r} does not start with 'v_'")
    match = _SEGMENT_NAME.match(name.split("v_", 1)[1])
    if match is None:
        raise ValueError(f"segment name {name!r} is not v_<youtube id>_seg_<start>_<end>")
    return match.group(1), int(match.group(2)), int(match.group(3))


def vidsitu_role(key: str) -> tuple[str, str | None]:
    """A VidSitu role key -> (role name, PropBank description or None).

    Raises:
        ValueError: the key is none of ``ArgN (...)``, ``ArgM (<known word>)``, ``Scene of the Event``.
    """
    if key == VIDSITU_SCENE_KEY:
        return "ARGM-LOC", None
    core = _CORE_ROLE_KEY.match(key)
    if core:
        return f"ARG{core.group(1)}", core.group(2) or None
    modifier = _ARGM_KEY.match(key)
    if modifier and modifier.group(1).strip().lower() in VIDSITU_ARGM:
        return VIDSITU_ARGM[modifier.group(1).strip().lower()], None
    known = ", ".join(sorted(VIDSITU_ARGM))
    raise ValueError(f"unknown role key {key!r} (expected 'ArgN (...)', 'ArgM (<{known}>)' or {VIDSITU_SCENE_KEY!r})")


def object_of(phrase: str) -> str:
    """The object a role phrase is about: its head word, singular ("two men in suits" -> "man"), for a quantity
    the thing counted ("group of men" -> "man"), for a possessive the thing owned ("man's hand" -> "hand");
    "" for a pronoun ("he", "each other"), which names no object. :func:`objects_of` gives them all."""
    objects = objects_of(phrase)
    return objects[0] if objects else ""


def objects_of(phrase: str) -> list[str]:
    """Every object a role phrase names: the head of each coordinated noun phrase, each followed by its owner.

    "man and woman" -> [man, woman]; "black and white dog" -> [dog]; "the man's hand" -> [hand, man];
    "one of the men" -> [man]; "man sitting on the couch" -> [man]; "someone" -> [].

    Args:
        phrase: a free-text role phrase as annotated ("man in wetsuit").

    Returns:
        The objects, singular and lower case, without repeats, in the order above; empty for a pronoun.
    """
    found = [obj for part in conjuncts(phrase) for obj in _conjunct_objects(part)]
    return list(dict.fromkeys(obj for obj in found if obj))


def conjuncts(phrase: str) -> list[str]:
    """The coordinated noun phrases of a phrase ("man, woman and child" -> man, woman, child).

    An "and" that joins adjectives ("black and white dog") or verbs ("man sitting and talking"), or a comma
    before a modifier ("man, wearing a hat"), joins no noun phrases: the pieces stay one phrase.
    """
    pieces = _COORDINATOR.split(phrase)
    parts = [pieces[0]]
    for separator, piece in zip(pieces[1::2], pieces[2::2]):
        if _continues(parts[-1], piece):
            parts[-1] += separator + piece
        else:
            parts.append(piece)
    return [part for part in parts if part.strip()]


def _continues(previous: str, piece: str) -> bool:
    """Whether ``piece``, after a coordinator, still belongs to the phrase ``previous`` (see :func:`conjuncts`)."""
    before, after = _edge_word(previous, -1), _edge_word(piece, 0)
    if not before or not after:
        return True
    if after in POST_MODIFIERS or (is_participle(after) and phrase_head(piece) == after):
        return True  # "man, wearing a hat"; "man sitting and talking"
    return is_adjective(before) and is_adjective(after)  # "black and white dog", "man in black and white"


def _edge_word(text: str, index: int) -> str:
    words = phrase_words(text)
    return words[index] if words else ""


def _conjunct_objects(phrase: str) -> list[str]:
    """The objects one noun phrase names: its head, then the owners before it ("man's hand" -> hand, man)."""
    head = phrase_head(phrase)
    counted = re.split(r"\bof\b", phrase, maxsplit=1)
    if head in COUNTING_WORDS and len(counted) == 2 and counted[1].strip():
        return objects_of(counted[1])
    owners = [owner_name(word) for word in head_words(phrase)[:-1] if is_owner(word)]
    return [_object_name(word) for word in [head, *owners]]


def _object_name(word: str) -> str:
    """A head word as an object: singular, or "" when it names none (a pronoun, a lone determiner, a number)."""
    if word in NO_OBJECT_WORDS or not any(char.isalpha() for char in word):
        return ""
    return singular(word)


def _vidsitu_frame(event: dict[str, Any], where: str, annotation: int) -> dict[str, Any]:
    unknown = set(event) - VIDSITU_EVENT_KEYS
    if unknown:
        raise InputError(f"{where}: unknown field(s) {sorted(unknown)} (expected {sorted(VIDSITU_EVENT_KEYS)})")
    for key in VIDSITU_REQUIRED_KEYS:
        if key not in event:
            raise InputError(f"{where}: missing field {key!r}")
    verb_text, sense, args = event["Verb"], event["VerbID"], event["Args"]
    if not isinstance(verb_text, str) or not verb_text.strip():
        raise InputError(f"{where}: 'Verb' must be a non-empty string like 'dive (to drop)', got {verb_text!r}")
    if not isinstance(args, dict):
        raise InputError(f"{where}: 'Args' must be an object of role -> phrase, got {type(args).__name__}")
    roles: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for key, value in args.items():
        try:
            role, description = vidsitu_role(key)
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
        if not isinstance(value, str):
            raise InputError(f"{where}: role {key!r} must be a string, got {type(value).__name__}")
        if role in roles:
            raise InputError(f"{where}: two keys map to {role} ({key!r} and an earlier one)")
        if value.strip():
            roles[role] = value.strip()
            if description:
                descriptions[role] = description
    extra: dict[str, Any] = {"annotation": annotation}
    ev_rel = event.get("EvRel")
    if ev_rel is not None:
        if ev_rel not in VIDSITU_EV_RELS:
            raise InputError(f"{where}: unknown EvRel {ev_rel!r} (expected one of {sorted(VIDSITU_EV_RELS)})")
        extra["ev_rel"] = ev_rel
    if descriptions:
        extra["role_desc"] = descriptions
    lemma = verb_text.split(" (", 1)[0].strip()
    return srl_frame(lemma, roles, sense or None, **extra)


def _frame_objects(frame: dict[str, Any]) -> list[str]:
    found = (obj for role in OBJECT_ROLES if role in frame["roles"] for obj in objects_of(frame["roles"][role]))
    return list(dict.fromkeys(found))


def _objects_by_majority(frames: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(objects named by at least half of the annotations, objects named by any), in first-mention order."""
    counts: Counter[str] = Counter()
    for frame in frames:
        counts.update(_frame_objects(frame))
    mentioned = list(counts)
    return [obj for obj in mentioned if 2 * counts[obj] >= len(frames)], mentioned


def read_vidsitu(path: str, video_root: str | None = None, split: str | None = None) -> Iterator[dict[str, Any]]:
    """Yields one SRL record per event of every segment of a ``vsann_*_lb.json`` file (see module docstring).

    Args:
        path: the annotation file.
        video_root: directory of the segment clips; records get ``video: <root>/<segment>.mp4``.
        split: a split to write into every record, ``"auto"`` to read it from the file name, or None.

    Raises:
        InputError: the file is not a VidSitu annotation list, or an element or event is malformed.
    """
    data = read_json_file(path, empty=[])  # empty input, empty output
    path = source_name(path)
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of segment annotations (vsann_*_lb.json), got {type(data).__name__}")
    split = split_from_filename(path) if split == "auto" else split
    segments: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, element in enumerate(data):
        segment = _vidsitu_segment_of(element, f"{path}: annotation #{index}")
        segments.setdefault(segment, []).append((index, element))
    # the whole file is checked before the first record goes out, so a bad file writes nothing
    records = [record for segment, annotations in segments.items()
               for record in _vidsitu_segment_records(path, segment, annotations, video_root, split)]
    yield from records


def _vidsitu_segment_of(element: Any, where: str) -> str:
    if not isinstance(element, dict):
        raise InputError(f"{where}: expected an object with keys Ev1..Ev5, got {type(element).__name__}")
    unknown = set(element) - set(VIDSITU_EVENTS)
    if unknown:
        raise InputError(f"{where}: unknown field(s) {sorted(unknown)} (expected Ev1..Ev5)")
    names = set()
    for event_key in VIDSITU_EVENTS:
        event = element.get(event_key)
        if not isinstance(event, dict):
            raise InputError(f"{where}: missing or malformed event {event_key!r}")
        if not isinstance(event.get("vid_seg_int"), str):
            raise InputError(f"{where} {event_key}: missing field 'vid_seg_int'")
        names.add(event["vid_seg_int"])
    if len(names) != 1:
        raise InputError(f"{where}: events name different segments {sorted(names)}")
    segment = names.pop()
    try:
        parse_segment_name(segment)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    return segment


def _vidsitu_segment_records(path: str, segment: str, annotations: list[tuple[int, dict[str, Any]]],
                             video_root: str | None, split: str | None) -> Iterator[dict[str, Any]]:
    youtube_id, seg_start, seg_end = parse_segment_name(segment)
    video = os.path.join(video_root, f"{segment}.mp4") if video_root else f"{segment}.mp4"
    for number, event_key in enumerate(VIDSITU_EVENTS, start=1):
        frames = [
            _vidsitu_frame(element[event_key], f"{path}: annotation #{index} ({segment}) {event_key}", k)
            for k, (index, element) in enumerate(annotations)
        ]
        objects, mentioned = _objects_by_majority(frames)
        record: dict[str, Any] = {
            "id": f"{segment}_ev{number}",
            "video": video,
            "start": VIDSITU_EVENT_SECONDS * (number - 1),
            "end": VIDSITU_EVENT_SECONDS * number,
            "segment": segment,
            "youtube_id": youtube_id,
            "segment_start": seg_start,
            "segment_end": seg_end,
            "event": event_key,
            "annotations": len(frames),
            "srl": frames,
            "objects": objects,
        }
        if len(frames) > 1:
            record["objects_mentioned"] = mentioned
        if split:
            record["split"] = split
        yield record


# --- imSitu ------------------------------------------------------------------------------------------------


def read_imsitu_space(path: str) -> dict[str, Any]:
    """Reads and checks ``imsitu_space.json`` (``verbs`` and ``nouns``)."""
    space = read_json_file(path)
    if not isinstance(space, dict) or not isinstance(space.get("verbs"), dict) or not isinstance(space.get("nouns"), dict):
        raise InputError(f"{path}: expected imsitu_space.json with 'verbs' and 'nouns' objects")
    return space


def imsitu_lemma(verb: str, abstract: str = "") -> str:
    """The lemma of an imSitu verb, which imSitu names by its -ing form (clinging -> cling, baking -> bake).

    The candidates of undoing -ing (bak, bake; cutt, cut) are checked against the verb's ``abstract``
    ("an AGENT bakes a FOOD"), which uses the third-person form; without a match, spelling rules decide.
    """
    verb = verb.lower()
    if not verb.endswith("ing") or len(verb) <= 4:
        return verb
    stem = verb[:-3]
    # first the likelier of two candidates whose third-person forms are the same word: chase/chas (chases),
    # tie/ty (ties); stems in one s or z kept their e (erase, squeeze), push/pushe do not (pushes)
    candidates = [stem + "e", stem] if stem[-1] in "sz" and stem[-2] != stem[-1] else [stem, stem + "e"]
    if len(stem) > 2 and stem[-1] == stem[-2]:
        candidates.insert(0, stem[:-1])
    if stem.endswith("y"):
        candidates.insert(0 if len(stem) == 2 else len(candidates), stem[:-1] + "ie")
    words = set(re.findall(r"[a-z]+", abstract.lower()))
    for candidate in candidates:
        if third_person(candidate) in words:
            return candidate
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        return stem[:-1]
    if len(stem) == 2 and stem.endswith("y"):
        return stem[0] + "ie"  # dying, lying, tying
    if stem.endswith(("nc", "rc", "dg", "rg")):
        return stem + "e"  # dancing, forcing, judging, charging
    if len(stem) > 1 and stem[-1] not in "aeiouwxy" and stem[-2] in "aeiou" and (len(stem) < 3 or stem[-3] not in "aeiou"):
        # a short vowel before one final consonant usually had an "e" that -ing dropped (bake, ride, skate)
        return stem + "e" if len(re.findall(r"[aeiou]+", stem)) == 1 else stem
    return stem


def majority_value(values: list[str]) -> str:
    """The value most annotators chose; a tie goes to the earliest annotator's choice among the tied."""
    counts = Counter(values)
    best = max(counts.values())
    return next(value for value in values if counts[value] == best)


def _imsitu_record(name: str, entry: Any, space: dict[str, Any], where: str, image_root: str | None) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected an object with 'verb' and 'frames', got {type(entry).__name__}")
    unknown = set(entry) - IMSITU_RECORD_KEYS
    missing = IMSITU_RECORD_KEYS - set(entry)
    if unknown or missing:
        raise InputError(f"{where}: " + (f"missing field(s) {sorted(missing)}" if missing else f"unknown field(s) {sorted(unknown)}"))
    verb, frames = entry["verb"], entry["frames"]
    verb_info = space["verbs"].get(verb)
    if verb_info is None:
        raise InputError(f"{where}: verb {verb!r} is not in the imSitu space file")
    if not isinstance(frames, list) or not frames or not all(isinstance(f, dict) for f in frames):
        raise InputError(f"{where}: 'frames' must be a non-empty list of role -> noun id objects")
    order = list(verb_info.get("order") or verb_info.get("roles") or [])
    for frame in frames:
        extra = set(frame) - set(order)
        if extra:
            raise InputError(f"{where}: unknown role(s) {sorted(extra)} for verb {verb!r} (its roles: {order})")
    roles: dict[str, str] = {}
    for role in order:
        values = [frame.get(role) for frame in frames]
        if any(value is None for value in values):
            raise InputError(f"{where}: a frame lacks role {role!r} of verb {verb!r}")
        chosen = majority_value(values)
        if chosen == "":
            continue
        noun = space["nouns"].get(chosen)
        if not isinstance(noun, dict) or not noun.get("gloss"):
            raise InputError(f"{where}: noun {chosen!r} (role {role!r}) is not in the imSitu space file")
        roles[IMSITU_ROLE_NAMES.get(role, role)] = str(noun["gloss"][0])
    lemma = imsitu_lemma(verb, verb_info.get("abstract", ""))
    # a gloss is a whole WordNet name ("golf ball", "body of water"), so it stays whole; "outdoors" is no object
    objects = list(dict.fromkeys(gloss.lower() for gloss in roles.values() if gloss.lower() not in NO_OBJECT_WORDS))
    return {
        "id": os.path.splitext(name)[0],
        "image": os.path.join(image_root, name) if image_root else name,
        "imsitu_verb": verb,
        "srl": [srl_frame(lemma, roles, None)],
        "objects": objects,
    }


def read_imsitu(path: str, space_path: str, image_root: str | None = None,
                split: str | None = None) -> Iterator[dict[str, Any]]:
    """Yields one SRL record per image of an imSitu split file (see module docstring).

    Raises:
        InputError: the file or the space file is malformed, or an image entry is.
    """
    if not space_path:
        raise InputError("--from imsitu needs --space imsitu_space.json (the verb and noun definitions)")
    space = read_imsitu_space(space_path)
    data = read_json_file(path, empty={})  # empty input, empty output
    path = source_name(path)
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected an object of image name -> annotation, got {type(data).__name__}")
    split = split_from_filename(path) if split == "auto" else split
    records = [_imsitu_record(name, entry, space, f"{path}: image {name!r}", image_root) for name, entry in data.items()]
    for record in records:  # all checked first, so a bad file writes nothing
        if split:
            record["split"] = split
        yield record
