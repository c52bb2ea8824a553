import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson

from raivtools.io.store import ArrayStore
from tests.conftest import REPO
from tests.factories import make_video, write_jsonl


def _records(media_dir):
    return [
        {"id": "clip", "video": str(media_dir / "clip.mp4"), "start": 1.0, "end": 3.0, "caption": "a clip"},
        {"id": "photo", "image": str(media_dir / "photo.png"), "split": "train"},
        {"id": "uni✓", "video": str(media_dir / "vidéo 视频.mp4"), "caption": "ünïcode"},
        {"id": "empty", "video": str(media_dir / "empty.mp4")},
        {"id": "garbage", "video": str(media_dir / "garbage.mp4")},
        {"id": "missing", "video": str(media_dir / "missing.mp4")},
        {"id": "truncated", "video": str(media_dir / "truncated.mp4")},
    ]


def test_mixed_records_give_frames_and_honest_errors(raiv, media_dir, tmp_path):
    inputs = write_jsonl(tmp_path / "media.jsonl", _records(media_dir))
    r = raiv("extract-frames", inputs, "--out", tmp_path / "fr", "--frames", "4", "--size", "32",
             "--workers", "2", "--shard-size", "3")
    assert r.returncode == 0, r.stderr
    out = r.records()
    assert [o["id"] for o in out] == [x["id"] for x in _records(media_dir)]
    assert out[0]["caption"] == "a clip" and out[1]["split"] == "train"
    assert all(o["frames"] == str(tmp_path / "fr") for o in out)
    status = {o["id"]: (o["status"], o.get("error", "")) for o in out}
    assert [s for s, _ in status.values()] == ["ok"] * 3 + ["error"] * 4
    assert "empty file" in status["empty"][1] and "no such file" in status["missing"][1]
    assert "cannot open video" in status["garbage"][1] and "cannot open video" in status["truncated"][1]
    assert "7 records: 3 ok, 4 error" in r.stderr
    store = ArrayStore(tmp_path / "fr")
    clip = store.get("clip")
    assert clip["frames"].shape == (4, 32, 32, 3) and clip["frames"].dtype == np.uint8
    assert clip["timestamps"].dtype == np.float32 and np.allclose(clip["timestamps"], np.array([15, 21, 27, 33]) / 12)
    assert store.get("photo")["frames"].shape == (1, 32, 32, 3)
    assert store.get("uni✓")["frames"].shape == (4, 32, 32, 3)
    assert store.fields("garbage") == []
    assert store.meta["frames"] == 4 and store.meta["kind"] == "frames"


def test_hung_decoder_times_out_and_the_run_goes_on(raiv, media_dir, tmp_path):
    fifo = tmp_path / "hang.mp4"
    os.mkfifo(fifo)
    inputs = write_jsonl(tmp_path / "m.jsonl", [{"id": "hang", "video": str(fifo)},
                                                 {"id": "ok", "image": str(media_dir / "photo.png")}])
    r = raiv("extract-frames", inputs, "--out", tmp_path / "fr", "--timeout", "1", "--workers", "1")
    assert r.returncode == 0, r.stderr
    out = r.records()
    assert out[0]["status"] == "error" and "timed out" in out[0]["error"]
    assert out[1]["status"] == "ok"


def test_random_sampling_is_seeded_and_byte_identical(raiv, media_dir, tmp_path):
    inputs = write_jsonl(tmp_path / "m.jsonl", _records(media_dir)[:3])
    runs = []
    for name, seed in (("store_a", "1"), ("store_b", "1"), ("store_c", "2")):
        r = raiv("extract-frames", inputs, "--out", tmp_path / name, "--sampling", "random", "--seed", seed,
                 "--size", "16", "--workers", "2")
        assert r.returncode == 0, r.stderr
        runs.append((r.stdout.replace(str(tmp_path / name).encode(), b"X"), (tmp_path / name / "shard-00000.npz").read_bytes()))
    assert runs[0] == runs[1]
    assert runs[0][1] != runs[2][1]


