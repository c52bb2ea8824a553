"""The training loop: every arch learns, exact resume, NaN stop, run directory contract, schedule, precision."""

from __future__ import annotations

import json
import math

import orjson
import pytest
import torch

from raivtools.io.errors import InputError
from raivtools.models import register
from raivtools.models.raiv_fusion import RaivFusion
from raivtools.train.checkpoint import load_checkpoint
from raivtools.train.loop import (
    Distributed,
    TrainConfig,
    TrainingDiverged,
    fraction_of,
    linear_schedule,
    primary_metric,
    train,
)
from tests.factories import write_jsonl
from tests.train.conftest import TINY

NAVERO = {**TINY, "fusion_layers": 1, "video_layers": 1, "embed_dim": 16}
RAIV = {**TINY, "fusion_layers": 1}


def config(tmp_path, inputs, features, arch="raiv-late", **overrides) -> TrainConfig:
    values = {"arch": arch, "inputs": [str(inputs)], "features": str(features), "out": str(tmp_path / "run"),
              "epochs": 2, "batch_size": 8, "lr": 2e-3, "head_lr_mult": 1.0, "seed": 3}
    values.update(overrides)
    return TrainConfig(**values)


def metrics(run) -> list[dict]:
    return [orjson.loads(line) for line in (run / "metrics.jsonl").read_bytes().splitlines()]


def weights(path) -> dict:
    return load_checkpoint(path)["model"]


@pytest.mark.parametrize("arch", ["raiv-late", "raiv-mid", "raiv-early"])
def test_raiv_archs_loss_falls_on_the_toy_task(tmp_path, world, feature_store, arch):
    # 8 statements "In both, the thing is <colour>." (true iff both items show it): the model must bind the
    # colour word to both inputs' features to fit them
    records = world.pair_records(8, "train", seed=5) + world.pair_records(4, "val", seed=6)
    inputs = write_jsonl(tmp_path / "pairs.jsonl", records)
    train(config(tmp_path, inputs, feature_store, arch, epochs=24, batch_size=8, lr=5e-3, warmup=0.0), RAIV)
    lines = [m for m in metrics(tmp_path / "run") if m["event"] == "epoch"]
    assert len(lines) == 24 and lines[-1]["train_loss"] < 0.5 * lines[0]["train_loss"], [m["train_loss"] for m in lines]


def test_navero_learns_and_ranks_positives_above_negatives(tmp_path, world, feature_store):
    ids = list(world.items)
    records = world.video_text_records("train", ids[:24]) + world.video_text_records("val", ids[24:])
    inputs = write_jsonl(tmp_path / "aaro.jsonl", records)
    train(config(tmp_path, inputs, feature_store, "navero", epochs=12, lr=3e-3), NAVERO)
    lines = [m for m in metrics(tmp_path / "run") if m["event"] == "epoch"]
    assert lines[-1]["train_loss"] < 0.7 * lines[0]["train_loss"], lines
    assert lines[-1]["val"]["acc"] >= 0.75  # chance is 0.5


def test_navero_trains_on_records_most_of_which_have_no_negative(tmp_path, world, feature_store):
    # as raiv negate writes them: "negative": null where no word could be replaced; batches of 4 over 24 records
    # of which 2 have a negative, so most batches have none
    records = world.video_text_records("train", list(world.items)[:24])
    for number, record in enumerate(records):
        if number % 12:
            record.update(negative=None, neg_type=None)
    inputs = write_jsonl(tmp_path / "aaro.jsonl", records)
    train(config(tmp_path, inputs, feature_store, "navero", epochs=1, batch_size=4), NAVERO)
    [line] = [m for m in metrics(tmp_path / "run") if m["event"] == "epoch"]
    assert math.isfinite(line["train_loss"])


