"""The record schema every command reads and writes (fixed: later tools rely on these names).

Media record::

    {"id": "clip7", "video": "media/clip7.mp4", "start": 2.0, "end": 4.0, "caption": "...", "split": "train"}
    {"id": "img3", "image": "media/img3.png"}

Semantic roles, as every producer of roles writes them::

    "srl": [{"verb": "cut", "sense": "cut.01", "roles": {"ARG0": "a man", "ARG1": "bread", "ARG2": "a knife",
                                                          "ARGM-LOC": "the kitchen"}}],
    "objects": ["man", "bread", "knife", "kitchen"]

Role names are PropBank-style (:data:`CORE_ROLES`, :data:`MODIFIER_ROLES`); roles with no PropBank
counterpart keep their source name.
"""

from __future__ import annotations

from typing import Any

from raivtools.io.errors import InputError

CORE_ROLES = ("ARG0", "ARG1", "ARG2", "ARG3", "ARG4", "ARG5")
MODIFIER_ROLES = ("ARGM-LOC", "ARGM-DIR", "ARGM-MNR", "ARGM-PRP", "ARGM-GOL", "ARGM-TMP")
ROLE_NAMES = CORE_ROLES + MODIFIER_ROLES
MEDIA_FIELDS = ("video", "image")
SPLITS = ("train", "val", "test")
#: split names as datasets spell them (VidSitu valid, imSitu dev, others validation) -> one of :data:`SPLITS`
SPLIT_NAMES = {"train": "train", "valid": "val", "validation": "val", "val": "val", "dev": "val", "test": "test"}


def pair_label(label: Any, where: str, record_id: Any) -> bool:
    """A pair record's ``label``, which must be a JSON boolean: ``"false"`` or 0 would otherwise count as whatever
    ``bool()`` makes of it (``raiv train`` and ``raiv report`` read it alike)."""
    if not isinstance(label, bool):
        raise InputError(f"{where}: record {record_id!r}: label must be true or false, got {shown(label)}")
    return label


def choice_index(reason: dict[str, Any], where: str, record_id: Any) -> int:
    """``reason.answer``, which must index ``reason.choices``: a string would otherwise match no choice
    (``raiv train`` and ``raiv report`` read it alike)."""
    answer = reason.get("answer")
    choices = reason.get("choices")
    count = len(choices) if isinstance(choices, list) else None
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < (count or answer + 1):
        found = shown(answer) if "answer" in reason else "no 'answer'"
        among = "the choices" if count is None else f"the {count} choices"
        raise InputError(f"{where}: record {record_id!r}: reason.answer must index {among}, got {found}")
    return answer


def shown(value: Any) -> str:
    """A found value for a message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def srl_frame(verb: str, roles: dict[str, str], sense: str | None = None, **extra: Any) -> dict[str, Any]:
    """One semantic-role frame in the schema's field order (extra keys such as ``negated`` come last)."""
    frame: dict[str, Any] = {"verb": verb, "sense": sense, "roles": dict(roles)}
    frame.update(extra)
    return frame


def media_kind(record: dict[str, Any]) -> str | None:
    """``"video"``, ``"image"`` or None for a record with neither."""
    for kind in MEDIA_FIELDS:
        if record.get(kind):
            return kind
    return None
