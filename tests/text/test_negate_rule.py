"""The rule generator and the edit mechanics: whole words, one occurrence, casing, inflection, articles, rounds."""

from __future__ import annotations

import re

import pytest

from raivtools.text.english import indefinite_article, inflect_verb, plural
from raivtools.text.negation import load_wordlists
from raivtools.text.negation.edits import apply_replacement, same_lemma, track_change
from raivtools.text.negation.rule import RuleIndex
from tests.text.negate_fixtures import SPACY, TOY_CAPTION, make_negator, nlp, tiny_mlm, tiny_mlm_dir  # noqa: F401

SEEDS = range(12)


def _negate(negator, text, key="r"):
    return negator.negate([text], [key])[0]


def _many(negator, text, n=len(SEEDS)):
    """``n`` negatives of one text under ``n`` record keys (so ``n`` independent random draws, one spaCy batch)."""
    return negator.negate([text] * n, [f"key{i}" for i in range(n)])


def _replay(caption: str, edits) -> str:
    """Applies the recorded edits to the caption: the offsets must say exactly what changed."""
    text = caption
    for edit in edits:
        before, start = edit.before, edit.start
        assert text[start : start + len(before)] == before
        text = text[:start] + edit.after + text[start + len(before) :]
    return text


def _strip_article(region: str) -> str:
    """The replaced words of an edit region, without the a/an the edit may have changed in front."""
    return re.sub(r"^(?:a|an)\s+", "", region, flags=re.IGNORECASE)


@pytest.fixture(scope="module")
def index(nlp):
    return RuleIndex(load_wordlists(), nlp.tokenizer)


# ----- word lists -----

def test_table8_lists_ship_whole():
    lists = load_wordlists()
    sizes = lists.sizes()
    # Table 8's counts, plus the recorded raiv additions for the toy benchmark (1 action, 2 relations, 4 nouns)
    assert sizes["action"] == 273 + 1 and sizes["relation"] == 50 + 2 and sizes["noun"] == 185 + 4
    assert "to the left of" in lists.categories["relation"] and "circle" in lists.categories["noun"]
    assert sizes["color"] == 34 and sizes["size"] == 104 and sizes["material"] == 71
    assert "in front of" in lists.categories["relation"] and "hover over" in lists.categories["relation"]
    assert "fast forward" in lists.categories["action"] and "London" in lists.categories["noun"]
    assert "flip" not in lists.categories["state"]  # the recorded fix
    assert lists.are_synonyms("big", "large") and not lists.are_synonyms("big", "small")


def test_wordlists_folder_replaces_the_builtin_lists(tmp_path, make_negator):
    (tmp_path / "color.txt").write_text("# my colours\nred\nteal\n", encoding="utf-8")
    negator = make_negator(generator="rule", wordlists=str(tmp_path))
    assert negator.wordlists.sizes() == {"color": 2}
    result = _negate(negator, "A red dog runs in the park.")
    assert result.negative == "A teal dog runs in the park."


# ----- matching -----

def test_toy_caption_has_all_four_types(index, nlp):
    found = {c.type for c in index.candidates(nlp(TOY_CAPTION), ("action", "attribute", "relation", "object"))}
    assert found == {"action", "attribute", "relation", "object"}


def test_whole_words_only(index, nlp):
    doc = nlp("A bored man sits on a redwood bench near the tanned kid.")
    spans = {c.text.lower() for c in index.candidates(doc, ("attribute",))}
    assert "red" not in spans and "tan" not in spans and not any("bored" in s and s != "bored" for s in spans)


def test_multiword_relation_is_one_match(index, nlp):
    doc = nlp("A cat sits in front of a car.")
    relations = [c.text for c in index.candidates(doc, ("relation",))]
    assert relations == ["in front of"]


def test_phrasal_action_and_pos_decide_the_category(index, nlp):
    doc = nlp("A man picks up the dry towel.")
    found = {(c.text, c.category) for c in index.candidates(doc, ("action", "attribute", "relation", "object"))}
    assert ("picks up", "action") in found
    assert ("dry", "state") in found and ("dry", "action") not in found  # an adjective here, not the verb


