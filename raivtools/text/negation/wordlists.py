"""The rule generator's word lists (NAVERO supplementary Table 8) and the near-synonym groups.

A word-list folder holds one ``<category>.txt`` per category, one entry per line, ``#`` comment lines allowed.
Entries may be phrases ("in front of", "pick up"). ``synonyms.txt`` (optional) holds comma-separated groups of
near-synonyms that must never replace each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from raivtools.io.errors import InputError

#: edit types, in the order the paper's tables list them
TYPES = ("action", "attribute", "relation", "object")

#: word-list category -> edit type (NAVERO Table 1)
CATEGORY_TYPES = {
    "action": "action",
    "color": "attribute",
    "size": "attribute",
    "state": "attribute",
    "material": "attribute",
    "relation": "relation",
    "noun": "object",
}

SYNONYMS_FILE = "synonyms.txt"


@dataclass(frozen=True)
class WordLists:
    """The category lists and near-synonym groups one run uses."""

    categories: dict[str, tuple[str, ...]]  # category name -> entries, as written in the list
    synonyms: dict[str, frozenset[str]] = field(default_factory=dict)  # lower-case word -> its near-synonyms
    source: str = "built-in (NAVERO Table 8)"  # where the lists came from, for messages

    def are_synonyms(self, a: str, b: str) -> bool:
        """Whether ``a`` and ``b`` (any case) sit in one near-synonym group."""
        return b.lower() in self.synonyms.get(a.lower(), frozenset())

    def sizes(self) -> dict[str, int]:
        return {name: len(entries) for name, entries in self.categories.items()}


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read word list: {exc}") from exc
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _entries(path: Path) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for line in _read_lines(path):
        entry = " ".join(line.split())
        seen.setdefault(entry.lower(), entry)  # first spelling wins; duplicates would skew the random choice
    return tuple(seen.values())


def _synonym_groups(path: Path) -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for line in _read_lines(path):
        words = {" ".join(word.split()).lower() for word in line.split(",") if word.strip()}
        for word in words:
            groups.setdefault(word, set()).update(words - {word})
    return {word: frozenset(others) for word, others in groups.items()}


def load_wordlists(directory: str | Path | None = None) -> WordLists:
    """Loads the built-in lists, or every ``<category>.txt`` of ``directory`` instead.

    Args:
        directory: a folder replacing the built-in lists (``--wordlists``); a category whose file is missing
            there has no entries.

    Raises:
        InputError: the folder does not exist, or holds none of the category files.
    """
    if directory is None:
        root = Path(str(resources.files("raivtools.text").joinpath("wordlists")))
        source = "built-in (NAVERO Table 8)"
    else:
        root = Path(directory)
        source = str(root)
        if not root.is_dir():
            raise InputError(f"--wordlists {directory}: not a folder")
    categories = {name: _entries(root / f"{name}.txt") for name in CATEGORY_TYPES if (root / f"{name}.txt").is_file()}
    if not categories:
        wanted = ", ".join(f"{name}.txt" for name in CATEGORY_TYPES)
        raise InputError(f"--wordlists {root}: none of the category files found (expected some of {wanted})")
    synonyms_path = root / SYNONYMS_FILE
    synonyms = _synonym_groups(synonyms_path) if synonyms_path.is_file() else {}
    return WordLists(categories=categories, synonyms=synonyms, source=source)