def test_navero_without_any_negative_stops_before_training(tmp_path, world, feature_store):
    ids = list(world.items)
    records = world.video_text_records("train", ids[:8]) + world.video_text_records("val", ids[8:12])
    inputs = write_jsonl(tmp_path / "captions.jsonl", [{**r, "negative": None} for r in records])
    with pytest.raises(InputError, match="none of the 8 training records has one"):
        train(config(tmp_path, inputs, feature_store, "navero"), NAVERO)
    assert not (tmp_path / "run" / "metrics.jsonl").exists()
    train(config(tmp_path, inputs, feature_store, "navero", epochs=1, out=str(tmp_path / "vanilla")),
          {**NAVERO, "losses": "vanilla"})
    # null negatives give no AARO acc: validation ranks the captions instead
    [line] = [m for m in metrics(tmp_path / "vanilla") if m["event"] == "epoch"]
    assert "r1" in line["val"] and "acc" not in line["val"]


@pytest.mark.parametrize("arch,fields", [("navero", {**NAVERO, "dropout": 0.1}), ("raiv-mid", {**RAIV, "dropout": 0.1})])
def test_resume_is_exact(tmp_path, world, feature_store, arch, fields):
    if arch == "navero":
        records = world.video_text_records("train", list(world.items)[:24]) + world.video_text_records("val", ["m031"])
    else:
        records = world.pair_records(24, "train") + world.pair_records(6, "val", seed=9)
    inputs = write_jsonl(tmp_path / "in.jsonl", records)
    # 24 examples / batch 4 = 6 batches = 3 steps per epoch with --grad-accum 2; 6 steps in all
    common = {"epochs": 2, "batch_size": 4, "grad_accum": 2, "save_every": 2, "log_every": 1}
    whole = train(config(tmp_path / "a", inputs, feature_store, arch, **common), fields)
    # a crash after step 5: last.pt is from step 4, in the middle of epoch 2; the rerun goes on from there
    train(config(tmp_path / "b", inputs, feature_store, arch, **common), fields, stop_after_steps=5)
    assert load_checkpoint(tmp_path / "b/run/last.pt")["step"] == 4
    resumed = train(config(tmp_path / "b", inputs, feature_store, arch, **common, resume=True), fields)
    assert resumed.step == whole.step == 6
    for name, tensor in whole.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name
    assert metrics(tmp_path / "a/run") == metrics(tmp_path / "b/run")


def test_run_directory_contract(tmp_path, world, feature_store, pair_files):
    trainer = train(config(tmp_path, pair_files["train"], feature_store, epochs=2, log_every=2, train_fraction=0.2), RAIV)
    run = tmp_path / "run"
    saved = json.loads((run / "config.json").read_text())
    assert saved["arch"] == "raiv-late" and saved["task"] == "pairs" and saved["model"]["width"] == 32
    assert saved["train"]["lr"] == 2e-3 and saved["features"]["dim"] == 16
    epochs = [m for m in metrics(run) if m["event"] == "epoch"]
    assert [m["epoch"] for m in epochs] == [1, 2] and epochs[-1]["step"] == trainer.step
    assert set(epochs[0]) == {"event", "epoch", "step", "train_loss", "lr", "val"}
    assert set(epochs[0]["val"]) == {"accuracy", "loss", "mc_accuracy"}
    assert any(m["event"] == "step" for m in metrics(run))
    for name in ("best.pt", "last.pt"):
        state = torch.load(run / name, weights_only=True)
        assert set(trainer.model.state_dict()) == set(state["model"])
    with pytest.raises(InputError, match="not empty: pass --resume"):
        train(config(tmp_path, pair_files["train"], feature_store), RAIV)
    with pytest.raises(InputError, match=r"other settings.*\blr\b"):
        train(config(tmp_path, pair_files["train"], feature_store, lr=1.0, resume=True), RAIV)


def test_same_seed_same_run(tmp_path, world, feature_store, pair_files):
    for name in ("a", "b"):
        train(config(tmp_path / name, pair_files["train"], feature_store, epochs=1, train_fraction=0.3), RAIV)
    assert (tmp_path / "a/run/metrics.jsonl").read_bytes() == (tmp_path / "b/run/metrics.jsonl").read_bytes()
    first, second = weights(tmp_path / "a/run/last.pt"), weights(tmp_path / "b/run/last.pt")
    assert all(torch.equal(first[k], second[k]) for k in first)