def test_bad_input_exits_2_naming_file_and_line(raiv, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "image": "x.png"}\n{"id": "b"}\n', encoding="utf-8")
    r = raiv("extract-frames", bad, "--out", tmp_path / "fr")
    assert r.returncode == 2 and f"{bad}:2" in r.stderr and "'video' or 'image'" in r.stderr
    bad.write_text('{"id": "a", "video": "x.mp4", "start": 3, "end": 1}\n', encoding="utf-8")
    r = raiv("extract-frames", bad, "--out", tmp_path / "fr2")
    assert r.returncode == 2 and f"{bad}:1" in r.stderr
    bad.write_text('{"id": "a", "video": \n', encoding="utf-8")
    r = raiv("extract-frames", bad, "--out", tmp_path / "fr3")
    assert r.returncode == 2 and "malformed JSON" in r.stderr
    r = raiv("extract-frames", "--out", tmp_path / "fr4", input="")
    assert r.returncode == 0 and r.stdout == b""


def test_resume_after_a_killed_run_gives_the_same_store(raiv, tmp_path):
    videos = [make_video(tmp_path / f"v{i}.mp4", frames=12, fps=12, seed=i) for i in range(6)]
    records = [{"id": f"v{i}", "video": str(v)} for i, v in enumerate(videos)]
    inputs = write_jsonl(tmp_path / "m.jsonl", records)
    common = ["--size", "16", "--shard-size", "2", "--workers", "1", "--sampling", "random", "--seed", "3"]
    whole = raiv("extract-frames", inputs, "--out", tmp_path / "whole", *common)
    assert whole.returncode == 0, whole.stderr

    # a real interruption: feed records through a pipe, kill the process once the first shard is done
    store = tmp_path / "cut"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "raivtools", "extract-frames", "--out", str(store), *common],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdin.write(b"".join(orjson.dumps(r) + b"\n" for r in records[:3]))
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while not (store / "shard-00000.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (store / "shard-00000.json").exists() and not (store / "shard-00002.json").exists()

    refused = raiv("extract-frames", inputs, "--out", store, *common)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    resumed = raiv("extract-frames", inputs, "--out", store, *common, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed shards 1" in resumed.stderr
    assert resumed.stdout.replace(b"cut", b"X") == whole.stdout.replace(b"whole", b"X")
    names = sorted(p.name for p in (tmp_path / "whole").iterdir())
    assert names == sorted(p.name for p in store.iterdir())
    for name in names:
        assert (store / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    other = raiv("extract-frames", inputs, "--out", store, *common[:-1], "4", "--resume")
    assert other.returncode == 2 and "seed" in other.stderr


def test_resume_keeps_error_messages(raiv, media_dir, tmp_path):
    inputs = write_jsonl(tmp_path / "m.jsonl", _records(media_dir)[3:6])
    first = raiv("extract-frames", inputs, "--out", tmp_path / "fr", "--workers", "1")
    again = raiv("extract-frames", inputs, "--out", tmp_path / "fr", "--workers", "1", "--resume")
    assert again.returncode == 0 and first.stdout == again.stdout


def test_repeated_ids_decode_once_and_conflicts_are_errors(raiv, media_dir, tmp_path):
    clip = {"id": "same", "video": str(media_dir / "clip.mp4")}
    records = [clip, {**clip, "caption": "second caption"}, {"id": "same", "image": str(media_dir / "photo.png")}]
    r = raiv("extract-frames", write_jsonl(tmp_path / "m.jsonl", records), "--out", tmp_path / "fr",
             "--size", "16", "--workers", "1")
    assert r.returncode == 0, r.stderr
    out = r.records()
    assert [o["status"] for o in out] == ["ok", "ok", "error"] and out[1]["caption"] == "second caption"
    assert "other media" in out[2]["error"]
    assert ArrayStore(tmp_path / "fr").get("same")["frames"].shape == (4, 16, 16, 3)


def test_workers_replaced_for_memory_give_the_same_store(raiv, media_dir, tmp_path):
    # --worker-memory 64 is below a fresh worker's size: every worker is replaced after one item
    inputs = write_jsonl(tmp_path / "m.jsonl", _records(media_dir)[:3])
    shards = []
    for name, extra in (("kept", []), ("replaced", ["--worker-memory", "64"])):
        r = raiv("extract-frames", inputs, "--out", tmp_path / name, "--size", "16", "--workers", "1", *extra)
        assert r.returncode == 0, r.stderr
        assert [o["status"] for o in r.records()] == ["ok"] * 3
        shards.append((tmp_path / name / "shard-00000.npz").read_bytes())
    assert shards[0] == shards[1]
