"""`raiv train` and `raiv score` as a user runs them: options, bad input, the scored-record contract."""

from __future__ import annotations

import importlib.util

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

from raivtools.commands.score import main as score_main
from raivtools.commands.train import main as train_main
from raivtools.score import ranks_from_similarity
from tests.factories import write_jsonl

TINY_SET = ["--set", "width=32", "--set", "heads=2", "--set", "text_layers=2", "--set", "mlp_ratio=2",
            "--set", "dropout=0", "--set", "context_length=32"]


def invoke(command, args, input: bytes | None = None):
    result = CliRunner().invoke(command, [str(a) for a in args], input=input, catch_exceptions=False)
    return result


def records_of(result) -> list[dict]:
    return [orjson.loads(line) for line in result.stdout_bytes.splitlines() if line.strip()]


@pytest.fixture
def late_run(tmp_path, feature_store, pair_files):
    run = tmp_path / "late"
    result = invoke(train_main, [pair_files["train"], "--features", feature_store, "--arch", "raiv-late", "--out", run,
                                 "--epochs", 1, "--batch-size", 16, "--train-fraction", 0.2, *TINY_SET,
                                 "--set", "fusion_layers=1"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # train writes no records
    assert f"run in {run} (best.pt, last.pt, metrics.jsonl)" in result.stderr
    return run


@pytest.fixture
def navero_run(tmp_path, world, feature_store):
    ids = list(world.items)
    records = world.video_text_records("train", ids[:16]) + world.video_text_records("val", ids[16:20])
    inputs = write_jsonl(tmp_path / "aaro.jsonl", records)
    run = tmp_path / "navero"
    result = invoke(train_main, [inputs, "--features", feature_store, "--arch", "navero", "--out", run, "--epochs", 1,
                                 "--batch-size", 8, "--loss", "navero", *TINY_SET, "--set", "fusion_layers=1",
                                 "--set", "video_layers=1", "--set", "embed_dim=16"])
    assert result.exit_code == 0, result.stderr
    return run


def test_score_pairs_keeps_order_ids_and_adds_the_contract_fields(late_run, tmp_path, world):
    test = world.pair_records(12, "test", seed=11, reason=True)
    test[3]["statement"] = "In both, the thing is rouge — 赤い."
    test[5]["right"]["id"] = "missing-media"
    path = write_jsonl(tmp_path / "test.jsonl", test)
    result = invoke(score_main, [path, "--run", late_run, "--batch-size", 5])
    assert result.exit_code == 0, result.stderr
    scored = records_of(result)
    assert [r["id"] for r in scored] == [r["id"] for r in test]
    for before, after in zip(test, scored):
        assert {k: after[k] for k in before} == before  # every input field kept
    ok = [r for r in scored if r.get("status") != "error"]
    assert all(isinstance(r["score"], float) and 0 < r["score"] < 1 for r in ok)
    with_reason = [r for r in ok if "reason" in r]
    assert with_reason and all(len(r["reason_scores"]) == 3 for r in with_reason)
    assert all(r["reason_pred"] == int(np.argmax(r["reason_scores"])) for r in with_reason)
    assert scored[5]["status"] == "error" and "missing-media" in scored[5]["error"] and "score" not in scored[5]
    assert "11 records: 11 ok, 1 error" in result.stderr or "12 records: 11 ok, 1 error" in result.stderr
    again = invoke(score_main, [path, "--run", late_run, "--batch-size", 5])
    assert again.stdout_bytes == result.stdout_bytes  # same inputs, same bytes
    rebatched = records_of(invoke(score_main, [path, "--run", late_run, "--batch-size", 3, "--chunk", 4]))
    assert [r.get("score") for r in rebatched] == pytest.approx([r.get("score") for r in scored], abs=1e-5)


def test_score_navero_negatives_and_retrieval(navero_run, tmp_path, world):
    ids = list(world.items)
    test = world.video_text_records("test", ids[20:28])
    test[2]["negative"] = None
    path = write_jsonl(tmp_path / "test.jsonl", test)
    result = invoke(score_main, [path, "--run", navero_run, "--task", "retrieval"])
    assert result.exit_code == 0, result.stderr
    scored = records_of(result)
    assert set(scored[0]["score"]) == {"pos", "neg"} and isinstance(scored[2]["score"], float)
    assert all(1 <= r["rank_t2v"] <= 8 and 1 <= r["rank_v2t"] <= 8 for r in scored)
    reranked = records_of(invoke(score_main, [path, "--run", navero_run, "--task", "retrieval", "--rerank", 3]))
    assert all(1 <= r["rank_t2v"] <= 8 and 1 <= r["rank_v2t"] <= 8 for r in reranked)
    assert [r["score"] for r in reranked] == [r["score"] for r in scored]
    plain = records_of(invoke(score_main, [path, "--run", navero_run]))
    assert "rank_t2v" not in plain[0] and plain[0]["score"] == scored[0]["score"]


def test_score_retrieval_needs_a_retrieval_model(late_run, tmp_path, world):
    path = write_jsonl(tmp_path / "t.jsonl", world.pair_records(2, "test"))
    result = CliRunner().invoke(score_main, [str(path), "--run", str(late_run), "--task", "retrieval"])
    assert result.exit_code == 2 and "no retrieval embeddings" in result.stderr


def test_ranks_are_pessimistic_on_ties():
    # 3 captions (rows) x 2 videos (columns); captions 0 and 1 show video 0, caption 2 shows video 1
    similarity = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.3]])
    rank_t2v, rank_v2t = ranks_from_similarity(similarity, [0, 0, 1])
    assert rank_t2v.tolist() == [2, 1, 1]  # caption 0 ties with video 1: ranked below it
    # video 0 vs captions of other videos: caption 2 scores 0.2 on it; video 1: captions 0 (0.5), 1 (0.1)
    assert rank_v2t.tolist() == [1, 1, 2]