@register("test-nan-after-2")
class NanAfterTwoSteps(RaivFusion):
    """A late-fusion model whose loss turns NaN on its third call (a diverging run)."""

    calls = 0

    def forward(self, batch):
        out = super().forward(batch)
        type(self).calls += 1
        if type(self).calls >= 3:
            out["loss"] = out["loss"] * float("nan")
        return out


@pytest.mark.parametrize("save_every, grad_accum, where", [(1, 1, r"step 3 \(epoch 1, batch 3\)"),
                                                         (0, 1, r"step 3 \(epoch 1, batch 3\)"),
                                                         (0, 2, r"step 2 \(epoch 1, batch 3\)")])
def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path, feature_store, pair_files,
                                                                           save_every, grad_accum, where):
    # the loss is read back one step late (no wait for the device), yet the step and micro-batch named are the
    # NaN one's and no NaN weights reach last.pt, whether it is saved every step or only at the epoch's end
    NanAfterTwoSteps.calls = 0
    with pytest.raises(TrainingDiverged, match="loss is nan at " + where) as caught:
        train(config(tmp_path, pair_files["train"], feature_store, "test-nan-after-2", save_every=save_every,
                     grad_accum=grad_accum), RAIV)
    assert caught.value.exit_code == 3
    if save_every:
        assert load_checkpoint(tmp_path / "run/last.pt")["step"] == 2
        assert f"The last good checkpoint is {tmp_path / 'run/last.pt'}" in caught.value.message
    else:
        assert not (tmp_path / "run/last.pt").exists()
        assert "No checkpoint was saved before it" in caught.value.message  # it named a last.pt that is not there


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_runs_on_cpu(tmp_path, feature_store, pair_files, precision):
    trainer = train(config(tmp_path, pair_files["train"], feature_store, epochs=1, precision=precision,
                           train_fraction=0.1), RAIV)
    assert trainer.step == 2 and all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_train_fraction_and_grad_accum_step_counts(tmp_path, feature_store, pair_files):
    trainer = train(config(tmp_path, pair_files["train"], feature_store, epochs=1, train_fraction=0.1,
                           grad_accum=2), RAIV)
    assert len(trainer.data.train) == 16 and trainer.step == 1  # 16 examples = 2 batches = 1 step
    assert fraction_of(list(range(100)), 0.1, 0) == fraction_of(list(range(100)), 0.1, 0)
    assert len(fraction_of(list(range(100)), 0.01, 0)) == 1


def test_linear_schedule_warms_up_then_decays():
    factor = linear_schedule(100, 0.1)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(10) == pytest.approx(1.0) and factor(55) == pytest.approx(0.5) and factor(100) == 0.0
    assert linear_schedule(10, 0.0)(0) == 1.0


def test_single_process_distributed_defaults(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = Distributed.from_env()
    assert (info.rank, info.world_size, info.is_main) == (0, 1, True)
    assert info.mean(2.5, "cpu") == 2.5 and not math.isnan(info.mean(0.0, "cpu"))


def test_no_training_records_is_an_input_error(tmp_path, world, feature_store):
    inputs = write_jsonl(tmp_path / "val_only.jsonl", world.pair_records(4, "val"))
    with pytest.raises(InputError, match="no training examples"):
        train(config(tmp_path, inputs, feature_store), RAIV)


def test_best_checkpoint_follows_the_tasks_own_metric():
    val = {"accuracy": 0.9, "loss": 0.2, "mc_accuracy": 0.4}
    assert primary_metric(val, "pairs") == "accuracy" and primary_metric(val, "reason") == "mc_accuracy"
    assert primary_metric({"acc": 0.7, "acc_hat": 0.6}, "video-text") == "acc"
    assert primary_metric({}, "pairs") is None
