"""The ``clip`` architecture: CLIP trained on a frame store's pixels and captions, exported as an open_clip
checkpoint that ``raiv encode`` and ``--init-text store`` load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import orjson
import pytest
import torch

from raivtools.io.errors import InputError
from raivtools.io.store import ArrayStore, shard_name
from raivtools.score import validation_metrics
from raivtools.train.data import Collator, Example, FeatureSource
from raivtools.train.loop import TrainConfig, primary_metric, train
from tests.factories import tiny_open_clip_config, write_jsonl
from tests.train.conftest import write_feature_store

COLOURS = {"red": (220, 30, 30), "blue": (30, 60, 225), "green": (40, 185, 50), "yellow": (245, 220, 30)}
PLACES = {"top": (0, 12), "bottom": (20, 32)}


def picture(colour: str, place: str, rng: np.random.Generator, frames: int) -> np.ndarray:
    """uint8 [K, 32, 32, 3]: a grey picture with a coloured band at the top or the bottom, and pixel noise."""
    pixels = np.full((frames, 32, 32, 3), 128, np.int16)
    top, bottom = PLACES[place]
    pixels[:, top:bottom] = COLOURS[colour]
    pixels += rng.integers(-12, 13, size=pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def picture_world(tmp_path_factory) -> dict:
    """A frame store of 48 pictures (colour x place), their caption records, and the tiny CLIP architecture."""
    root = tmp_path_factory.mktemp("clip")
    rng = np.random.default_rng(0)
    writer = ArrayStore.create(root / "frames", meta={"kind": "frames", "frames": 2, "size": 32})
    items, records = {}, []
    for i in range(48):
        colour, place = list(COLOURS)[i % 4], list(PLACES)[(i // 4) % 2]
        media_id = f"p{i:02d}"
        items[media_id] = {"frames": picture(colour, place, rng, 1 if i % 6 == 0 else 2)}
        records.append({"id": media_id, "caption": f"a {colour} band at the {place}",
                        "split": "val" if i >= 40 else "train", "extra": "kept ✓"})
    for number, start in enumerate(range(0, 48, 16)):
        writer.write_shard(shard_name(number), dict(list(items.items())[start:start + 16]))
    config = root / "tiny-clip.json"
    config.write_text(json.dumps(tiny_open_clip_config()), encoding="utf-8")
    write_jsonl(root / "captions.jsonl", records)
    return {"root": root, "frames": root / "frames", "config": config, "captions": root / "captions.jsonl"}


def train_clip(world: dict, out: Path, epochs: int = 12):
    config = TrainConfig(arch="clip", inputs=[str(world["captions"])], features=str(world["frames"]), out=str(out),
                         epochs=epochs, batch_size=16, lr=2e-3, warmup=0.1, seed=0)
    return train(config, {"clip_model": str(world["config"])})


def test_clip_learns_captions_and_exports_an_open_clip_checkpoint(picture_world, tmp_path):
    from raivtools.media.clip import ClipEncoder, ClipSpec

    trainer = train_clip(picture_world, tmp_path / "run")
    lines = [orjson.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_bytes().splitlines()]
    assert lines[-1]["train_loss"] < 0.6 * lines[0]["train_loss"]
    assert lines[-1]["val"]["r1"] > 0.25  # 8 validation captions: chance R@1 is 1/8
    exported = tmp_path / "run" / "open_clip.pt"
    assert exported.exists() and (tmp_path / "run" / "tiny-clip.json").exists()

    # the exported weights are the best epoch's model, as open_clip loads them for raiv encode
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)["model"]
    trainer.model.load_state_dict(best)
    encoder = ClipEncoder(ClipSpec(model="tiny-clip", model_config=str(tmp_path / "run" / "tiny-clip.json"),
                                   pretrained=str(exported)))
    frames = FeatureSource(str(picture_world["frames"])).get("p01")
    with torch.no_grad():
        from_run = trainer.model.clip.encode_image(encoder.preprocess(frames)).numpy()
    np.testing.assert_allclose(encoder.encode_images([frames])[0], from_run, rtol=1e-4, atol=1e-5)


def test_encode_with_the_trained_clip_then_init_text_from_the_store(picture_world, tmp_path, raiv):
    train_clip(picture_world, tmp_path / "run", epochs=1)
    frames_records = [{"id": f"p{i:02d}", "frames": str(picture_world["frames"]), "status": "ok"} for i in range(48)]
    write_jsonl(tmp_path / "frames.jsonl", frames_records)
    result = raiv("encode", str(tmp_path / "frames.jsonl"), "--model-config", str(tmp_path / "run" / "tiny-clip.json"),
                  "--pretrained", str(tmp_path / "run" / "open_clip.pt"), "--out", str(tmp_path / "feats"),
                  cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    meta = ArrayStore(tmp_path / "feats").meta
    assert meta["model_config"] == str((tmp_path / "run" / "tiny-clip.json").resolve())
    assert meta["pretrained"] == str((tmp_path / "run" / "open_clip.pt").resolve())
    pairs = [{"id": f"q{i}", "left": {"id": f"p{i:02d}"}, "right": {"id": f"p{i + 1:02d}"},
              "statement": "Both pictures are red.", "label": i % 2 == 0, "split": "train"} for i in range(8)]
    write_jsonl(tmp_path / "pairs.jsonl", pairs)
    result = raiv("train", str(tmp_path / "pairs.jsonl"), "--features", str(tmp_path / "feats"), "--arch", "raiv-late",
                  "--init-text", "store", "--epochs", "1", "--set", "width=32", "--set", "fusion_layers=1",
                  "--out", str(tmp_path / "late"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "late" / "config.json").read_text())
    assert saved["model"]["init_text"].endswith("tiny-clip.json:" + str((tmp_path / "run" / "open_clip.pt").resolve()))
    assert saved["model"]["text_width"] == 32


def test_clip_needs_a_frame_store(picture_world, tmp_path):
    features = write_feature_store(tmp_path / "feats", {f"p{i:02d}": np.zeros((2, 8)) for i in range(48)})
    config = TrainConfig(arch="clip", inputs=[str(picture_world["captions"])], features=str(features),
                         out=str(tmp_path / "run"), epochs=1, batch_size=16)
    with pytest.raises(InputError, match="frame store"):
        train(config, {"clip_model": str(picture_world["config"])})


def test_clip_settings_name_missing_files(picture_world, tmp_path):
    config = TrainConfig(arch="clip", inputs=[str(picture_world["captions"])], features=str(picture_world["frames"]),
                         out=str(tmp_path / "run"), epochs=1)
    with pytest.raises(InputError, match="no such architecture file"):
        train(config, {"clip_model": str(tmp_path / "missing.json")})
    with pytest.raises(InputError, match="no such checkpoint file"):
        train(config, {"clip_model": str(picture_world["config"]), "clip_pretrained": str(tmp_path / "none.pt")})
    architecture = tiny_open_clip_config()
    architecture["text_cfg"]["hf_tokenizer_name"] = "some-org/some-tokenizer"
    (tmp_path / "hf-tokenized-clip.json").write_text(json.dumps(architecture), encoding="utf-8")
    with pytest.raises(InputError, match="Hugging Face tokenizer"):
        train(config, {"clip_model": str(tmp_path / "hf-tokenized-clip.json")})


def test_collator_keeps_pixels_uint8_and_refuses_mixed_sizes(picture_world, tmp_path):
    from raivtools.models.layers import TextTokenizer

    source = FeatureSource(str(picture_world["frames"]))
    assert not source.cache  # frame stores are read, not kept
    collate = Collator(source, TextTokenizer(32), max_frames=1, visual_inputs=1)
    batch = collate([Example(0, ("p01",), "a red band"), Example(1, ("p00",), "a red band")])
    assert batch["frames"].dtype == torch.uint8 and tuple(batch["frames"].shape) == (2, 1, 1, 32, 32, 3)

    writer = ArrayStore.create(tmp_path / "mixed", meta={"kind": "frames"})
    writer.write_shard(shard_name(0), {"a": {"frames": np.zeros((1, 32, 32, 3), np.uint8)},
                                       "b": {"frames": np.zeros((1, 24, 32, 3), np.uint8)}})
    mixed = Collator(FeatureSource(str(tmp_path / "mixed")), TextTokenizer(32), max_frames=1, visual_inputs=1)
    with pytest.raises(InputError, match="different sizes"):
        mixed([Example(0, ("a",), "x"), Example(1, ("b",), "x")])


def test_validation_r1_from_ranks_picks_the_best_epoch():
    records = [{"score": 0.9, "rank_t2v": 1, "rank_v2t": 2}, {"score": 0.8, "rank_t2v": 1, "rank_v2t": 1}]
    metrics = validation_metrics(records)
    assert metrics["r1"] == pytest.approx((1.0 + 0.5) / 2)
    assert primary_metric(metrics, "video-text") == "r1"
    assert primary_metric({"acc": 0.7, **metrics}, "video-text") == "acc"
