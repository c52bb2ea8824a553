"""What training and scoring accept from records: JSON boolean labels, reasoning answers that index the choices,
string texts, the usual split names, and warnings with counts for records left out."""

from __future__ import annotations

import pytest

from raivtools.io.errors import InputError
from raivtools.score import examples_for_scoring
from raivtools.train.data import FeatureSource, examples_for, split_of
from raivtools.train.loop import TrainConfig, load_data
from tests.factories import write_jsonl


def located(records, name="in.jsonl"):
    return [(name, number, record) for number, record in enumerate(records, start=1)]


@pytest.mark.parametrize("label", ["false", "true", None, 0, 1])
def test_training_labels_must_be_json_booleans(world, label):
    records = world.pair_records(3, "train")
    records[2]["label"] = label
    with pytest.raises(InputError, match=rf"in\.jsonl:3: record 'train-2': label must be true or false, got {label!r}"):
        examples_for("pairs", located(records), labelled=True)


def test_training_needs_a_label_but_scoring_does_not(world):
    records = world.pair_records(3, "train")
    del records[1]["label"]
    with pytest.raises(InputError, match=r"in\.jsonl:2: record 'train-1' has no 'label' field"):
        examples_for("pairs", located(records), labelled=True)
    records[2]["label"] = None
    _, examples = examples_for("pairs", located(records))
    assert [e.label for e in examples] == [1.0, None, None]
    records[0]["label"] = "true"  # a label that is there must still be a boolean
    with pytest.raises(InputError, match=r"in\.jsonl:1: .*label must be true or false, got 'true'"):
        examples_for("pairs", located(records))


@pytest.mark.parametrize("answer", ["1", True, 3, -1, 1.0])
def test_reasoning_answer_must_index_the_choices(world, answer):
    records = world.pair_records(4, "train", reason=True)
    records[1]["reason"]["answer"] = answer
    with pytest.raises(InputError, match=rf"in\.jsonl:2: record 'train-1': reason\.answer must index the 3 choices, "
                                         rf"got {answer!r}"):
        examples_for("reason", located(records), labelled=True)


def test_reasoning_answer_is_needed_for_training_only(world):
    records = world.pair_records(4, "train", reason=True)
    del records[1]["reason"]["answer"]
    with pytest.raises(InputError, match=r"in\.jsonl:2: record 'train-1': reason\.answer must index the 3 choices, "
                                         r"got no 'answer'"):
        examples_for("reason", located(records), labelled=True)
    _, examples = examples_for("reason", located(records))
    assert [e.label for e in examples if e.index == 1] == [None, None, None]


@pytest.mark.parametrize("task, field, value", [("pairs", "statement", None), ("pairs", "statement", 7),
                                                ("reason", "statement", None), ("video-text", "caption", None),
                                                ("video-text", "caption", ["a"]), ("video-text", "negative", 3)])
def test_texts_must_be_strings(world, task, field, value):
    records = (world.video_text_records("train", ["m001", "m002"]) if task == "video-text"
               else world.pair_records(2, "train", reason=True))
    records[1][field] = value
    with pytest.raises(InputError, match=rf"in\.jsonl:2: record '.*': '{field}' must be a string, got"):
        examples_for(task, located(records), labelled=True)


def test_split_names_and_aliases():
    assert [split_of({"split": s}) for s in ("train", "valid", "val", "dev", "validation", "VAL", "test")] == \
        ["train", "val", "val", "val", "val", "val", "test"]
    assert split_of({}) == "train" and split_of({"split": None}) == "train"
    assert split_of({"split": "holdout"}) == "holdout"


def test_scoring_passes_upstream_errors_through(world):
    records = world.pair_records(3, "test", reason=True)
    records[1].update(status="error", error="extract-frames: no such file")
    del records[1]["statement"]  # an upstream error record need not be a complete one
    got, examples = examples_for_scoring("pair", located(records))
    assert got == records and {e.index for e in examples} == {0, 2}


def _config(tmp_path, inputs, features, **overrides) -> TrainConfig:
    return TrainConfig(arch="raiv-late", inputs=[str(inputs)], features=str(features), out=str(tmp_path / "run"),
                       **overrides)


def test_load_data_reads_split_aliases_and_warns_about_unknown_splits(tmp_path, world, feature_store, capsys):
    records = (world.pair_records(6, "train") + world.pair_records(2, "valid", seed=2)
               + world.pair_records(2, "dev", seed=3) + world.pair_records(3, "holdout", seed=4)
               + world.pair_records(1, "test", seed=5))
    inputs = write_jsonl(tmp_path / "pairs.jsonl", records)
    data = load_data(_config(tmp_path, inputs, feature_store), "pairs", FeatureSource(str(feature_store)))
    assert len(data.train) == 6 and len(data.val_records) == 4
    err = capsys.readouterr().err
    assert "warning: 3 records with an unknown split (3 'holdout') are neither trained nor validated" in err
    assert "'test'" not in err


def test_load_data_leaves_out_upstream_errors_with_a_count(tmp_path, world, feature_store, capsys):
    train = world.pair_records(6, "train")
    for record in train[:2]:  # an upstream failure: no label, no statement to train on
        record.update(status="error", error="make-pairs: no caption")
        del record["statement"], record["label"]
    inputs = write_jsonl(tmp_path / "pairs.jsonl", train + world.pair_records(2, "val", seed=2))
    data = load_data(_config(tmp_path, inputs, feature_store), "pairs", FeatureSource(str(feature_store)))
    assert len(data.train) == 4 and len(data.val_records) == 2
    assert "warning: 2 records with status error (an upstream command failed on them) are left out" in \
        capsys.readouterr().err


def test_load_data_warns_with_counts_about_records_without_features(tmp_path, world, feature_store, capsys):
    train = world.pair_records(8, "train")
    val = world.pair_records(4, "val", seed=2)
    for record in train[2:7]:
        record["left"]["id"] = "gone"
    for record in val[:3]:
        record["right"]["id"] = "gone"
    inputs = write_jsonl(tmp_path / "pairs.jsonl", train + val)
    data = load_data(_config(tmp_path, inputs, feature_store), "pairs", FeatureSource(str(feature_store)))
    assert len(data.train) == 3 and data.skipped == 5 and data.val_skipped == 3 and len(data.val_records) == 4
    err = capsys.readouterr().err
    assert "warning: 5 of 8 training records have no features and are left out" in err
    assert "pairs.jsonl:3: record 'train-2': no features for 'gone'" in err and "; and 2 more" in err
    assert "warning: 3 of 4 validation records have no features" in err
    assert "pairs.jsonl:9: record 'val-0': no features for 'gone'" in err


@pytest.mark.parametrize("task, change, message", [
    ("pairs", {"label": None}, r"pairs\.jsonl:5: record 'val-0': label must be true or false, got None"),
    ("reason", {"reason": {"choices": ["a", "b"], "answer": "0"}}, r"pairs\.jsonl:5: .*reason\.answer must index"),
    ("pairs", {"reason": {"choices": ["a", "b"], "answer": "0"}}, r"pairs\.jsonl:5: .*reason\.answer must index"),
])
def test_load_data_checks_validation_records_before_training(tmp_path, world, feature_store, task, change, message):
    train = world.pair_records(4, "train", reason=True)
    val = world.pair_records(2, "val", seed=2, reason=True)
    val[0].update(change)
    inputs = write_jsonl(tmp_path / "pairs.jsonl", train + val)
    with pytest.raises(InputError, match=message):
        load_data(_config(tmp_path, inputs, feature_store), task, FeatureSource(str(feature_store)))
