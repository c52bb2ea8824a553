"""`raiv train` / `raiv score` end to end for VideoDistill and VLM on a tiny feature store (CLI smoke runs).

The commands run in-process through click's runner: a subprocess would spend most of these tests importing
torch and open_clip again (tests/test_cli.py covers the subprocess entry point)."""

from __future__ import annotations

import orjson
import pytest
import torch
from click.testing import CliRunner

from raivtools.cli import cli as raiv_cli
from tests.factories import write_jsonl
from tests.models.video_text_data import World, single_thread, world_store

TINY_SETTINGS = ["--set", "width=32", "--set", "heads=2", "--set", "text_layers=2", "--set", "mlp_ratio=2.0",
                 "--set", "context_length=16"]


class Result:
    """What one in-process ``raiv`` call gave."""

    def __init__(self, result):
        self.returncode = result.exit_code
        self.stdout = result.stdout_bytes
        self.stderr = result.stderr + (repr(result.exception) if result.exception else "")

    def records(self) -> list[dict]:
        return [orjson.loads(line) for line in self.stdout.splitlines() if line.strip()]


@pytest.fixture
def raiv():
    def run(*args: str) -> Result:
        with single_thread():
            return Result(CliRunner().invoke(raiv_cli, list(args), catch_exceptions=True))

    torch.manual_seed(0)
    return run


@pytest.fixture
def world() -> World:
    return World(n_media=16, frames=6)


@pytest.fixture
def records(tmp_path, world):
    ids = list(world.items)
    train = world.video_text_records("train", ids[:12])
    test = world.video_text_records("test", ids[12:])
    return write_jsonl(tmp_path / "train.jsonl", train), write_jsonl(tmp_path / "test.jsonl", test)


def train_run(raiv, tmp_path, arch, train_file, store, *extra):
    run = tmp_path / f"run-{arch}"
    result = raiv("train", str(train_file), "--features", str(store), "--arch", arch, "--out", str(run),
                  "--epochs", "2", "--batch-size", "6", "--lr", "2e-3", "--seed", "1", *TINY_SETTINGS, *extra)
    assert result.returncode == 0, result.stderr
    return run


def test_videodistill_trains_and_scores_with_patch_tokens(raiv, tmp_path, world, records):
    store = world_store(tmp_path / "feats", world, patches=3)
    run = train_run(raiv, tmp_path, "videodistill", records[0], store, "--frames", "6",
                    "--set", "select_frames=2", "--set", "embed_dim=16", "--loss", "vtm,cl,vg-mlm")
    config = (run / "config.json").read_text()
    assert '"token_dim": 16' in config  # built for the store's patch tokens
    scored = raiv("score", str(records[1]), "--run", str(run))
    assert scored.returncode == 0, scored.stderr
    out = scored.records()
    assert [r["id"] for r in out] == [r["id"] for r in World(n_media=16).video_text_records("x")][12:]
    for record in out:
        assert 0.0 <= record["score"]["pos"] <= 1.0 and 0.0 <= record["score"]["neg"] <= 1.0
        frames = record["selected_frames"]
        assert len(frames) == 2 and all(0 <= f < len(world.features[record["id"]]) for f in frames)


def test_vlm_trains_and_scores_retrieval(raiv, tmp_path, world, records):
    store = world_store(tmp_path / "feats", world)
    run = train_run(raiv, tmp_path, "vlm", records[0], store, "--loss", "vlm")
    scored = raiv("score", str(records[1]), "--run", str(run), "--task", "retrieval")
    assert scored.returncode == 0, scored.stderr
    out = scored.records()
    assert len(out) == 4
    for record in out:
        assert 1 <= record["rank_t2v"] <= 4 and 1 <= record["rank_v2t"] <= 4
        assert 0.0 <= record["score"]["pos"] <= 1.0
