import os
import subprocess
import sys

import pytest

from raivtools.io import InputError
from raivtools.text.nlp import load_spacy
from tests.conftest import REPO


def test_loads_an_installed_english_pipeline():
    nlp = load_spacy()
    doc = nlp("A man cuts bread.")
    assert [t.lemma_ for t in doc][:3] == ["a", "man", "cut"]


def test_missing_pipeline_says_what_to_pass():
    with pytest.raises(InputError, match="--spacy-model"):
        load_spacy("no_such_pipeline_xyz")


def test_default_pipeline_loads_without_importing_torch_which_still_imports_after():
    # thinc imports torch when it can (seconds of every text command's start); the default pipelines need none
    code = ("import sys; from raivtools.text.nlp import load_spacy; nlp = load_spacy(); "
            "print('torch' in sys.modules); import torch; print(nlp('A dog runs.')[1].pos_, int(torch.ones(1)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["False", "NOUN", "1"]
