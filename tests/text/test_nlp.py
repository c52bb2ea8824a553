import pytest

from raivtools.io import InputError
from raivtools.text.nlp import load_spacy


def test_loads_an_installed_english_pipeline():
    nlp = load_spacy()
    doc = nlp("A man cuts bread.")
    assert [t.lemma_ for t in doc][:3] == ["a", "man", "cut"]


def test_missing_pipeline_says_what_to_pass():
    with pytest.raises(InputError, match="--spacy-model"):
        load_spacy("no_such_pipeline_xyz")
