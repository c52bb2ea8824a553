import pytest

from raivtools.text.english import (
    gerund, indefinite_article, inflect_verb, match_case, past_participle, past_tense, plural, third_person,
    with_article,
)


@pytest.mark.parametrize("lemma, form", [
    ("cut", "cutting"), ("run", "running"), ("make", "making"), ("lie", "lying"), ("see", "seeing"),
    ("jump", "jumping"), ("begin", "beginning"), ("open", "opening"), ("play", "playing"), ("fix", "fixing"),
    ("pick up", "picking up"), ("be", "being"), ("spin", "spinning"), ("visit", "visiting"),
])
def test_gerund(lemma, form):
    assert gerund(lemma) == form


@pytest.mark.parametrize("lemma, form", [
    ("run", "runs"), ("push", "pushes"), ("carry", "carries"), ("play", "plays"), ("be", "is"), ("go", "goes"),
    ("catch", "catches"), ("have", "has"),
])
def test_third_person(lemma, form):
    assert third_person(lemma) == form


@pytest.mark.parametrize("lemma, past, participle", [
    ("walk", "walked", "walked"), ("run", "ran", "run"), ("stop", "stopped", "stopped"), ("cry", "cried", "cried"),
    ("eat", "ate", "eaten"), ("cut", "cut", "cut"), ("smile", "smiled", "smiled"), ("hold", "held", "held"),
])
def test_past_forms(lemma, past, participle):
    assert past_tense(lemma) == past and past_participle(lemma) == participle


def test_inflect_verb_by_tag():
    assert [inflect_verb("throw", t) for t in ("VB", "VBP", "VBZ", "VBD", "VBN", "VBG")] == [
        "throw", "throw", "throws", "threw", "thrown", "throwing"]


@pytest.mark.parametrize("noun, form", [
    ("knife", "knives"), ("box", "boxes"), ("baby", "babies"), ("man", "men"), ("dog", "dogs"), ("boy", "boys"),
    ("red ball", "red balls"), ("Woman", "Women"), ("tomato", "tomatoes"), ("photo", "photos"),
])
def test_plural(noun, form):
    assert plural(noun) == form


@pytest.mark.parametrize("phrase, article", [
    ("apple", "an"), ("red apple", "a"), ("hour", "an"), ("unicorn", "a"), ("umbrella", "an"), ("European car", "a"),
    ("one-way street", "a"), ("orange cat", "an"), ("", "a"),
])
def test_indefinite_article(phrase, article):
    assert indefinite_article(phrase) == article


def test_with_article_leaves_determined_phrases():
    assert with_article("elephant") == "an elephant"
    assert with_article("the dog") == "the dog"
    assert with_article("two dogs") == "two dogs"


@pytest.mark.parametrize("new, like, out", [("blue", "RED", "BLUE"), ("blue", "Red", "Blue"), ("blue", "red", "blue"),
                                            ("Blue", "red", "blue"), ("über", "Café", "Über"), ("x", "A", "X")])
def test_match_case(new, like, out):
    assert match_case(new, like) == out
