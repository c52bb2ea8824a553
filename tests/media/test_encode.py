"""encode, run in-process with click's CliRunner (open_clip is imported once for the whole module)."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from raivtools.commands.encode import main as encode_main
from raivtools.io.store import ArrayStore
from tests.factories import write_jsonl


def _run(*args, input=None):
    result = CliRunner().invoke(encode_main, [str(a) for a in args], input=input, catch_exceptions=False)
    records = [__import__("orjson").loads(line) for line in result.stdout_bytes.splitlines() if line.strip()]
    return result, records


@pytest.fixture(scope="module")
def frames_jsonl(media_dir, tmp_path_factory):
    """extract-frames output (in-process too) over a real clip, an image, a unicode clip and a broken file."""
    from raivtools.commands.extract_frames import main as extract_main

    root = tmp_path_factory.mktemp("enc")
    records = [
        {"id": "clip", "video": str(media_dir / "clip.mp4"), "caption": "a man cuts bread", "split": "train"},
        {"id": "photo", "image": str(media_dir / "photo.png"), "caption": "ünïcode 猫"},
        {"id": "uni", "video": str(media_dir / "vidéo 视频.mp4"), "caption": None},
        {"id": "bad", "video": str(media_dir / "garbage.mp4"), "caption": "never encoded"},
    ]
    inputs = write_jsonl(root / "media.jsonl", records)
    result = CliRunner().invoke(extract_main, [str(inputs), "--out", str(root / "frames"), "--size", "40",
                                               "--workers", "1", "--shard-size", "2"], catch_exceptions=False)
    assert result.exit_code == 0
    path = root / "media.frames.jsonl"
    path.write_bytes(result.stdout_bytes)
    return path


def _tiny(tiny_clip_json):
    return ["--model-config", tiny_clip_json, "--pretrained", "none", "--device", "cpu"]


def test_frames_tokens_and_text_into_the_feature_store(frames_jsonl, tiny_clip_json, tmp_path):
    result, out = _run(frames_jsonl, "--out", tmp_path / "feats", *_tiny(tiny_clip_json), "--tokens",
                       "--text-field", "caption", "--shard-size", "2", "--batch-size", "3")
    assert result.exit_code == 0, result.output
    assert "random weights" in result.stderr
    assert [o["id"] for o in out] == ["clip", "photo", "uni", "bad"]
    assert [o["status"] for o in out] == ["ok", "ok", "ok", "error"]
    assert out[0]["features"] == str(tmp_path / "feats") and out[0]["split"] == "train"
    assert "features" not in out[3]  # an upstream error passes through unchanged
    store = ArrayStore(tmp_path / "feats")
    assert store.meta["embed_dim"] == 32 and store.meta["model"] == "tiny-clip" and store.meta["pretrained"] == "none"
    clip = store.get("clip")
    assert clip["frames"].shape == (4, 32) and clip["frames"].dtype == np.float16
    assert clip["tokens"].shape == (4, 16, 32) and clip["tokens"].dtype == np.float16
    assert clip["text.caption"].shape == (32,)
    assert store.get("photo")["frames"].shape == (1, 32) and "text.caption" in store.get("photo")
    assert "text.caption" not in store.get("uni") and "bad" not in store


def test_features_are_the_models_projected_cls(frames_jsonl, tiny_clip_json, tmp_path):
    """A checkpoint file loads by path, and the stored rows are exactly what open_clip computes."""
    import open_clip

    from raivtools.media.clip import register_model_config

    name = register_model_config(str(tiny_clip_json))
    torch.manual_seed(7)
    model = open_clip.create_model(name, pretrained=None).eval()
    checkpoint = tmp_path / "tiny.pt"
    torch.save(model.state_dict(), checkpoint)
    result, out = _run(frames_jsonl, "--out", tmp_path / "feats", "--model-config", tiny_clip_json,
                       "--pretrained", checkpoint, "--device", "cpu", "--text-field", "caption",
                       "--store-dtype", "float32")
    assert result.exit_code == 0, result.output
    assert "random weights" not in result.stderr
    store = ArrayStore(tmp_path / "feats")
    frames = ArrayStore(out[0]["frames"]).get("clip")["frames"]  # 40x40 uint8
    pixels = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
    pixels = torch.nn.functional.interpolate(pixels, size=(32, 32), mode="bicubic", antialias=True).clamp(0, 1)
    mean = torch.tensor(open_clip.OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(open_clip.OPENAI_DATASET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = model.encode_image((pixels - mean) / std).numpy()
        text = model.encode_text(open_clip.get_tokenizer(name)(["a man cuts bread"])).numpy()[0]
    assert np.allclose(store.get("clip")["frames"], expected, atol=1e-4)
    assert np.allclose(store.get("clip")["text.caption"], text, atol=1e-4)


def test_missing_weights_exit_2_saying_what_to_pass(frames_jsonl, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result, _ = _run(frames_jsonl, "--out", tmp_path / "f1", "--model", "ViT-B-32", "--pretrained", "openai",
                     "--device", "cpu", "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 2
    assert "cannot load weights for --model ViT-B-32 --pretrained openai" in result.stderr
    assert "--pretrained none" in result.stderr and "local checkpoint" in result.stderr
    result, _ = _run(frames_jsonl, "--out", tmp_path / "f2", "--model", "ViT-B-32", "--pretrained",
                     tmp_path / "nope.pt", "--device", "cpu")
    assert result.exit_code == 2 and "no such file" in result.stderr and "--pretrained none" in result.stderr


def test_decodes_media_itself_and_is_byte_identical(media_dir, tiny_clip_json, tmp_path):
    records = [{"id": "clip", "video": str(media_dir / "clip.mp4"), "start": 0.5, "end": 2.5},
               {"id": "photo", "image": str(media_dir / "photo.png")},
               {"id": "gone", "video": str(media_dir / "missing.mp4")}]
    inputs = write_jsonl(tmp_path / "m.jsonl", records)
    stores = []
    for name in ("a", "b"):
        result, out = _run(inputs, "--out", tmp_path / name, *_tiny(tiny_clip_json), "--frames", "3",
                           "--sampling", "random", "--workers", "1")
        assert result.exit_code == 0, result.output
        assert [o["status"] for o in out] == ["ok", "ok", "error"] and "no such file" in out[2]["error"]
        stores.append((tmp_path / name / "shard-00000.npz").read_bytes())
    assert stores[0] == stores[1]
    assert ArrayStore(tmp_path / "a").get("clip")["frames"].shape == (3, 32)


def test_shares_fill_one_store_and_a_resume_prints_everything(frames_jsonl, tiny_clip_json, tmp_path):
    common = [*_tiny(tiny_clip_json), "--text-field", "caption", "--shard-size", "1"]
    whole, whole_out = _run(frames_jsonl, "--out", tmp_path / "whole", *common)
    assert whole.exit_code == 0
    ids = []
    for share in ("0/2", "1/2"):
        result, out = _run(frames_jsonl, "--out", tmp_path / "split", *common, "--shard", share)
        assert result.exit_code == 0, result.output
        ids.append([o["id"] for o in out])
    assert ids == [["clip", "uni"], ["photo", "bad"]]
    final, final_out = _run(frames_jsonl, "--out", tmp_path / "split", *common, "--resume")
    assert final.exit_code == 0 and "resumed shards 4" in final.stderr
    strip = lambda records, d: [{**r, "features": "X"} if r.get("features") == str(tmp_path / d) else r for r in records]
    assert strip(final_out, "split") == strip(whole_out, "whole")
    for shard in sorted(p.name for p in (tmp_path / "whole").glob("shard-*")):
        assert (tmp_path / "split" / shard).read_bytes() == (tmp_path / "whole" / shard).read_bytes()


def test_text_only_records_and_bad_input(tiny_clip_json, tmp_path):
    pairs = write_jsonl(tmp_path / "pairs.jsonl", [{"id": "p1", "statement": "the dog runs", "negative": None}])
    result, out = _run(pairs, "--out", tmp_path / "t", *_tiny(tiny_clip_json), "--no-visual",
                       "--text-field", "statement", "--text-field", "negative")
    assert result.exit_code == 0, result.output
    assert ArrayStore(tmp_path / "t").fields("p1") == ["text.statement"]
    result, _ = _run(pairs, "--out", tmp_path / "t2", *_tiny(tiny_clip_json))
    assert result.exit_code == 2 and "pairs.jsonl:1" in result.stderr
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x", "statement": ["not", "a", "string"]}])
    result, _ = _run(bad, "--out", tmp_path / "t3", *_tiny(tiny_clip_json), "--no-visual", "--text-field", "statement")
    assert result.exit_code == 2 and "bad.jsonl:1" in result.stderr and "must be a string" in result.stderr


def test_a_text_field_no_record_has_is_a_warning(tiny_clip_json, tmp_path):
    captions = write_jsonl(tmp_path / "captions.jsonl", [{"id": "c1", "caption": "a dog runs"}, {"id": "c2"}])
    result, out = _run(captions, "--out", tmp_path / "t", *_tiny(tiny_clip_json), "--no-visual",
                       "--text-field", "captoin", "--text-field", "caption")
    assert result.exit_code == 0 and [o["status"] for o in out] == ["ok", "ok"]
    # a typo used to end "ok" with an empty store and not a word on stderr
    assert "--text-field 'captoin': no record has" in result.stderr and "'caption': no record" not in result.stderr
    assert ArrayStore(tmp_path / "t").fields("c1") == ["text.caption"]


def test_extract_frames_pipes_into_encode_with_no_glue(media_dir, tiny_clip_json, tmp_path):
    """The user's shell pipe, as two real processes: encode reads frames while extract-frames still writes."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    inputs = write_jsonl(tmp_path / "media.jsonl", [
        {"id": f"c{i}", "video": str(media_dir / "clip.mp4"), "start": i * 0.5, "end": i * 0.5 + 2} for i in range(4)
    ] + [{"id": "img", "image": str(media_dir / "photo.png")}])
    raiv = f"{sys.executable} -m raivtools"
    command = (f"{raiv} extract-frames {inputs} --out frames/ --shard-size 2 --workers 1 | "
               f"{raiv} encode --model-config {tiny_clip_json} --pretrained none --device cpu --out feats/")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    records = [__import__("orjson").loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in records] == ["c0", "c1", "c2", "c3", "img"]
    assert all(r["frames"] == "frames/" and r["features"] == "feats/" and r["status"] == "ok" for r in records)
    store = ArrayStore(tmp_path / "feats")
    assert len(store) == 5 and store.get("img")["frames"].shape == (1, 32)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_half_precisions_encode_and_agree_with_fp32(frames_jsonl, tiny_clip_json, tmp_path, precision):
    # open_clip keeps embeddings and norms in float32 in a half model: pixels must match the first conv's dtype
    runs = {}
    for name in ("fp32", precision):
        result, out = _run(frames_jsonl, "--out", tmp_path / name, *_tiny(tiny_clip_json), "--precision", name)
        assert result.exit_code == 0, result.output
        assert [o["status"] for o in out] == ["ok", "ok", "ok", "error"]
        runs[name] = ArrayStore(tmp_path / name).get("clip")["frames"].astype(np.float32)
    assert np.allclose(runs[precision], runs["fp32"], atol=0.1 * np.abs(runs["fp32"]).max())


