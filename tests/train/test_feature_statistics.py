"""Visual features are standardised with the training data's statistics before they reach the fusion.

Regression: CLIP features share a big common direction (on the toy store the mean has 2.4x the norm of what
varies between items), and the model fed them raw, so the video-specific part reached the fusion as a small
ripple on a near-constant token."""

from __future__ import annotations

import numpy as np
import torch

from raivtools.models import build_model, model_config
from raivtools.models.layers import FeatureStandardizer, VisualEmbedding
from raivtools.train.checkpoint import load_checkpoint
from raivtools.train.data import FeatureSource, feature_statistics
from raivtools.train.loop import TrainConfig, Trainer
from tests.factories import write_jsonl
from tests.train.conftest import TINY, write_feature_store


def test_feature_statistics_by_hand(tmp_path):
    store = write_feature_store(tmp_path / "feats", {"a": np.array([[1.0, 2.0], [3.0, 2.0]]),
                                                     "b": np.array([[5.0, 2.0]]), "c": np.array([[100.0, 0.0]])})
    mean, std = feature_statistics(FeatureSource(str(store)), ["a", "b", "absent"])
    np.testing.assert_allclose(mean, [3.0, 2.0])
    np.testing.assert_allclose(std, [np.sqrt(8 / 3), 0.0], atol=1e-6)


def test_standardizer_makes_a_shared_offset_vanish_and_floors_constant_dimensions():
    layer = FeatureStandardizer(2)
    layer.set_statistics(torch.tensor([10.0, 1.0]), torch.tensor([2.0, 0.0]))
    out = layer(torch.tensor([[12.0, 1.0], [8.0, 1.0]]))
    torch.testing.assert_close(out, torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))


def test_visual_tokens_of_two_items_differ_after_standardising_a_dominant_common_direction():
    torch.manual_seed(0)
    common, spread = torch.full((16,), 5.0), 0.1
    frames = common + spread * torch.randn(2, 1, 16)  # two items, one frame each, 98% shared
    embedding = VisualEmbedding(16, 16)
    mask = torch.ones(2, 1, dtype=torch.bool)
    raw = embedding(frames, mask, with_cls=False)[0]
    embedding.standardize.set_statistics(common, torch.full((16,), spread))
    standardised = embedding(frames, mask, with_cls=False)[0]
    assert (standardised[0] - standardised[1]).norm() > 5 * (raw[0] - raw[1]).norm()


def test_trainer_sets_statistics_from_training_media_and_checkpoints_keep_them(tmp_path, world):
    features = {m: f + 7.0 for m, f in world.features.items()}  # every item shares a big offset
    store = write_feature_store(tmp_path / "feats", features)
    train_records = world.pair_records(8, "train", seed=5)
    inputs = write_jsonl(tmp_path / "pairs.jsonl", train_records)
    config = TrainConfig(arch="raiv-late", inputs=[str(inputs)], features=str(store), out=str(tmp_path / "run"),
                         epochs=1, batch_size=8)
    trainer = Trainer(config, {**TINY, "fusion_layers": 1})
    media = sorted({r[side]["id"] for r in train_records for side in ("left", "right")})
    expected_mean, expected_std = feature_statistics(FeatureSource(str(store)), media)
    torch.testing.assert_close(trainer.model.visual.standardize.mean, torch.from_numpy(expected_mean))
    torch.testing.assert_close(trainer.model.visual.standardize.std, torch.from_numpy(expected_std))
    assert float(trainer.model.visual.standardize.mean.mean()) > 6.0
    trainer.run()
    saved = load_checkpoint(tmp_path / "run" / "last.pt")["model"]
    torch.testing.assert_close(saved["visual.standardize.mean"], torch.from_numpy(expected_mean))


def test_standardising_can_be_switched_off():
    model = build_model("raiv-late", model_config("raiv-late", feature_dim=4, standardize_features=False,
                                                  **{**TINY, "fusion_layers": 1}))
    assert model.set_feature_statistics(torch.ones(4), torch.full((4,), 2.0)) == 0
    torch.testing.assert_close(model.visual.standardize.mean, torch.zeros(4))
