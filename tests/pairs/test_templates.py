"""Statements read as English: articles, agreement, verb forms, and image/video wording by pair kind."""

from __future__ import annotations

import pytest

from raivtools.io.errors import InputError
from raivtools.pairs.captions import caption_from_frame
from raivtools.pairs.templates import BUILTIN_TEMPLATES, CLAIMS, FAMILY_FIELDS, load_templates, realise, reason_choices

T = {t.name: t for t in BUILTIN_TEMPLATES}


def say(name, kind, fact):
    template = T[name]
    return realise(template.text, kind, template.family, fact)


def test_every_family_has_true_and_false_realisations_for_each_claim():
    for family in FAMILY_FIELDS:
        claims = {t.claim for t in BUILTIN_TEMPLATES if t.family == family}
        assert {"both", "only_left", "only_right"} <= claims, family
    assert {t.family for t in BUILTIN_TEMPLATES} == set(FAMILY_FIELDS)
    assert set(CLAIMS) == {"both", "only_left", "only_right", "neither"}


def test_object_statements_articles_and_wording_by_kind():
    assert say("object-both", "im-im", "bread") == "In both images, bread is present."
    assert say("object-both-there", "vid-vid", "knife") == "There is a knife in both videos."
    assert say("object-only-left", "im-vid", "umbrella") == "An umbrella is present only in the image."
    assert say("object-only-right", "im-im", "hour glass") == "Only the right image shows an hour glass."
    assert say("object-neither", "im-vid", "scissors") == "Neither the image nor the video shows scissors."
    assert say("object-only-left-contrast", "vid-vid", "unicorn") == (
        "The left video contains a unicorn, but the right video does not.")


def test_action_statements_verb_forms():
    assert say("action-both", "im-im", "cut") == "In both images, someone is cutting."
    assert say("action-only-left", "vid-vid", "pick up") == "Only the left video shows someone picking up."
    assert say("action-neither", "im-vid", "lie") == "Neither the image nor the video shows anyone lying."
    assert say("action-entity-both", "im-im", ("cut", "man", "bread", 0)) == "In both images, a man is cutting bread."
    assert say("action-entity-both", "vid-vid", ("chase", "two dogs", "ball", 0)) == (
        "In both videos, two dogs are chasing a ball.")
    assert say("action-entity-only-left", "vid-vid", ("dive", "man in wetsuit", "old pier", 0)) == (
        "Only the left video shows a man in wetsuit diving an old pier.")
    assert say("location-both", "im-im", ("eat", "restaurant", 0, None)) == (
        "In both images, someone is eating in the restaurant.")
    assert say("location-only-right", "vid-vid", ("run", "beach", 0, None)) == (
        "Only the right video shows someone running on the beach.")
    assert say("location-only-left", "im-im", ("sit", "a bench", 0, "on")) == (
        "Only the left image shows someone sitting on a bench.")


def test_reason_choices_are_the_three_unclaimed_configurations():
    choices = reason_choices("im-im", "object", "bread", (1, 1))
    assert [c for c, _ in choices] == [(1, 0), (0, 1), (0, 0)]
    assert [s for _, s in choices] == ["Bread is present in the left image but not in the right image.",
                                       "Bread is present in the right image but not in the left image.",
                                       "Bread is present in neither image."]


def test_caption_from_frame():
    frame = {"verb": "cut", "roles": {"ARG0": "woman in red dress", "ARG1": "loaf of bread", "ARG2": "knife",
                                      "ARGM-MNR": "carefully", "ARGM-LOC": "kitchen"}}
    assert caption_from_frame(frame) == "A woman in red dress is carefully cutting a loaf of bread in the kitchen."
    assert caption_from_frame({"verb": "dive", "roles": {"ARG1": "man in wetsuit", "ARGM-DIR": "downward",
                                                         "ARGM-LOC": "lake"}}) == (
        "A man in wetsuit is diving downward at the lake.")
    assert caption_from_frame({"verb": "run", "roles": {}}) == "Someone is running."


def test_user_templates_file_and_its_errors(tmp_path):
    good = tmp_path / "t.json"
    good.write_text('[{"name": "mine", "family": "object", "claim": "both", "text": "{Both} have {a_obj}."}]')
    [template] = load_templates(str(good))
    assert realise(template.text, "im-im", "object", "apple") == "Both images have an apple."
    for text, message in [('[{"name": "x", "family": "object", "claim": "both", "text": "{colour} {obj}"}]',
                           "unknown placeholder {colour}"),
                          ('[{"name": "x", "family": "smell", "claim": "both", "text": "{obj}"}]', "unknown family"),
                          ('[{"name": "x", "family": "object", "claim": "most", "text": "{obj}"}]', "unknown claim"),
                          ('[{"name": "x", "family": "object", "text": "{obj}"}]', "'claim'"),
                          ('[{"name": "x", "family": "object", "claim": "both", "text": "{obj"}]', "template text"),
                          ('[{"name": "x", "family": "object", "claim": "both", "text": "{obj}", "weight": "x"}]',
                           "weight must be a number"),
                          ('[{"name": "x", "family": "object", "claim": "both", "text": "{obj}", "weight": null}]',
                           "weight must be a number"),
                          ('{"name": "x"}', "expected a JSON list")]:
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(InputError, match=message) as info:
            load_templates(str(bad))
        assert str(bad) in info.value.message
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('[{"name": ', encoding="utf-8")
    with pytest.raises(InputError, match="malformed JSON"):
        load_templates(str(corrupt))
    empty = tmp_path / "empty.json"
    empty.write_text("[]", encoding="utf-8")
    assert load_templates(str(empty)) == []
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text('{"name": "ü", "family": "action", "claim": "neither", "text": "Kein {media} zeigt {ving}."}\n')
    assert load_templates(str(jsonl))[0].name == "ü"


def test_place_phrase_does_not_double_a_kept_preposition():
    from raivtools.pairs.items import place_phrase

    assert place_phrase("lake", None) == "at the lake"
    assert place_phrase("beach", None) == "on the beach"
    assert place_phrase("on the ice", None) == "on the ice"  # raiv synth keeps the preposition in ARGM-LOC
    assert place_phrase("in ocean", None) == "in the ocean"
    assert place_phrase("on the grass", "on") == "on the grass"