# ---- the pipeline's stages: batching, staging, shard order and damaged frame stores


def test_frame_batches_cut_clips_across_batches():
    from raivtools.media.encode import frame_batches

    clips = [np.full((3, 1), 1), np.full((4, 1), 2), np.full((1, 1), 3)]
    batches = frame_batches(clips, 3)
    assert [[piece[:, 0].tolist() for piece in batch] for batch in batches] == [
        [[1, 1, 1]], [[2, 2, 2]], [[2], [3]]]
    assert frame_batches([], 3) == [] and frame_batches([np.zeros((0, 1))], 3) == []


def _encoder(tiny_clip_json):
    from raivtools.media.clip import ClipEncoder, ClipSpec, register_model_config

    torch.manual_seed(0)
    return ClipEncoder(ClipSpec(model=register_model_config(str(tiny_clip_json)), pretrained="none", device="cpu"))


def test_stage_reads_stored_pieces_into_the_batch(tiny_clip_json, tmp_path):
    from raivtools.io.store import shard_name

    encoder = _encoder(tiny_clip_json)
    rng = np.random.default_rng(0)
    clip, other = rng.integers(0, 255, (3, 40, 40, 3), dtype=np.uint8), rng.integers(0, 255, (2, 40, 40, 3), dtype=np.uint8)
    ArrayStore.create(tmp_path / "frames").write_shard(shard_name(0), {"c": {"frames": clip}})
    lazy = ArrayStore(tmp_path / "frames").lazy("c", "frames")
    (staged,) = encoder.stage([lazy[1:], other, lazy[:1]])
    assert np.array_equal(staged.numpy(), np.concatenate([clip[1:], other, clip[:1]]))
    pooled, _ = encoder.launch([staged]).result()
    assert np.allclose(pooled, encoder.encode_images([clip[1:], other, clip[:1]])[0], atol=1e-6)
    wide = rng.integers(0, 255, (1, 40, 60, 3), dtype=np.uint8)  # another frame size: staged on its own
    assert [tuple(t.shape) for t in encoder.stage([lazy[:2], wide])] == [(2, 40, 40, 3), (1, 40, 60, 3)]


