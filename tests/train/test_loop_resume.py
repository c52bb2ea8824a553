"""--resume after a stop at the worst moments: while best.pt or last.pt is written, before any last.pt; and the
runs --resume must refuse."""

from __future__ import annotations

import dataclasses
import json

import orjson
import pytest

from raivtools.io.errors import InputError
from raivtools.train import checkpoint as ckpt
from raivtools.train.checkpoint import load_checkpoint
from raivtools.train.loop import Distributed, Trainer, TrainConfig, train
from tests.factories import write_jsonl
from tests.train.conftest import TINY

RAIV = {**TINY, "fusion_layers": 1}


def config(tmp_path, inputs, features, **overrides) -> TrainConfig:
    values = {"arch": "raiv-late", "inputs": [str(inputs)], "features": str(features), "out": str(tmp_path / "run"),
              "epochs": 2, "batch_size": 4, "lr": 2e-3, "head_lr_mult": 1.0, "seed": 3, "log_every": 1}
    values.update(overrides)
    return TrainConfig(**values)


def stop_at_save(monkeypatch, name: str, nth: int) -> None:
    """The ``nth`` write of checkpoint ``name`` is interrupted (Ctrl-C), leaving the file as it was."""
    save = ckpt.save_checkpoint
    count = {"saves": 0}

    def interrupted(path, state):
        count["saves"] += path.name == name
        if path.name == name and count["saves"] == nth:
            raise KeyboardInterrupt
        save(path, state)

    monkeypatch.setattr(ckpt, "save_checkpoint", interrupted)


def stopped_and_resumed(monkeypatch, run_config: TrainConfig, name: str, nth: int) -> None:
    with monkeypatch.context() as patch:
        stop_at_save(patch, name, nth)
        with pytest.raises(KeyboardInterrupt):
            train(run_config, RAIV)
    train(dataclasses.replace(run_config, resume=True), RAIV)


def test_stop_while_writing_best_keeps_the_best_epoch(tmp_path, world, feature_store, monkeypatch):
    # validation accuracy 0.5, 0.7, 0.6: best.pt is epoch 2's. A stop while best.pt is written in epoch 2 must not
    # leave last.pt knowing 0.7 as the best with best.pt still epoch 1's (epoch 3 would then never replace it)
    accuracies = [0.5, 0.7, 0.6]
    monkeypatch.setattr(Trainer, "validate", lambda self: {"accuracy": accuracies[self.epoch], "loss": 1.0})
    inputs = write_jsonl(tmp_path / "pairs.jsonl", world.pair_records(16, "train"))
    whole = config(tmp_path / "a", inputs, feature_store, epochs=3)
    train(whole, RAIV)
    assert load_checkpoint(tmp_path / "a/run/best.pt")["epoch"] == 2
    stopped = config(tmp_path / "b", inputs, feature_store, epochs=3)
    stopped_and_resumed(monkeypatch, stopped, "best.pt", 2)
    assert load_checkpoint(tmp_path / "b/run/best.pt")["epoch"] == 2
    assert (tmp_path / "a/run/metrics.jsonl").read_bytes() == (tmp_path / "b/run/metrics.jsonl").read_bytes()


@pytest.mark.parametrize("nth", [1, 2, 3])
def test_stop_while_writing_last_logs_every_line_once(tmp_path, world, feature_store, monkeypatch, nth):
    # 16 examples / batch 4 = 4 steps an epoch, --save-every 4: last.pt is written at step 4 and again once epoch 1
    # is validated. Stopped in the first write, no last.pt exists and the run starts again (its step lines must not
    # stay twice); in the second, the step-4 last.pt precedes epoch 1's line, which has that same step
    inputs = write_jsonl(tmp_path / "pairs.jsonl", world.pair_records(16, "train") + world.pair_records(4, "val"))
    train(config(tmp_path / "a", inputs, feature_store, save_every=4), RAIV)
    stopped_and_resumed(monkeypatch, config(tmp_path / "b", inputs, feature_store, save_every=4), "last.pt", nth)
    whole, resumed = (tmp_path / "a/run/metrics.jsonl").read_bytes(), (tmp_path / "b/run/metrics.jsonl").read_bytes()
    assert whole == resumed, [(m["event"], m["step"]) for m in map(orjson.loads, resumed.splitlines())]


def test_resume_refuses_other_data_or_another_world_size(tmp_path, world, feature_store):
    # the lr schedule's length and each rank's batches follow the data and the number of processes
    records = world.pair_records(16, "train")
    inputs = write_jsonl(tmp_path / "pairs.jsonl", records)
    train(config(tmp_path, inputs, feature_store, save_every=1), RAIV, stop_after_steps=1)
    saved = json.loads((tmp_path / "run/config.json").read_text())
    (tmp_path / "run/config.json").write_text(json.dumps({**saved, "world_size": 2}))
    with pytest.raises(InputError, match=r"other settings.*\bworld_size\b"):
        train(config(tmp_path, inputs, feature_store, save_every=1, resume=True), RAIV)
    (tmp_path / "run/config.json").write_text(json.dumps(saved))
    write_jsonl(inputs, records + world.pair_records(16, "train", seed=7))
    with pytest.raises(InputError, match=r"other settings.*\bsteps\b"):
        train(config(tmp_path, inputs, feature_store, save_every=1, resume=True), RAIV)


def test_resume_takes_its_ranks_rng_state_or_the_only_one(tmp_path, world, feature_store):
    # a torchrun job's last.pt holds every rank's RNG state; a single process's (or an older one) holds rank 0's
    import torch

    inputs = write_jsonl(tmp_path / "pairs.jsonl", world.pair_records(8, "train"))
    trainer = train(config(tmp_path, inputs, feature_store, epochs=1), RAIV)
    state = load_checkpoint(tmp_path / "run/last.pt")
    assert "rank_rng" not in state
    rank_1 = torch.Generator().manual_seed(5).get_state()
    trainer.dist = Distributed(rank=1, world_size=2)
    trainer._restore({**state, "rank_rng": {0: {"torch_rng": state["torch_rng"]}, 1: {"torch_rng": rank_1}}})
    assert torch.equal(torch.get_rng_state(), rank_1)
    trainer._restore(state)
    assert torch.equal(torch.get_rng_state(), state["torch_rng"])
