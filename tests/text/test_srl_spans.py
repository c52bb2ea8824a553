"""Caption SRL on the parses that gave wrong spans or lost roles: whitespace runs, dangling coordinators,
verbs coordinated with a noun, and "in the middle of"."""

from __future__ import annotations

import pytest

from raivtools.text.srl import CaptionSRLConfig, annotate, doc_frames
from tests.factories import parsed_doc


def roles(frame):
    return {name: span.text for name, span in frame.roles.items()}


@pytest.mark.parametrize("caption, frames", [
    ("A man  is cutting bread\twith a knife.", [("cut", {"ARG0": "A man", "ARG1": "bread", "ARG2": "a knife"})]),
    ("  A dog runs on the beach.", [("run", {"ARG0": "A dog", "ARGM-LOC": "the beach"})]),
    ("A man\nis cutting bread\n", [("cut", {"ARG0": "A man", "ARG1": "bread"})]),
    ("A man runs.   A dog barks.", [("run", {"ARG0": "A man"}), ("bark", {"ARG0": "A dog"})]),
])
def test_whitespace_runs_are_no_words_of_the_parse(nlp, caption, frames):
    # spaCy reads a run of spaces as a token: it went into spans ("A man  "), or took the subject or the verb
    [record] = annotate([("c.jsonl", 1, {"caption": caption})], nlp, CaptionSRLConfig())
    assert [(f["verb"], f["roles"]) for f in record["srl"]] == frames
    assert record["caption"] == caption


def test_coordinator_of_a_clause_is_no_part_of_the_object():
    # "A man rides a horse and a woman walks a dog": the parser hangs "and" on "horse"
    doc = parsed_doc(
        ["A", "man", "rides", "a", "horse", "and", "a", "woman", "walks", "a", "dog", "."],
        [1, 2, 2, 4, 2, 4, 7, 8, 2, 10, 8, 8],
        ["det", "nsubj", "ROOT", "det", "dobj", "cc", "det", "nsubj", "conj", "det", "dobj", "punct"],
        ["DET", "NOUN", "VERB", "DET", "NOUN", "CCONJ", "DET", "NOUN", "VERB", "DET", "NOUN", "PUNCT"],
        lemmas=["a", "man", "ride", "a", "horse", "and", "a", "woman", "walk", "a", "dog", "."],
    )
    ride, walk = doc_frames(doc)
    assert roles(ride) == {"ARG0": "A man", "ARG1": "a horse"}
    assert roles(walk) == {"ARG0": "a woman", "ARG1": "a dog"}


def test_verb_coordinated_with_the_object_is_a_frame_of_its_own():
    # "A man and a woman are eating pizza and drinking beer": the parser makes "drinking" a conjunct of "pizza"
    doc = parsed_doc(
        ["A", "man", "and", "a", "woman", "are", "eating", "pizza", "and", "drinking", "beer", "."],
        [1, 6, 1, 4, 1, 6, 6, 6, 7, 7, 9, 6],
        ["det", "nsubj", "cc", "det", "conj", "aux", "ROOT", "dobj", "cc", "conj", "dobj", "punct"],
        ["DET", "NOUN", "CCONJ", "DET", "NOUN", "AUX", "VERB", "NOUN", "CCONJ", "VERB", "NOUN", "PUNCT"],
        lemmas=["a", "man", "and", "a", "woman", "be", "eat", "pizza", "and", "drink", "beer", "."],
    )
    eat, drink = doc_frames(doc)
    assert roles(eat) == {"ARG0": "A man and a woman", "ARG1": "pizza"}
    assert roles(drink) == {"ARG0": "A man and a woman", "ARG1": "beer"}


def test_in_the_middle_of_is_a_location():
    doc = parsed_doc(
        ["A", "man", "is", "standing", "in", "the", "middle", "of", "the", "road", "."],
        [1, 3, 3, 3, 3, 6, 4, 6, 9, 7, 3],
        ["det", "nsubj", "aux", "ROOT", "prep", "det", "pobj", "prep", "det", "pobj", "punct"],
        ["DET", "NOUN", "AUX", "VERB", "ADP", "DET", "NOUN", "ADP", "DET", "NOUN", "PUNCT"],
        lemmas=["a", "man", "be", "stand", "in", "the", "middle", "of", "the", "road", "."],
    )
    [frame] = doc_frames(doc)
    assert roles(frame) == {"ARG0": "A man", "ARGM-LOC": "the road"}
    assert frame.preps == {"ARGM-LOC": "in the middle of"}


def test_close_to_is_a_location_like_next_to():
    # "A dog sits close to a man": "close" is an adverb with the "to" phrase under it, as "next" is
    doc = parsed_doc(
        ["A", "dog", "sits", "close", "to", "a", "man", "."],
        [1, 2, 2, 2, 3, 6, 4, 2],
        ["det", "nsubj", "ROOT", "advmod", "prep", "det", "pobj", "punct"],
        ["DET", "NOUN", "VERB", "ADV", "ADP", "DET", "NOUN", "PUNCT"],
        lemmas=["a", "dog", "sit", "close", "to", "a", "man", "."],
    )
    [frame] = doc_frames(doc)
    assert roles(frame) == {"ARG0": "A dog", "ARGM-LOC": "a man"}
    assert frame.preps == {"ARGM-LOC": "close to"}


@pytest.mark.parametrize("caption, negated, objects", [
    ("A man with no shirt is riding a bike.", [("ride", False)], ["man", "bike"]),
    ("A man without a hat rides a horse.", [("ride", False)], ["man", "horse"]),
    ("No dogs are running in the park.", [("run", True)], ["park"]),
    ("Nobody is sitting on the bench.", [("sit", True)], ["bench"]),
    ("No one is sitting on the bench.", [("sit", True)], ["bench"]),
    ("An empty street with no cars or people.", [], ["street"]),
])
def test_what_a_caption_denies_is_neither_an_object_nor_an_action_shown(nlp, caption, negated, objects):
    # "no shirt" listed a shirt as shown, and "Nobody is sitting" stated that someone sits: make-pairs then
    # wrote True statements about things the caption says are not there
    [record] = annotate([("c.jsonl", 1, {"caption": caption})], nlp, CaptionSRLConfig())
    assert [(f["verb"], bool(f.get("negated"))) for f in record["srl"]] == negated
    assert record["objects"] == objects
