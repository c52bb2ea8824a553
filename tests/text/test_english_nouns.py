"""The noun helpers added to english.py for make-pairs and the importers: singular, plural test, mass nouns."""

from __future__ import annotations

import pytest

from raivtools.text.english import is_mass_noun, is_plural, plural, singular


@pytest.mark.parametrize("plural_form, single", [
    ("knives", "knife"), ("boxes", "box"), ("horses", "horse"), ("glasses", "glasses"), ("classes", "class"), ("babies", "baby"),
    ("men", "man"), ("people", "person"), ("dishes", "dish"), ("shoes", "shoe"), ("two women", "two woman"),
    ("Tomatoes", "Tomato"), ("bus", "bus"), ("news", "news"), ("scissors", "scissors"), ("teeth", "tooth"),
])
def test_singular(plural_form, single):
    assert singular(plural_form) == single


def test_singular_undoes_plural():
    for noun in ["dog", "knife", "box", "baby", "man", "child", "dish", "horse", "tomato", "bench"]:
        assert singular(plural(noun)) == noun


def test_is_plural_and_mass_nouns():
    assert all(is_plural(w) for w in ["dogs", "men", "people", "boxes", "scissors", "two dogs"])
    assert not any(is_plural(w) for w in ["dog", "glass", "bus", "bread", "news", "grass"])
    assert is_mass_noun("bread") and is_mass_noun("fresh water") and is_mass_noun("ice cream")
    assert not is_mass_noun("knife") and not is_mass_noun("hour glass") and not is_mass_noun("football")
