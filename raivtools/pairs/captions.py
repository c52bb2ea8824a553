"""Captions realised from semantic roles, for video-text (AARO-style) records.

``{"verb": "cut", "roles": {"ARG0": "woman in red dress", "ARG1": "loaf of bread", "ARG2": "knife",
"ARGM-MNR": "carefully", "ARGM-LOC": "kitchen"}}`` -> "A woman in red dress is carefully cutting a loaf of bread
in the kitchen."

The subject is ARG0 (or, for verbs whose only participant is ARG1 such as VidSitu's "dive (to drop)", ARG1);
the object is the entity role; a manner adverb goes before the verb, a direction after the object, and the
place last with its preposition ("in the kitchen", "on the beach").
"""

from __future__ import annotations

from typing import Any

from raivtools.pairs.items import entity_role, noun_phrase_text, normalise_phrase, place_phrase, verb_text
from raivtools.text.english import gerund, is_plural
from raivtools.text.srl import phrase_head


def caption_from_frame(frame: dict[str, Any]) -> str:
    """One sentence for one frame (see module docstring)."""
    roles = {k: str(v).strip() for k, v in frame.get("roles", {}).items() if isinstance(v, str) and v.strip()}
    preps = frame.get("preps") or {}
    entity_name = entity_role(roles)
    if "ARG0" in roles:
        subject_role, object_role = "ARG0", entity_name
    elif entity_name:
        subject_role, object_role = entity_name, None
    else:
        subject_role, object_role = None, None
    subject = noun_phrase_text(normalise_phrase(roles[subject_role])) if subject_role else "someone"
    be = "are" if subject_role and is_plural(phrase_head(normalise_phrase(roles[subject_role]))) else "is"
    words = [subject, be]
    manner = roles.get("ARGM-MNR")
    if manner and len(manner.split()) == 1:
        words.append(manner.lower())
    words.append(gerund(verb_text(frame)))
    if object_role:
        words.append(noun_phrase_text(normalise_phrase(roles[object_role])))
    if "ARG2" in roles and preps.get("ARG2"):
        words.append(f"{preps['ARG2']} {noun_phrase_text(normalise_phrase(roles['ARG2']))}")
    direction = roles.get("ARGM-DIR")
    if direction:
        words.append(f"{preps['ARGM-DIR']} {normalise_phrase(direction)}" if preps.get("ARGM-DIR") else direction.lower())
    if manner and len(manner.split()) > 1:
        words.append(manner.lower())
    if "ARGM-LOC" in roles:
        words.append(place_phrase(normalise_phrase(roles["ARGM-LOC"]), preps.get("ARGM-LOC")))
    sentence = " ".join(words)
    return sentence[:1].upper() + sentence[1:] + "."


def caption_for(record: dict[str, Any]) -> str | None:
    """The record's caption: its own if it has one, else one realised from its first non-negated frame."""
    if isinstance(record.get("caption"), str) and record["caption"].strip():
        return record["caption"]
    frames = [f for f in record.get("srl") or [] if not f.get("negated")]
    return caption_from_frame(frames[0]) if frames else None


def video_text_record(record: dict[str, Any], split: str) -> dict[str, Any]:
    """A video-caption (or image-caption) record: every field of the media record, ``caption`` and ``split``."""
    out = dict(record)
    out["caption"] = caption_for(record)
    out["split"] = split
    return out
