"""encode's preprocessing is the model's own open_clip preprocessing, non-square frames and squash models too."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from raivtools.commands.encode import main as encode_main
from raivtools.io.store import ArrayStore
from tests.factories import tiny_open_clip_config, write_jsonl


def _local_dir(root, **preprocess):
    """A local-dir: model (config with ``preprocess``, random weights saved beside it)."""
    import open_clip

    root.mkdir()
    config = {"model_cfg": tiny_open_clip_config(), "preprocess_cfg": {"mean": [0.5] * 3, "std": [0.5] * 3, **preprocess}}
    (root / "open_clip_config.json").write_text(json.dumps(config), encoding="utf-8")
    torch.manual_seed(0)
    torch.save(open_clip.CLIP(**tiny_open_clip_config()).state_dict(), root / "open_clip_pytorch_model.bin")
    return f"local-dir:{root}"


def _gradient(height, width):
    """uint8 [H,W,3] with a horizontal ramp and a vertical one: crops and squashes of it differ."""
    x = np.linspace(0, 255, width)[None, :]
    y = np.linspace(255, 0, height)[:, None]
    return np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1).astype(np.uint8)


@pytest.mark.parametrize("mode, interpolation", [("shortest", "bicubic"), ("squash", "bicubic"), ("squash", "bilinear")])
@pytest.mark.parametrize("shape", [(48, 64), (240, 320), (100, 33)])
def test_pixels_are_open_clips_own_preprocessing(tmp_path, mode, interpolation, shape):
    # squash models (SigLIP, CLIPA, PE, DFN) were centre-cropped, bicubic, and a shortest-side resize rounded
    # the long side (48x64 -> 32x43) where torchvision truncates it (32x42)
    import open_clip

    from raivtools.media.clip import ClipEncoder, ClipSpec

    model = _local_dir(tmp_path / "m", resize_mode=mode, interpolation=interpolation)
    _, _, preprocess = open_clip.create_model_and_transforms(model)
    encoder = ClipEncoder(ClipSpec(model=model, pretrained="none", device="cpu"))
    frames = np.stack([_gradient(*shape), np.random.default_rng(0).integers(0, 255, (*shape, 3), dtype=np.uint8)])
    expected = torch.stack([preprocess(Image.fromarray(frame)) for frame in frames]).numpy()
    ours = encoder.preprocess(frames).numpy()
    # what is left is PIL's uint8 rounding after its resize
    assert np.abs(ours - expected).mean() < 0.005 and np.abs(ours - expected).max() < 0.15


def test_a_squash_model_decodes_the_whole_image(tmp_path):
    """Media decoded by encode itself were centre-cropped to a square before a squash model saw them."""
    import open_clip

    model = _local_dir(tmp_path / "m", resize_mode="squash")
    Image.fromarray(_gradient(48, 96)).save(tmp_path / "wide.png")
    inputs = write_jsonl(tmp_path / "in.jsonl", [{"id": "wide", "image": str(tmp_path / "wide.png")}])
    result = CliRunner().invoke(encode_main, [str(inputs), "--out", str(tmp_path / "feats"), "--model", model,
                                              "--device", "cpu", "--workers", "1", "--store-dtype", "float32"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    clip, _, preprocess = open_clip.create_model_and_transforms(model)
    with torch.no_grad():
        expected = clip.eval().encode_image(preprocess(Image.open(tmp_path / "wide.png"))[None]).numpy()
    got = ArrayStore(tmp_path / "feats").get("wide")["frames"]
    assert np.allclose(got, expected, atol=0.05 * np.abs(expected).max())


def test_a_local_dir_without_weights_exits_2_saying_what_to_pass(tmp_path):
    # open_clip only logs a warning (silenced) and builds the model with random weights: features looked fine
    model = tmp_path / "noweights"
    model.mkdir()
    (model / "open_clip_config.json").write_text(json.dumps({"model_cfg": tiny_open_clip_config()}), encoding="utf-8")
    inputs = write_jsonl(tmp_path / "t.jsonl", [{"id": "a", "caption": "a dog"}])
    result = CliRunner().invoke(encode_main, [str(inputs), "--out", str(tmp_path / "feats"), "--model",
                                              f"local-dir:{model}", "--device", "cpu", "--no-visual",
                                              "--text-field", "caption"])
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert f"cannot load weights for --model local-dir:{model}" in message
    assert f"open_clip_pytorch_model.bin) beside open_clip_config.json in {model}" in message
    assert not (tmp_path / "feats" / "shard-00000.json").exists()


def test_a_hub_model_offline_says_what_to_pass(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    inputs = write_jsonl(tmp_path / "t.jsonl", [{"id": "a", "caption": "a dog"}])
    result = CliRunner().invoke(encode_main, [str(inputs), "--out", str(tmp_path / "feats"), "--model",
                                              "hf-hub:timm/ViT-B-16-SigLIP", "--cache-dir", str(tmp_path / "cache"),
                                              "--device", "cpu", "--no-visual", "--text-field", "caption"])
    assert result.exit_code == 2, result.output
    # --pretrained is ignored for hf-hub: models, so it must not be what the message tells the user to pass
    message = " ".join(result.stderr.split())
    assert "--model local-dir:DIR" in message and "--pretrained /path" not in message
