"""encode --resume and --shard I/N over real inputs: no record printed "ok" without its arrays, and a split run
stores what a whole run stores."""

import numpy as np
import orjson
from click.testing import CliRunner

from raivtools.commands.encode import main as encode_main
from raivtools.io.store import ArrayStore, shard_name
from tests.factories import write_jsonl


def _run(*args):
    result = CliRunner().invoke(encode_main, [str(a) for a in args], catch_exceptions=False)
    return result, [orjson.loads(line) for line in result.stdout_bytes.splitlines() if line.strip()]


def _tiny(tiny_clip_json):
    return ["--model-config", tiny_clip_json, "--pretrained", "none", "--device", "cpu", "--shard-size", "1"]


def _frame_store(tmp_path, ids):
    rng = np.random.default_rng(0)
    writer = ArrayStore.create(tmp_path / "frames")
    writer.write_shard(shard_name(0), {i: {"frames": rng.integers(0, 255, (2, 32, 32, 3), dtype=np.uint8)} for i in ids})
    return str(tmp_path / "frames")


def test_resume_over_changed_input_redoes_the_shards_that_changed(tiny_clip_json, tmp_path):
    # a record put in front moved every record one shard on: the done shard 0 used to be skipped, and "new"
    # printed "ok" with no arrays in the store
    frames = _frame_store(tmp_path, ["a", "b", "c", "new"])
    old = write_jsonl(tmp_path / "old.jsonl", [{"id": i, "frames": frames} for i in ("a", "b", "c")])
    result, _ = _run(old, "--out", tmp_path / "feats", *_tiny(tiny_clip_json))
    assert result.exit_code == 0, result.output
    (tmp_path / "feats" / "shard-00002.json").unlink()  # interrupted before the last shard was done
    new = write_jsonl(tmp_path / "new.jsonl", [{"id": i, "frames": frames} for i in ("new", "a", "b", "c")])
    result, out = _run(new, "--out", tmp_path / "feats", *_tiny(tiny_clip_json), "--resume")
    assert result.exit_code == 0, result.output
    assert [(o["id"], o["status"]) for o in out] == [("new", "ok"), ("a", "ok"), ("b", "ok"), ("c", "ok")]
    assert "shard-00000 was made from other records" in result.stderr
    store = ArrayStore(tmp_path / "feats")
    assert sorted(store.ids()) == ["a", "b", "c", "new"]
    whole, _ = _run(new, "--out", tmp_path / "whole", *_tiny(tiny_clip_json))
    for record_id in ("new", "a", "b", "c"):
        assert np.array_equal(store.get(record_id)["frames"], ArrayStore(tmp_path / "whole").get(record_id)["frames"])


def test_resume_over_the_same_input_skips_every_done_shard(tiny_clip_json, tmp_path):
    frames = _frame_store(tmp_path, ["a", "b"])
    inputs = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "frames": frames}, {"id": "a", "frames": frames},
                                                 {"id": "x", "status": "error", "error": "upstream"},
                                                 {"id": "b", "frames": frames}])
    result, first = _run(inputs, "--out", tmp_path / "feats", *_tiny(tiny_clip_json))
    assert result.exit_code == 0, result.output
    result, again = _run(inputs, "--out", tmp_path / "feats", *_tiny(tiny_clip_json), "--resume")
    assert result.exit_code == 0 and "resumed shards 4" in result.stderr and "other records" not in result.stderr
    assert again == first


def test_a_duplicate_id_in_another_share_keeps_the_first_records_arrays(media_dir, tiny_clip_json, tmp_path):
    # share 1 did not know share 0 had the id: it stored the second record's arrays, which readers then took
    video = str(media_dir / "clip.mp4")  # brightness grows with time: the two records' frames differ
    inputs = write_jsonl(tmp_path / "in.jsonl", [{"id": "v", "video": video, "start": 0.0, "end": 1.0},
                                                 {"id": "v", "video": video, "start": 3.0, "end": 4.0},
                                                 {"id": "w", "video": video}])
    common = [*_tiny(tiny_clip_json), "--frames", "2", "--workers", "1", "--store-dtype", "float32"]
    result, _ = _run(inputs, "--out", tmp_path / "whole", *common)
    assert result.exit_code == 0, result.output
    for share in ("0/2", "1/2"):
        result, _ = _run(inputs, "--out", tmp_path / "split", *common, "--shard", share)
        assert result.exit_code == 0, result.output
    whole, split = ArrayStore(tmp_path / "whole"), ArrayStore(tmp_path / "split")
    assert np.array_equal(split.get("v")["frames"], whole.get("v")["frames"])
    for shard in sorted(p.name for p in (tmp_path / "whole").glob("shard-*")):
        assert (tmp_path / "split" / shard).read_bytes() == (tmp_path / "whole" / shard).read_bytes()
