"""Task-specific pre-training: pairs mined each epoch with make-pairs' library, then fine-tuning with --init."""

from __future__ import annotations

from collections import Counter

import numpy as np
import orjson
import pytest

from raivtools.io.errors import InputError
from raivtools.train.loop import TrainConfig, train
from tests.factories import write_jsonl
from tests.train.conftest import TINY, write_feature_store

pytest.importorskip("raivtools.pairs", reason="make-pairs' library (raivtools.pairs) is not in this checkout yet")


def test_pairs_are_mined_anew_each_epoch_and_fine_tuning_starts_from_them(tmp_path, world, feature_store):
    from raivtools.train.tsp import PairMiner

    ids = list(world.items)
    records = world.srl_records("train", ids[:32]) + world.srl_records("val", ids[32:])
    miner = PairMiner(records[:32], "cond")
    first, second = miner.mine(np.random.default_rng(0)), miner.mine(np.random.default_rng(1))
    assert first and {"left", "right", "statement", "label", "template"} <= set(first[0])
    assert [r["statement"] for r in first] != [r["statement"] for r in second]
    assert first == miner.mine(np.random.default_rng(0))
    assert PairMiner(records[:32], "cond", pairs_per_item=3).target == 3 * miner.target  # --pairs-per-item
    inputs = write_jsonl(tmp_path / "srl.jsonl", records)
    common = {"features": str(feature_store), "epochs": 2, "batch_size": 8, "lr": 2e-3, "seed": 1}
    fields = {**TINY, "fusion_layers": 1}
    tsp = train(TrainConfig(arch="raiv-mid", inputs=[str(inputs)], out=str(tmp_path / "tsp"), task="tsp", **common),
                fields)
    assert tsp.task == "tsp" and tsp.step > 0
    lines = [orjson.loads(line) for line in (tmp_path / "tsp/metrics.jsonl").read_bytes().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2] and "accuracy" in lines[0]["val"]
    pairs = write_jsonl(tmp_path / "pairs.jsonl", world.pair_records(16, "train") + world.pair_records(4, "val"))
    tuned = train(TrainConfig(arch="raiv-mid", inputs=[str(pairs)], out=str(tmp_path / "ft"), init=str(tmp_path / "tsp"),
                              **{**common, "epochs": 1}), fields)
    assert tuned.task == "pairs"


def _labels_by_kind(mined: list[dict]) -> Counter:
    return Counter((record["kind"], record["label"]) for record in mined)


def test_an_epoch_has_target_statements_balanced_in_every_kind(world):
    from raivtools.train.tsp import PairMiner

    miner = PairMiner(world.srl_records("train", list(world.items)[:32]), "cond")
    mined = miner.mine(np.random.default_rng(0))
    assert len(mined) == miner.target  # the LR schedule counts on it: an odd share once made 34 of 32
    counts = _labels_by_kind(mined)
    assert all(counts[(kind, True)] == counts[(kind, False)] for kind, _ in counts)


def test_a_kind_that_cannot_pair_leaves_its_share_to_the_others(world):
    from raivtools.train.tsp import PairMiner

    records = world.srl_records("train", list(world.items))
    images = [record for record in records if "image" in record]
    one_image = [record for record in records if "video" in record] + images[:1]  # im-im has nothing to pair
    miner = PairMiner(one_image, "cond")
    mined = miner.mine(np.random.default_rng(0))
    assert len(mined) == miner.target and {record["kind"] for record in mined} == {"im-vid", "vid-vid"}


def test_items_without_features_are_left_out_before_mining(tmp_path, world, capsys):
    from raivtools.train.data import FeatureSource
    from raivtools.train.tsp import PairMiner

    ids = list(world.items)
    store = write_feature_store(tmp_path / "half", {i: world.features[i] for i in ids[:20]})
    miner = PairMiner(world.srl_records("train", ids), "cond")
    examples = miner.examples(np.random.default_rng(0), FeatureSource(str(store)))
    # a pair with a featureless side used to be dropped after mining: a quarter of the epoch, twins left alone
    assert len(examples) == miner.target and sum(e.label for e in examples) == len(examples) / 2
    assert {m for e in examples for m in e.media} <= set(ids[:20])
    assert "20 of 40 training records have no features" in capsys.readouterr().err
    assert miner.target == 20  # --pairs-per-item 1 of the 20 items mined, not of the 40 given


def test_the_schedule_is_planned_for_the_items_with_features(tmp_path, world):
    from raivtools.train.data import FeatureSource
    from raivtools.train.loop import load_data

    ids = list(world.items)
    store = write_feature_store(tmp_path / "half", {i: world.features[i] for i in ids[:20]})
    inputs = write_jsonl(tmp_path / "srl.jsonl", world.srl_records("train", ids))
    config = TrainConfig(arch="raiv-mid", inputs=[str(inputs)], features=str(store), out=str(tmp_path / "run"), task="tsp")
    data = load_data(config, "tsp", FeatureSource(str(store)))
    assert data.miner_items == data.miner.target == 20


@pytest.mark.parametrize("count", [1, 2])
def test_too_few_items_to_mine_a_pair_is_an_input_error(world, feature_store, count):
    from raivtools.train.data import FeatureSource
    from raivtools.train.tsp import PairMiner

    miner = PairMiner(world.srl_records("train", list(world.items)[1:1 + count]), "cond")
    with pytest.raises(InputError, match="no True/False pair can be mined"):  # was: an epoch of no steps, exit 0
        miner.examples(np.random.default_rng(0), FeatureSource(str(feature_store)))


def test_validation_pairs_are_mined_among_items_with_features(tmp_path, world, capsys):
    from raivtools.train.data import FeatureSource
    from raivtools.train.loop import load_data

    ids = list(world.items)
    store = write_feature_store(tmp_path / "half", {i: world.features[i] for i in ids[:30]})
    inputs = write_jsonl(tmp_path / "srl.jsonl", world.srl_records("train", ids[:20]) + world.srl_records("val", ids[20:]))
    config = TrainConfig(arch="raiv-mid", inputs=[str(inputs)], features=str(store), out=str(tmp_path / "run"), task="tsp")
    data = load_data(config, "tsp",
                     FeatureSource(str(store)))
    media = {record[side]["id"] for _, _, record in data.val_records for side in ("left", "right")}
    assert data.val_records and media <= set(ids[20:30])  # no validation pair loses its twin to missing features
    labels = [record["label"] for _, _, record in data.val_records]
    assert sum(labels) == len(labels) / 2
    assert f"10 of {len(ids) - 20} validation records have no features" in capsys.readouterr().err
