"""make-pairs on synthetic records whose truth is known: labels, splits, balance, sampling, reasoning, bias."""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict

import pytest

from raivtools.pairs import (
    BUILTIN_TEMPLATES,
    ConfigChooser,
    PairsConfig,
    TableConfig,
    iter_pair_records,
    make_pairs,
    table_from_records,
)
from raivtools.pairs.items import DEFAULT_STOP_OBJECTS
from raivtools.text.english import gerund

OBJECT_PATTERNS = [  # (regex over the statement, claimed configuration)
    (r"^In both \w+, (?:an? )?(.+?) (?:is|are) present\.$", (1, 1)),
    (r"^There (?:is|are) (?:an? )?(.+?) in both \w+\.$", (1, 1)),
    (r"^(?:An? )?(.+?) (?:is|are) present only in the left \w+\.$", (1, 0)),
    (r"^The left \w+ contains (?:an? )?(.+?), but the right \w+ does not\.$", (1, 0)),
    (r"^Only the right \w+ shows (?:an? )?(.+?)\.$", (0, 1)),
    (r"^The right \w+ contains (?:an? )?(.+?), but the left \w+ does not\.$", (0, 1)),
    (r"^Neither \w+ shows (?:an? )?(.+?)\.$", (0, 0)),
]


def run(records, **options):
    config = PairsConfig(**{"kind": "im-im", **options})
    templates = list(BUILTIN_TEMPLATES)
    table = table_from_records(records, TableConfig(kinds=(0, 1)))
    results = make_pairs(table, templates, config)
    return list(iter_pair_records(table, results, templates, config))


@pytest.fixture(scope="module")
def vid_pairs(synthetic_records):
    return run(synthetic_records, kind="vid-vid", reasoning=True, seed=3)


@pytest.fixture(scope="module")
def by_id(synthetic_records):
    return {r["id"]: r for r in synthetic_records}


def object_truth(record, by_id):
    if not record["template"].startswith("object-"):
        return None
    for pattern, claim in OBJECT_PATTERNS:
        match = re.match(pattern, record["statement"], flags=re.IGNORECASE)
        if match:
            obj = match.group(1).lower()
            sides = tuple(int(obj in by_id[record[side]["id"]]["objects"]) for side in ("left", "right"))
            return obj, claim, sides
    return None


def test_object_labels_match_ground_truth(vid_pairs, by_id):
    checked = 0
    for record in vid_pairs:
        found = object_truth(record, by_id)
        if found is None:
            continue
        obj, claim, sides = found
        assert record["label"] == (sides == claim), record
        assert obj not in DEFAULT_STOP_OBJECTS
        checked += 1
    assert checked > 200


def test_action_labels_match_ground_truth(vid_pairs, by_id):
    checked = 0
    for record in vid_pairs:
        match = re.match(r"^In both videos, someone is (\w+)\.$", record["statement"])
        if not match:
            continue
        shown = [{gerund(f["verb"]) for f in by_id[record[s]["id"]]["srl"]} for s in ("left", "right")]
        assert record["label"] == all(match.group(1) in verbs for verbs in shown), record
        checked += 1
    assert checked > 10


def test_no_visual_item_in_two_splits(vid_pairs, by_id):
    split_of_segment = {}
    for record in vid_pairs:
        for side in ("left", "right"):
            segment = by_id[record[side]["id"]]["segment"]
            assert split_of_segment.setdefault(segment, record["split"]) == record["split"]
        assert by_id[record["left"]["id"]]["segment"] != by_id[record["right"]["id"]]["segment"]
    counts = Counter(record["split"] for record in vid_pairs)
    assert set(counts) == {"train", "val", "test"}
    assert counts["train"] > counts["test"] > counts["val"]


def test_val_and_test_statements_once_true_once_false_on_different_pairs(vid_pairs):
    for split in ("val", "test"):
        uses = defaultdict(list)
        for record in vid_pairs:
            if record["split"] == split:
                uses[record["statement"]].append(record)
        assert uses
        for statement, records in uses.items():
            assert sorted(r["label"] for r in records) == [False, True], statement
            a, b = records
            assert (a["left"]["id"], a["right"]["id"]) != (b["left"]["id"], b["right"]["id"])
    labels = Counter(record["label"] for record in vid_pairs)
    assert labels[True] == labels[False]


def test_conditional_pairs_share_an_object_and_random_ones_need_not(synthetic_records, vid_pairs, by_id):
    stop = set(DEFAULT_STOP_OBJECTS)

    def shares(record):
        left, right = (set(by_id[record[s]["id"]]["objects"]) - stop for s in ("left", "right"))
        return bool(left & right)

    assert all(shares(r) for r in vid_pairs)
    random_pairs = run(synthetic_records, kind="vid-vid", sampling="rand", seed=3)
    assert sum(not shares(r) for r in random_pairs) > 0.2 * len(random_pairs)