# ----- edits -----

@pytest.mark.parametrize("types, caption", [
    (("attribute",), "A red car and a red bus wait at the light."),
    (("relation",), "A cup on a table on a rug."),
])
def test_one_occurrence_per_edit(make_negator, types, caption):
    negator = make_negator(generator="rule", types=types)
    def count(word, text):
        return len(re.findall(rf"\b{word}\b", text))

    for result in _many(negator, caption, len(SEEDS)):
        (edit,) = result.edits
        word = _strip_article(edit.before)
        assert word in ("red", "on") and count(word, caption) == 2
        assert count(word, result.negative) == 1 + count(word, edit.after)  # the other occurrence is untouched


def test_casing_is_kept(make_negator):
    negator = make_negator(generator="rule", types=("attribute",))
    for caption in ("RED CARS PARK.", "Red cars park."):
        result = _negate(negator, caption)
        word = result.edits[0].after
        assert word.isupper() if caption.isupper() else (word[0].isupper() and word[1:].islower())


def test_verbs_keep_their_inflection(make_negator):
    actions = load_wordlists().categories["action"]
    negator = make_negator(generator="rule", types=("action",))
    for caption, tag in (("The man runs to the car.", "VBZ"), ("The girl is cutting bread.", "VBG"),
                         ("The boy jumped over it.", "VBD")):
        for result_ in _many(negator, caption, len(SEEDS)):
            after = result_.edits[0].after
            assert after in {inflect_verb(a, tag) for a in actions}, (caption, after)


def test_plural_nouns_stay_plural(make_negator):
    nouns = load_wordlists().categories["noun"]
    negator = make_negator(generator="rule", types=("object",))
    for result_ in _many(negator, "Two girls sit on the bed.", len(SEEDS)):
        after = result_.edits[0]
        if after.before == "girls":
            assert after.after in {plural(n) for n in nouns}
            assert after.after not in {"soccers", "furnitures", "honeys"}


def test_article_agrees_with_the_new_word(make_negator):
    negator = make_negator(generator="rule", types=("attribute",))
    seen = set()
    for caption in ("An orange cat sleeps.", "A red apple falls."):
        for result in _many(negator, caption, 30):
            article, word = result.negative.split()[:2]
            assert article.lower() == indefinite_article(word), result.negative
            assert article[0].isupper()
            seen.add(article)
    assert seen == {"A", "An"}  # both directions happened


def test_punctuation_and_spacing_are_identical(make_negator):
    caption = "A  red car ,  near   the old house!  (At night.)"
    negator = make_negator(generator="rule", rounds=3)
    for result in _many(negator, caption, len(SEEDS)):
        assert _replay(caption, result.edits) == result.negative  # nothing changed outside the edits
        for edit in result.edits:  # and the edits hold words only: no punctuation or spacing lost or added
            assert re.fullmatch(r"\w+(?:[\s-]+\w+)*", edit.before) and re.fullmatch(r"\w+(?:[\s-]+\w+)*", edit.after)


def test_never_the_caption_never_the_same_lemma(make_negator):
    negator = make_negator(generator="rule", rounds=5)
    for caption in ("A man wears a red hat.", "A man wearing a hat runs.", TOY_CAPTION):
        for result in _many(negator, caption, len(SEEDS)):
            assert result.negative != caption
            for edit in result.edits:
                before, after = (_strip_article(edit.before), _strip_article(edit.after))
                assert not same_lemma(before, after) and before.lower() != after.lower()


def test_rounds_prefer_unedited_words(make_negator):
    negator = make_negator(generator="rule", rounds=5)
    for result in _many(negator, TOY_CAPTION, len(SEEDS)):
        assert [e.round for e in result.edits] == [1, 2, 3, 4, 5]
        changes, text = [], TOY_CAPTION
        for edit in result.edits:  # the toy caption has more than 5 candidates: no word is edited twice
            start, end = edit.start, edit.start + len(edit.before)
            assert not any(start < e and s < end for s, e, _ in changes), result.edits
            changes = track_change(changes, text, edit.start, len(edit.before), len(edit.after))
            text = _replay(text, [edit])
        assert _replay(TOY_CAPTION, result.edits) == result.negative


