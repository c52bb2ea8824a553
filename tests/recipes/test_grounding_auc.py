"""recipes/lib/grounding_auc.py: the AUC and the template -> presence rule, against hand-computed values."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[2] / "recipes" / "lib" / "grounding_auc.py"


def load():
    spec = importlib.util.spec_from_file_location("grounding_auc", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_auc_counts_ties_half_and_needs_both_classes():
    grounding = load()
    present = np.array([1, 1, 0, 0])
    assert grounding.auc(np.array([0.9, 0.8, 0.1, 0.2]), present) == 1.0
    assert grounding.auc(np.array([0.1, 0.2, 0.9, 0.8]), present) == 0.0
    assert grounding.auc(np.array([0.5, 0.9, 0.5, 0.1]), present) == 0.875  # 3 wins, 1 tie out of 4
    assert np.isnan(grounding.auc(np.array([0.5]), np.array([1])))


def test_presence_follows_the_template_claim():
    grounding = load()
    assert grounding.presence("object-only-left-contrast") == (1, 0)
    assert grounding.presence("action-entity-only-right") == (0, 1)
    assert grounding.presence("object-both-there") == (1, 1)
    assert grounding.presence("action-neither") == (0, 0)
    assert grounding.presence("my-own-template") is None