def test_score_bad_inputs(late_run, tmp_path):
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"id": "a"}\n{oops\n')
    result = CliRunner().invoke(score_main, [str(bad_json), "--run", str(late_run)])
    assert result.exit_code == 2 and "bad.jsonl:2: malformed JSON" in result.stderr
    missing = write_jsonl(tmp_path / "missing.jsonl", [{"id": "p1", "left": {"id": "m001"}, "right": {"id": "m002"}}])
    result = CliRunner().invoke(score_main, [str(missing), "--run", str(late_run)])
    assert result.exit_code == 2 and "missing.jsonl:1: record 'p1' has no 'statement'" in result.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = CliRunner().invoke(score_main, [str(empty), "--run", str(late_run)])
    assert result.exit_code == 0 and result.stdout == ""
    result = CliRunner().invoke(score_main, [str(empty), "--run", str(tmp_path)])
    assert result.exit_code == 2 and "not a raiv run directory" in result.stderr


def test_train_bad_inputs(tmp_path, feature_store, pair_files):
    base = ["--features", str(feature_store), "--arch", "raiv-late", "--out", str(tmp_path / "r")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "split": "train"}\n')
    result = CliRunner().invoke(train_main, [str(bad), *base])
    assert result.exit_code == 2 and "bad.jsonl:1: record 'x' has no 'left'" in result.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = CliRunner().invoke(train_main, [str(empty), *base])
    assert result.exit_code == 2 and "no training examples" in result.stderr
    result = CliRunner().invoke(train_main, [str(pair_files["train"]), *base[:3], "nope", *base[4:]])
    assert result.exit_code == 2 and "unknown --arch 'nope'" in result.stderr
    result = CliRunner().invoke(train_main, [str(pair_files["train"]), *base, "--set", "widht=3"])
    assert result.exit_code == 2 and "--set 'widht=3'" in result.stderr
    result = CliRunner().invoke(train_main, [str(pair_files["train"]), *base, "--set", "width=wide"])
    assert result.exit_code == 2 and "not a int" in result.stderr
    result = CliRunner().invoke(train_main, [str(pair_files["train"]), *base, "--task", "video-text"])
    assert result.exit_code == 2 and "trains on pairs, reason, tsp" in result.stderr
    if importlib.util.find_spec("raivtools.pairs") is None:
        result = CliRunner().invoke(train_main, [str(pair_files["train"]), *base, "--task", "tsp"])
        assert result.exit_code == 2 and "needs raivtools.pairs" in result.stderr


def test_the_closing_line_names_the_files_the_run_wrote(tmp_path, feature_store, pair_files):
    # without validation records there is no best.pt, and the closing line named one all the same
    run = tmp_path / "noval"
    train_only = write_jsonl(tmp_path / "train.jsonl", [r for r in map(orjson.loads, pair_files["train"].read_bytes()
                                                                       .splitlines()) if r.get("split") == "train"])
    result = invoke(train_main, [train_only, "--features", feature_store, "--arch", "raiv-late", "--out", run,
                                 "--epochs", 1, "--train-fraction", 0.1, *TINY_SET])
    assert result.exit_code == 0, result.stderr
    assert not (run / "best.pt").exists() and f"run in {run} (last.pt, metrics.jsonl)" in result.stderr


def test_fine_tune_from_an_earlier_run(late_run, tmp_path, feature_store, pair_files):
    out = tmp_path / "ft"
    result = invoke(train_main, [pair_files["train"], "--features", feature_store, "--arch", "raiv-late",
                                 "--out", out, "--epochs", 1, "--init", late_run, "--train-fraction", 0.1,
                                 "--task", "reason", "--val", pair_files["val"]])
    assert result.exit_code == 0, result.stderr
    config = orjson.loads((out / "config.json").read_bytes())
    assert config["model"]["width"] == 32 and config["train"]["init"] == str(late_run) and config["task"] == "reason"
    assert config["data"]["val_records"] == 40
    epoch = orjson.loads((out / "metrics.jsonl").read_bytes().splitlines()[0])
    assert "mc_accuracy" in epoch["val"]


def test_help_names_inputs_outputs_and_an_example(raiv):
    for command in ("train", "score"):
        result = raiv(command, "--help")
        assert result.returncode == 0 and "Example:" in result.text and f"raiv {command}" in result.text


def test_init_text_store_uses_the_feature_stores_clip(tmp_path, world, pair_files, feature_store):
    import json

    import open_clip
    import torch

    from raivtools.io.store import ArrayStore, shard_name
    from tests.factories import tiny_open_clip_config

    config_file = tmp_path / "raiv-tiny-store.json"
    config_file.write_text(json.dumps(tiny_open_clip_config()))
    open_clip.add_model_config(config_file)
    checkpoint = tmp_path / "clip.pt"
    clip = open_clip.create_model("raiv-tiny-store", pretrained=None)
    torch.save(clip.state_dict(), checkpoint)
    store = tmp_path / "clip_feats"
    writer = ArrayStore.create(store, meta={"model": str(config_file), "pretrained": str(checkpoint), "embed_dim": 16})
    writer.write_shard(shard_name(0), {m: {"frames": f.astype(np.float16)} for m, f in world.features.items()})
    out = tmp_path / "run"
    result = invoke(train_main, [pair_files["train"], "--features", store, "--arch", "raiv-late", "--out", out,
                                 "--epochs", 1, "--train-fraction", 0.05, "--init-text", "store",
                                 "--set", "width=32", "--set", "heads=2", "--set", "fusion_layers=1"])
    assert result.exit_code == 0, result.stderr
    saved = orjson.loads((out / "config.json").read_bytes())
    assert saved["model"]["init_text"] == f"{config_file}:{checkpoint}" and saved["model"]["text_causal"]
    result = CliRunner().invoke(train_main, [str(pair_files["train"]), "--features", str(feature_store), "--arch",
                                             "raiv-late", "--out", str(tmp_path / "r2"), "--init-text", "store"])
    assert result.exit_code == 2 and "does not name its open_clip model" in result.stderr


def test_init_text_store_takes_a_local_dir_clips_tower(tmp_path, world, pair_files):
    # a store encoded with --model local-dir:DIR stopped --init-text store with "open_clip knows no model
    # 'local-dir'": the folder's path was split at its colon as MODEL:CHECKPOINT
    import json

    import open_clip
    import torch

    from raivtools.io.store import ArrayStore, shard_name
    from raivtools.models.layers import load_open_clip_text_tower
    from raivtools.train.checkpoint import load_checkpoint
    from tests.factories import tiny_open_clip_config

    folder = tmp_path / "clip dir"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": tiny_open_clip_config()}))
    torch.manual_seed(3)
    clip = open_clip.CLIP(**tiny_open_clip_config())
    torch.save(clip.state_dict(), folder / "open_clip_pytorch_model.bin")
    store = tmp_path / "feats"
    writer = ArrayStore.create(store, meta={"model": f"local-dir:{folder}", "pretrained": "openai", "embed_dim": 16})
    writer.write_shard(shard_name(0), {m: {"frames": f.astype(np.float16)} for m, f in world.features.items()})
    out = tmp_path / "run"
    result = invoke(train_main, [pair_files["train"], "--features", store, "--arch", "raiv-late", "--out", out,
                                 "--epochs", 1, "--train-fraction", 0.05, "--init-text", "store", "--lr", "1e-12",
                                 "--set", "width=32", "--set", "heads=2", "--set", "fusion_layers=1"])
    assert result.exit_code == 0, result.stderr
    assert orjson.loads((out / "config.json").read_bytes())["model"]["init_text"] == f"local-dir:{folder}"
    weights = load_checkpoint(out / "last.pt")["model"]
    assert torch.allclose(weights["text_encoder.token_embedding.weight"], clip.token_embedding.weight, atol=1e-6)
    (folder / "open_clip_pytorch_model.bin").unlink()  # without its weights the tower would be random
    with pytest.raises(Exception, match="cannot load"):
        load_open_clip_text_tower(None, f"local-dir:{folder}")


@pytest.mark.parametrize("option, value, message", [("--pairs-per-item", "0", "--pairs-per-item 0.0: must be above 0"),
                                                    ("--itm-candidates", "0", "--itm-candidates must be at least 1"),
                                                    ("--set", "max_frames=0", "max_frames must be at least 1"),
                                                    ("--set", "text_layers=-1", "text_layers must be at least 0"),
                                                    ("--set", "dropout=1.5", "dropout must be between 0 and 1")])
def test_train_refuses_bad_mining_settings(pair_files, feature_store, tmp_path, option, value, message):
    result = CliRunner().invoke(train_main, [str(pair_files["train"]), "--features", str(feature_store), "--arch",
                                             "raiv-late", "--out", str(tmp_path / "run"), option, value])
    assert result.exit_code == 2 and message in result.stderr


@pytest.mark.parametrize("command, option, value", [(train_main, "--frames", "0"), (train_main, "--lr", "-1"),
                                                    (score_main, "--batch-size", "0"), (score_main, "--chunk", "0")])
def test_bad_option_values_exit_2(pair_files, feature_store, tmp_path, command, option, value):
    args = (["--features", str(feature_store), "--arch", "raiv-late", "--out", str(tmp_path / "run")]
            if command is train_main else ["--run", str(tmp_path / "run")])
    result = CliRunner().invoke(command, [str(pair_files["train"]), *args, option, value])
    assert result.exit_code == 2 and f"Invalid value for '{option}'" in result.stderr


def test_train_refuses_a_string_label_before_training(tmp_path, world, feature_store):
    records = world.pair_records(4, "train")
    records[3]["label"] = "false"
    inputs = write_jsonl(tmp_path / "pairs.jsonl", records)
    result = CliRunner().invoke(train_main, [str(inputs), "--features", str(feature_store), "--arch", "raiv-late",
                                             "--out", str(tmp_path / "run"), *TINY_SET])
    assert result.exit_code == 2 and "pairs.jsonl:4: record 'train-3': label must be true or false, got 'false'" \
        in result.stderr
    assert not (tmp_path / "run").exists()


def test_score_passes_upstream_errors_through_untouched(late_run, tmp_path, world):
    test = world.pair_records(4, "test", seed=11)
    test[1].update(status="error", error="encode: no such file")
    test[2].update(status="error", error="encode: no such file")
    test[2]["left"]["id"] = "missing-media"  # no features either: its upstream error must stay
    path = write_jsonl(tmp_path / "test.jsonl", test)
    result = invoke(score_main, [path, "--run", late_run])
    assert result.exit_code == 0, result.stderr
    scored = records_of(result)
    assert scored[1] == test[1] and scored[2] == test[2]
    assert isinstance(scored[0]["score"], float) and isinstance(scored[3]["score"], float)
    assert "4 records: 2 ok, 2 error, upstream errors 2" in result.stderr


def test_a_device_this_machine_lacks_exits_2(pair_files, feature_store, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # no GPU, on machines with one too
    for device, message in (("gpu", "--device gpu: not a torch device name"), ("cuda:0", "--device cuda:0: no CUDA GPU")):
        result = CliRunner().invoke(train_main, [str(pair_files["train"]), "--features", str(feature_store), "--arch",
                                                 "raiv-late", "--out", str(tmp_path / device), "--device", device])
        assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_score_flags_nan_scores_as_errors(late_run, tmp_path, world):
    from tests.train.conftest import write_feature_store

    test = world.pair_records(4, "test", seed=11)
    broken = dict(world.features)
    broken[test[2]["left"]["id"]] = np.full_like(broken[test[2]["left"]["id"]], np.nan)  # an fp16 overflow
    store = write_feature_store(tmp_path / "nan-feats", broken)
    path = write_jsonl(tmp_path / "test.jsonl", test)
    result = invoke(score_main, [path, "--run", late_run, "--features", store])
    assert result.exit_code == 0, result.stderr
    scored = records_of(result)
    assert scored[2]["status"] == "error" and "NaN" in scored[2]["error"] and "score" not in scored[2]
    assert all(isinstance(scored[i]["score"], float) for i in (0, 1, 3))
    assert "4 records: 3 ok, 1 error" in result.stderr