def test_later_rounds_never_undo_an_earlier_edit(make_negator):
    # a short caption runs out of fresh words, so later rounds re-edit earlier ones: red -> coral, car -> rain,
    # coral -> red once gave "a red rain", an object edit labelled "mixed", and repeated earlier rounds' texts
    caption = "a red car"
    for result in _many(make_negator(generator="rule", rounds=5), caption, 40):
        texts = [caption] + [_replay(caption, result.edits[: n + 1]) for n in range(len(result.edits))]
        assert len(set(texts)) == len(texts), texts
        words = result.negative.split()
        changed = [kind for kind, word in (("attribute", "red"), ("object", "car")) if word not in words]
        assert result.neg_type == (changed[0] if len(changed) == 1 else "mixed"), (result.negative, result.edits)


@pytest.mark.parametrize("kind", ["action", "attribute", "relation", "object"])
def test_typed_aaro_sets_have_exactly_one_edit_of_the_type(make_negator, kind):
    negator = make_negator(generator="rule", types=(kind,))
    results = negator.negate([TOY_CAPTION] * 6, list(range(6)))
    assert all(r.neg_type == kind and [e.type for e in r.edits] == [kind] for r in results)


def test_no_match_gives_null_and_a_reason(make_negator):
    result = _negate(make_negator(generator="rule"), "Zxq vlorp.")
    assert result.negative is None and result.neg_type is None and "word-list" in result.error


def test_same_batch_or_alone_gives_the_same_negative(make_negator):
    captions = [TOY_CAPTION, "A man wears a red hat.", "Two girls sit on the bed."] * 3
    keys = [f"id{i}" for i in range(len(captions))]
    together = make_negator(generator="rule", rounds=3, batch_size=64).negate(captions, keys)
    alone = make_negator(generator="rule", rounds=3, batch_size=1).negate(captions, keys)
    assert [r.negative for r in together] == [r.negative for r in alone]


# ----- helpers -----

def test_apply_replacement_fixes_the_article_before_the_span():
    text = "I saw an apple, a dog."
    start = text.index("apple")
    new, region, before, after = apply_replacement(text, start, start + 5, "pear")
    assert new == "I saw a pear, a dog." and text[region:].startswith(before) and (before, after) == ("an apple", "a pear")
    assert apply_replacement("Ana apple", 4, 9, "pear")[0] == "Ana pear"  # "Ana" is not an article


def test_same_lemma_sees_inflections():
    assert same_lemma("runs", "ran", "run") and same_lemma("wears", "wearing") and same_lemma("dogs", "dog")
    assert same_lemma("cutting", "cut") and not same_lemma("runs", "walks", "run") and not same_lemma("red", "blue")


def test_compound_verbs_inflect_their_verb():  # raivtools/text/english.py extension for the action list
    assert inflect_verb("fast forward", "VBZ") == "fast forwards" and inflect_verb("rewind", "VBD") == "rewound"


def test_no_mass_noun_after_a_or_in_a_plural(make_negator):
    from raivtools.text.negation.rule import MASS_NOUNS

    negator = make_negator(generator="rule", types=("object",))
    # "a sharp juice": the article counts across the noun's modifiers too
    for caption in ("A girl holds a knife.", "Two dogs sit.", "A girl holds a sharp knife.", "a red car"):
        for result in _many(negator, caption, 30):
            (edit,) = result.edits
            assert _strip_article(edit.after).lower() not in MASS_NOUNS | {plural(n) for n in MASS_NOUNS}


def test_verb_particles_are_not_relations(index, nlp):
    doc = nlp("A woman is putting on makeup.")
    assert [c.text for c in index.candidates(doc, ("relation",))] == []
