"""Task-specific pre-training: pairs mined each epoch with make-pairs' library, then fine-tuning with --init."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from raivtools.train.loop import TrainConfig, train
from tests.factories import write_jsonl
from tests.train.conftest import TINY

pytest.importorskip("raivtools.pairs", reason="make-pairs' library (raivtools.pairs) is not in this checkout yet")

VERBS = {"ball": "roll", "cube": "sit", "cone": "stand", "ring": "spin"}


def srl_records(world, split: str, ids: list[str]) -> list[dict]:
    """COCO/VATEX-style records: a caption's semantic roles and objects for each media item of the world."""
    records = []
    for media_id in ids:
        colour, shape = world.items[media_id]
        kind = "image" if world.features[media_id].shape[0] == 1 else "video"
        records.append({
            "id": media_id, kind: f"{media_id}.{'png' if kind == 'image' else 'mp4'}", "split": split,
            "caption": f"a {colour} {shape} {VERBS[shape]}s on a table",
            "srl": [{"verb": VERBS[shape], "sense": None, "roles": {"ARG1": f"a {colour} {shape}",
                                                                     "ARGM-LOC": "a table"}}],
            "objects": [shape, "table"],
        })
    return records


def test_pairs_are_mined_anew_each_epoch_and_fine_tuning_starts_from_them(tmp_path, world, feature_store):
    from raivtools.train.tsp import PairMiner

    ids = list(world.items)
    records = srl_records(world, "train", ids[:32]) + srl_records(world, "val", ids[32:])
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