def test_reasoning_choices(vid_pairs, by_id):
    answers = Counter()
    for record in vid_pairs:
        if record["label"]:
            assert "reason" not in record
            continue
        reason = record["reason"]
        assert len(reason["choices"]) == 3 and len(set(reason["choices"])) == 3
        answers[reason["answer"]] += 1
        found = object_truth(record, by_id)
        if found:
            obj, _, sides = found
            truth = {(1, 1): "in both", (1, 0): "in the left video but not", (0, 1): "in the right video but not",
                     (0, 0): "in neither"}[sides]
            assert truth in reason["choices"][reason["answer"]], record
    assert set(answers) == {0, 1, 2} and min(answers.values()) > 0.2 * sum(answers.values())


def test_kinds_and_given_splits_are_kept(synthetic_records):
    records = [dict(r) for r in synthetic_records]
    for r in records:
        if r.get("image"):
            r["split"] = "test"
    pairs = run(records, kind="im-vid", seed=1)
    assert pairs and all("image" in p["left"] and "video" in p["right"] for p in pairs)
    image_splits = {p["split"] for p in pairs}
    assert image_splits == {"test"}  # images all carry "test", and pairs never cross splits


def test_same_seed_same_pairs_other_seed_other_pairs(synthetic_records):
    first = run(synthetic_records[:600], kind="vid-vid", reasoning=True, seed=5)
    assert first == run(synthetic_records[:600], kind="vid-vid", reasoning=True, seed=5)
    assert first != run(synthetic_records[:600], kind="vid-vid", reasoning=True, seed=6)


def bag_of_words_accuracy(train, test) -> float:
    """A multinomial naive-Bayes bag-of-words classifier trained on train statements, scored on test."""
    counts = {True: Counter(), False: Counter()}
    priors = Counter(r["label"] for r in train)
    for r in train:
        counts[r["label"]].update(r["statement"].lower().rstrip(".").split())
    vocab = set(counts[True]) | set(counts[False])
    totals = {label: sum(c.values()) + len(vocab) for label, c in counts.items()}

    def score(statement, label):
        words = statement.lower().rstrip(".").split()
        return math.log(priors[label] or 1) + sum(math.log((counts[label][w] + 1) / totals[label])
                                                  for w in words if w in vocab)

    correct = sum((score(r["statement"], True) > score(r["statement"], False)) == r["label"] for r in test)
    return correct / len(test)


def test_text_alone_is_at_chance_on_test(vid_pairs, synthetic_records):
    train = [r for r in vid_pairs if r["split"] == "train"]
    test = [r for r in vid_pairs if r["split"] == "test"]
    assert bag_of_words_accuracy(train, test) <= 0.6
    # with an unbalanced train split the classifier does fit its train statements, and still learns nothing
    # that holds on the balanced test split
    unbalanced = run(synthetic_records, kind="vid-vid", balance_train=False, seed=3)
    train = [r for r in unbalanced if r["split"] == "train"]
    assert bag_of_words_accuracy(train, train) > 0.55
    assert bag_of_words_accuracy(train, [r for r in unbalanced if r["split"] == "test"]) <= 0.6


@pytest.mark.parametrize("kind", ["im-vid", "vid-vid"])
def test_the_template_alone_does_not_tell_the_reasoning_answer(synthetic_records, kind):
    # drawn at random, False configurations that are easy to find won whenever a harder draw failed: on im-vid one
    # template's answer was "neither" 64 % of the time, and the train split's answer per template got 41 % on test
    table = table_from_records(synthetic_records, TableConfig(kinds=(0, 1)))
    answers = defaultdict(Counter)  # (split, template) -> the true configuration of its False instances
    for result in make_pairs(table, list(BUILTIN_TEMPLATES), PairsConfig(kind=kind, reasoning=True, seed=2)):
        for instance in result.instances:
            if not instance.label:
                answers[result.split, instance.template][instance.config] += 1
    shares = {key: max(c.values()) / sum(c.values()) for key, c in answers.items() if sum(c.values()) >= 30}
    assert len(shares) >= 10 and max(shares.values()) <= 0.4, shares
    prior = {template: c.most_common(1)[0][0] for (split, template), c in answers.items() if split == "train"}
    test = [(template, c) for (split, template), c in answers.items() if split == "test"]
    hits = sum(c[prior[template]] for template, c in test if template in prior)
    assert hits / sum(sum(c.values()) for _, c in test) <= 0.37


