"""Task-specific pre-training: pairs mined each epoch with make-pairs' library, then fine-tuning with --init."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from raivtools.train.loop import TrainConfig, train
from tests.factories import write_jsonl
from tests.train.conftest import TINY

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