def _pipeline(tiny_clip_json, tmp_path, records, **config):
    from raivtools.io.report import RunSummary
    from raivtools.media.encode import EncodeConfig, FeatureEncoder, store_meta

    encoder = _encoder(tiny_clip_json)
    settings = EncodeConfig(**config)
    writer = ArrayStore.create(tmp_path / "feats", meta=store_meta(settings, encoder))
    encoding = FeatureEncoder(settings, encoder, writer, str(tmp_path / "feats"), RunSummary("test"))
    return writer, encoding.run(("in.jsonl", n + 1, r) for n, r in enumerate(records))


def _frame_records(tmp_path, count, frames=3):
    from raivtools.io.store import shard_name

    rng = np.random.default_rng(1)
    writer = ArrayStore.create(tmp_path / "frames")
    clips = {f"r{i}": {"frames": rng.integers(0, 255, (frames, 40, 40, 3), dtype=np.uint8)} for i in range(count)}
    writer.write_shard(shard_name(0), clips)
    return [{"id": i, "frames": str(tmp_path / "frames"), "status": "ok"} for i in clips], clips


def test_records_come_out_in_order_once_their_shard_is_on_disk(tiny_clip_json, tmp_path):
    from raivtools.io.store import shard_name

    records, clips = _frame_records(tmp_path, 11)
    writer, run = _pipeline(tiny_clip_json, tmp_path, records, batch_size=4, shard_size=3)
    seen = []
    for record in run:
        seen.append(record["id"])
        assert writer.is_done(shard_name((len(seen) - 1) // 3)), "a record came out before its shard was written"
    assert seen == [r["id"] for r in records]
    store = ArrayStore(tmp_path / "feats")
    encoder = _encoder(tiny_clip_json)
    for record_id, arrays in clips.items():  # batches of 4 frames straddle records and shards: same features
        expected = encoder.encode_images([arrays["frames"]])[0]
        assert np.allclose(store.get(record_id)["frames"], expected, atol=2e-3)


def test_a_failed_shard_write_stops_the_run(tiny_clip_json, tmp_path, monkeypatch):
    records, _ = _frame_records(tmp_path, 7)
    writer, run = _pipeline(tiny_clip_json, tmp_path, records, shard_size=2)
    original = writer.write_shard

    def failing(name, items, stats=None):
        if name.endswith("1"):
            raise OSError(28, "No space left on device")
        original(name, items, stats)

    monkeypatch.setattr(writer, "write_shard", failing)
    out = []
    with pytest.raises(OSError, match="No space left"):
        for record in run:
            out.append(record["id"])
    assert out == ["r0", "r1"]  # what came out is on disk; nothing after the failed shard


def test_damaged_frame_store_shard_gives_error_records(frames_jsonl, tiny_clip_json, tmp_path):
    import shutil

    import orjson

    records = [orjson.loads(line) for line in frames_jsonl.read_bytes().splitlines()]
    frames_dir = tmp_path / "frames"
    shutil.copytree(records[0]["frames"], frames_dir)
    (frames_dir / "shard-00000.npz").write_bytes(b"\x00not a zip")
    for record in records:
        if "frames" in record:
            record["frames"] = str(frames_dir)
    result, out = _run(write_jsonl(tmp_path / "in.jsonl", records), "--out", tmp_path / "feats", *_tiny(tiny_clip_json))
    assert result.exit_code == 0, result.output
    by_id = {r["id"]: r for r in out}
    assert by_id["clip"]["status"] == "error" and "unreadable store shard" in by_id["clip"]["error"]
    assert by_id["uni"]["status"] == "ok"  # in the other shard