def test_config_chooser_evens_false_configurations_and_gives_up_on_one_never_found():
    template = next(t for t in BUILTIN_TEMPLATES if t.config == (1, 1))
    chooser = ConfigChooser([template], random.Random(0))
    assert chooser.choose(0, True) == (1, 1)
    made = Counter()
    for _ in range(300):
        config = chooser.choose(0, False)
        found = config != (1, 0)  # the sampler never finds this one
        chooser.sampled(0, config, found)
        if found:
            chooser.kept(0, config, False)
            made[config] += 1
    assert chooser.tries[0][(1, 0)] == chooser.min_tries  # tried its share, then left to the others
    assert set(made) == {(0, 1), (0, 0)} and abs(made[(0, 1)] - made[(0, 0)]) <= 1


def test_pair_record_fields(vid_pairs):
    record = vid_pairs[0]
    assert list(record)[:8] == ["id", "kind", "left", "right", "statement", "label", "template", "split"]
    assert set(record["left"]) == {"id", "video", "start", "end"}
    assert len({r["id"] for r in vid_pairs}) == len(vid_pairs)


def test_an_object_named_by_its_head_elsewhere_is_not_absent():
    # imSitu glosses keep compounds ("coffee mug"), VidSitu phrases give heads ("mug"): neither side may say the
    # other's object is missing, and an unrelated object still is
    from raivtools.pairs import is_absent

    records = [
        {"id": "img", "image": "a.jpg", "srl": [], "objects": ["coffee mug", "table"]},
        {"id": "vid", "video": "b.mp4", "srl": [], "objects": ["mug", "chair"]},
    ]
    table = table_from_records(records, TableConfig(kinds=(0, 1)))
    fact = table.facts["object"].ids
    assert not is_absent(table, 0, "object", fact["mug"]) and not is_absent(table, 1, "object", fact["coffee mug"])
    assert is_absent(table, 0, "object", fact["chair"]) and is_absent(table, 1, "object", fact["table"])


def test_a_noun_inside_a_role_phrase_is_never_absent():
    # VidSitu's "man in wetsuit" names the man as the object; the wetsuit was then "absent", and another video's
    # wetsuit made "Neither video shows a wetsuit" True of a clip that shows one
    from raivtools.pairs import is_absent

    records = [
        {"id": "diver", "video": "a.mp4", "objects": ["man"],
         "srl": [{"verb": "dive", "roles": {"ARG0": "man in black wetsuits"}}]},
        {"id": "surfer", "video": "b.mp4", "objects": ["woman", "wetsuit", "cup"],
         "srl": [{"verb": "wear", "roles": {"ARG0": "woman", "ARG1": "wetsuit"}}]},
    ]
    table = table_from_records(records, TableConfig(kinds=(1,)))
    fact = table.facts["object"].ids
    assert not is_absent(table, 0, "object", fact["wetsuit"])
    assert is_absent(table, 0, "object", fact["cup"]) and is_absent(table, 1, "object", fact["man"])


def test_a_clip_named_with_and_without_its_segment_is_one_visual_item(synthetic_records):
    # the same clips from a second source that does not name the segment (a caption file of the VidSitu clips):
    # one clip must stay in one split, never be paired with itself, nor be called without the zebra its caption has
    clips = [r for r in synthetic_records if r.get("video")]
    captions = [{**{k: v for k, v in r.items() if k != "segment"}, "objects": r["objects"] + ["zebra"]} for r in clips]
    pairs = run(clips + captions, kind="vid-vid", seed=1)
    split_of = {}
    for record in pairs:
        assert record["left"]["video"] != record["right"]["video"], record
        for side in ("left", "right"):
            assert split_of.setdefault(record[side]["video"], record["split"]) == record["split"], record
    by_id = {r["id"]: r for r in captions}  # what each clip shows, from both sources
    for record in pairs:
        found = object_truth(record, by_id)
        if found:
            _, claim, sides = found
            assert record["label"] == (sides == claim), record


def test_places_that_read_the_same_are_one_fact():
    # imSitu's bare "kitchen", a caption's "kitchen" with its "in" and a role that keeps the preposition all say
    # "in the kitchen": one fact, so val/test statements are made once (True and False) and items count for it
    places = [("kitchen", None), ("kitchen", "in"), ("in the kitchen", None), ("beach", None), ("beach", "on"),
              ("on the beach", None)]
    records = []
    for i in range(240):
        place, prep = places[i % len(places)]
        frame = {"verb": ("cut", "wash")[i // len(places) % 2], "roles": {"ARG0": "man", "ARGM-LOC": place}}
        if prep:
            frame["preps"] = {"ARGM-LOC": prep}
        records.append({"id": f"i{i}", "image": f"i{i}.jpg", "srl": [frame],
                        "objects": ["man", place.split()[-1], ("cup", "bowl", "tree")[i % 3]]})
    table = table_from_records(records, TableConfig())
    assert len(table.facts["action_location"]) == 4
    pairs = run(records, seed=1)
    uses = Counter((r["split"], r["statement"]) for r in pairs if r["template"].startswith("location-"))
    assert uses and all(n == 2 for (split, _), n in uses.items() if split != "train"), uses
