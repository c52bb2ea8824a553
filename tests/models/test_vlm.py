"""VLM (seed 003): input packing, masked modality model, masked token loss, isolated attention masks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from raivtools.io.errors import InputError
from raivtools.models import build_model, model_class_for
from raivtools.models.layers import mask_words, word_positions
from raivtools.models.vlm import MFM_MLM, WHOLE_TEXT, WHOLE_VIDEO, VLMConfig, isolated_mask
from tests.models.video_text_data import World, tiny_config, train_steps, world_batches, world_store


@pytest.fixture
def world() -> World:
    return World(n_media=32, frames=6)


@pytest.fixture
def store(tmp_path, world):
    return world_store(tmp_path / "feats", world)


def tiny(**fields):
    torch.manual_seed(0)
    return build_model("vlm", **tiny_config(max_frames=6, **fields))


def hidden(model, batch, ids, isolated):
    packed = model.pack(batch["frames"][:, 0], batch["frame_mask"][:, 0], ids, batch["text_mask"])
    return packed, model.encode(packed, isolated=isolated)


def test_isolated_mask_blocks_attention_across_modalities(store, world):
    model = tiny().eval()
    batch = world_batches(model, store, world, batch_size=8)[0]
    words = word_positions(batch["text_ids"], batch["text_mask"])
    perturbed = torch.where(words, (batch["text_ids"] + 7) % 60 + 1, batch["text_ids"])
    assert not torch.equal(perturbed, batch["text_ids"])
    with torch.no_grad():
        packed, original = hidden(model, batch, batch["text_ids"], isolated=True)
        _, isolated = hidden(model, batch, perturbed, isolated=True)
        _, joint_a = hidden(model, batch, batch["text_ids"], isolated=False)
        _, joint_b = hidden(model, batch, perturbed, isolated=False)
    video = packed.video_segment
    torch.testing.assert_close(isolated[:, video], original[:, video], atol=1e-6, rtol=0)  # text cannot reach video
    assert not torch.allclose(isolated[:, packed.text_slice], original[:, packed.text_slice])
    assert (joint_b[:, video] - joint_a[:, video]).abs().max() > 1e-3  # without isolation it does


def test_isolated_mask_layout(store, world):
    model = tiny()
    batch = world_batches(model, store, world, batch_size=2)[0]
    packed = model.pack(batch["frames"][:, 0], batch["frame_mask"][:, 0], batch["text_ids"], batch["text_mask"])
    blocked = isolated_mask(packed)
    video, text = packed.video_segment, packed.text_slice
    assert not blocked[video, video].any() and not blocked[text, text].any()
    assert blocked[video, text].all() and blocked[text, video].all()
    assert blocked[0, 1:].all() and blocked[1:, 0].all() and not blocked[0, 0]  # [CLS] disabled


def test_embed_video_equals_the_isolated_joint_pass(store, world):
    """Forwarding the video with a dummy text gives the same pooled video as the isolated joint forward."""
    model = tiny().eval()
    batch = world_batches(model, store, world, batch_size=8)[0]
    with torch.no_grad():
        video, text = model.pooled(batch, batch["text_ids"], batch["text_mask"])
        torch.testing.assert_close(model.embed_video(batch), torch.nn.functional.normalize(video), atol=1e-5, rtol=0)
        torch.testing.assert_close(model.embed_text(batch), torch.nn.functional.normalize(text), atol=1e-5, rtol=0)


def test_masked_modality_model_proportions(store, world):
    model = tiny()
    batch = world_batches(model, store, world, batch_size=32)[0]
    big = {key: value.repeat(64, *[1] * (value.dim() - 1)) for key, value in batch.items()}  # 2048 examples
    torch.manual_seed(0)
    masking = model.draw_masking(big)
    frames = big["frame_mask"][:, 0]
    words = word_positions(big["text_ids"], big["text_mask"])
    whole_video, whole_text, partial = (masking.mode == mode for mode in (WHOLE_VIDEO, WHOLE_TEXT, MFM_MLM))
    assert 0.2 < whole_video.float().mean() < 0.3 and 0.2 < whole_text.float().mean() < 0.3
    assert (masking.video[whole_video] == frames[whole_video]).all()
    assert (masking.text_replace[whole_text] == words[whole_text]).all()  # every word is [MASK], none random
    assert (masking.text_targets[whole_text] == words[whole_text]).all()
    assert 0.1 < masking.video[partial][frames[partial]].float().mean() < 0.2
    assert 0.1 < masking.text_targets[partial][words[partial]].float().mean() < 0.2
    assert not (masking.text_targets & ~words).any()  # start, end and padding are never masked
    assert not masking.video[whole_text].any()  # whole-text rows keep their video


def test_bert_masking_split():
    torch.manual_seed(0)
    ids = torch.randint(1, 50, (400, 12))
    ids[:, 0], ids[:, -1] = 62, 63
    mask = torch.ones_like(ids, dtype=torch.bool)
    masked = mask_words(ids, mask, 0.15, vocab_words=62)
    chosen = masked.targets.float().mean() / word_positions(ids, mask).float().mean()
    assert 0.13 < chosen < 0.17
    replace_share = masked.replace[masked.targets].float().mean()
    changed = (masked.ids != ids)[masked.targets & ~masked.replace].float().mean()
    assert 0.75 < replace_share < 0.85 and 0.35 < changed < 0.65  # 80% [MASK]; half of the rest random
    assert not (masked.replace & ~masked.targets).any() and masked.ids[masked.targets].max() < 62


def test_masked_token_loss_scores_video_and_words_together(store, world):
    model = tiny(losses="masked-token", mmm_probability=0.0, mask_probability=0.5)
    batch = world_batches(model, store, world, batch_size=8)[0]
    out = model(batch)
    assert set(out["losses"]) == {"masked-token"}
    out["loss"].backward()
    for name in ("video_mlp.0.weight", "text_encoder.token_embedding.weight", "token_head.weight", "mask_embedding"):
        assert model.get_parameter(name).grad.abs().sum() > 0, name
    baseline = tiny(losses="mfm-mlm", mmm_probability=0.0, mask_probability=0.5)
    assert set(baseline(batch)["losses"]) == {"mfm", "mlm"}


def test_retrieval_loss_uses_hard_negatives(store, world):
    model = tiny(losses="finetune")
    batch = world_batches(model, store, world, batch_size=8)[0]
    assert "neg_ids" in batch
    with torch.no_grad():
        with_negatives = float(model(batch)["loss"])
        without = float(model({k: v for k, v in batch.items() if k not in ("neg_ids", "neg_mask", "has_neg")})["loss"])
        none_counts = float(model({**batch, "has_neg": torch.zeros_like(batch["has_neg"])})["loss"])
    assert with_negatives != without
    assert none_counts == pytest.approx(without, rel=1e-6)  # a record without a negative adds no candidate


@pytest.mark.parametrize("losses", ["vlm", "pretrain"])
def test_loss_falls_on_a_learnable_task(store, world, losses):
    model = tiny(losses=losses)
    batches = world_batches(model, store, world, batch_size=8)
    values = train_steps(model, batches, steps=50)
    assert sum(values[-8:]) / 8 < 0.8 * sum(values[:8]) / 8, values


def test_fine_tuned_scores_rank_captions(store, world):
    model = tiny(losses="finetune")
    batches = world_batches(model, store, world, batch_size=8)
    train_steps(model, batches, steps=60, lr=3e-3)
    model.eval()
    with torch.no_grad():
        scores = [model.score(b) for b in batches]
    pos = torch.cat([s["score"] for s in scores])
    neg = torch.cat([s["neg_score"] for s in scores])
    assert ((pos >= 0) & (pos <= 1)).all()
    assert (pos > neg).float().mean() > 0.7  # the caption beats its colour-swapped negative (chance: 0.5)


def test_registry_and_config():
    assert model_class_for("vlm").config_class is VLMConfig
    model = tiny(losses="masked-token,retrieval")
    assert build_model("vlm", model.config.to_dict()).config == model.config and model.supports_retrieval
    with pytest.raises(InputError, match="pick one"):
        tiny(losses="masked-token,mfm-mlm")
    with pytest.raises(InputError, match="unknown vlm loss"):
        tiny(losses="vtc")


def test_same_seed_same_loss(store, world):
    model = tiny()
    batch = world_batches(model, store, world, batch_size=8)[0]
    losses = []
    for _ in range(2):
        torch.manual_seed(5)  # the MMM draw and the word masking come from torch's generator
        losses.append(model(batch)["losses"])
    assert losses[0] == losses[1]


def test_video_embedding_does_not_depend_on_the_batch_padding(store, world):
    """A one-frame video gets the same embedding alone as beside six-frame videos: its first [SEP] keeps the
    position after its last real frame, whatever padding the batch adds before it."""
    model = tiny().eval()
    batch = world_batches(model, store, world, batch_size=8)[0]
    real = batch["frame_mask"][:, 0].sum(1)
    i = int(torch.nonzero(real == 1)[0])
    assert real.max() > 1
    alone = {key: value[i:i + 1] for key, value in batch.items()}
    alone["frames"], alone["frame_mask"] = alone["frames"][:, :, :1], alone["frame_mask"][:, :, :1]
    with torch.no_grad():
        torch.testing.assert_close(model.embed_video(batch)[i], model.embed_video(alone)[0], atol=1e-5, rtol=0)


def same_words(ids_a, mask_a, ids_b, mask_b) -> bool:
    return ids_a[mask_a].tolist() == ids_b[mask_b].tolist()


def test_retrieval_loss_does_not_count_a_matching_negative_against_the_video(store, world):
    """Reference by hand: video i ranks its caption against the other videos' captions and the records' hard
    negatives, leaving out captions of the same video or words, and negatives that read as one of those."""
    model = tiny(losses="finetune").eval()
    batch = world_batches(model, store, world, batch_size=8)[0]
    ids, mask, neg_ids, neg_mask = batch["text_ids"], batch["text_mask"], batch["neg_ids"], batch["neg_mask"]
    keys = batch["video_key"].tolist()
    count = len(keys)
    counts = [keys[i] == keys[c] or same_words(ids[i], mask[i], ids[c], mask[c])
              for i in range(count) for c in range(count)]
    positive = torch.tensor(counts).view(count, count)  # caption c counts for video i
    clash = [[any(positive[i, c] and same_words(ids[c], mask[c], neg_ids[j], neg_mask[j]) for c in range(count))
              for j in range(count)] for i in range(count)]
    assert any(any(row) for row in clash)  # the world's colour-swapped negatives do read as other captions
    with torch.no_grad():
        video, text = model.pooled(batch, ids, mask)
        video, text = F.normalize(video, dim=-1), F.normalize(text, dim=-1)
        negative = model.embed_text(batch, neg_ids, neg_mask)
        scale = model.logit_scale.exp()
        v2t, t2v = [], []
        for i in range(count):
            columns = [text[i]] + [text[c] for c in range(count) if not positive[i, c]]  # the caption first
            columns += [negative[j] for j in range(count) if batch["has_neg"][j] and not clash[i][j]]
            v2t.append(-torch.log_softmax(scale * video[i] @ torch.stack(columns).t(), 0)[0])
            rows = [video[i]] + [video[c] for c in range(count) if not positive[c, i]]
            t2v.append(-torch.log_softmax(scale * torch.stack(rows) @ text[i], 0)[0])
        expected = (torch.stack(v2t).mean() + torch.stack(t2v).mean()) / 2
        torch.testing.assert_close(model.retrieval_loss(batch), expected, atol=1e-5, rtol=1e-5)
