"""VideoDistill (seed 002): LA-Gate, the straight-through sparse sampler, vision refinement, losses, ablations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from raivtools.io.errors import InputError
from raivtools.models import build_model, model_class_for
from raivtools.models.videodistill import (
    LanguageAwareGate,
    Query,
    TextCrossAttention,
    VideoDistillConfig,
    exchange_partners,
    gumbel_select,
    uniform_indices,
)
from tests.models.video_text_data import World, tiny_config, train_steps, world_batches, world_store


@pytest.fixture
def world() -> World:
    return World(n_media=32, frames=6)


@pytest.fixture
def store(tmp_path, world):
    return world_store(tmp_path / "feats", world, patches=3)


def tiny(**fields):
    torch.manual_seed(0)
    return build_model("videodistill", **tiny_config(max_frames=6, select_frames=2, embed_dim=16, **fields))


def query(batch: int, width: int = 32, words: int = 5) -> Query:
    states = torch.randn(batch, words, width)
    return Query(states[:, -1], states, torch.ones(batch, words, dtype=torch.bool))


def test_la_gate_shapes_and_formula():
    torch.manual_seed(0)
    gate = LanguageAwareGate(width=32, text_width=24, heads=4)
    visual, text = torch.randn(3, 7, 32), query(3, width=24)
    out = gate(visual, text)
    assert out.shape == visual.shape
    gates = gate.gates(visual, text.sentence)
    assert gates.shape == (3, 7, 4) and gates.abs().max() <= 1.0 + 1e-5
    # Eq. 1-3 by hand: per head, cos(query_i, key) scales value_i; W_o; skip connection
    h = gate.ln(visual)
    q, v, k = gate.query(h).view(3, 7, 4, 8), gate.value(h).view(3, 7, 4, 8), gate.key(text.sentence).view(3, 1, 4, 8)
    cos = (q * k).sum(-1) / (q.norm(dim=-1) * k.norm(dim=-1))
    expected = visual + gate.out((cos.unsqueeze(-1) * v).reshape(3, 7, 32))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_la_gate_keeps_text_out_of_the_visual_tokens():
    """The text only scales each token's own value: a token whose value is zero is unchanged whatever the text."""
    torch.manual_seed(0)
    gate = LanguageAwareGate(width=16, text_width=16, heads=2)
    with torch.no_grad():
        gate.value.weight.zero_()
        gate.value.bias.zero_()
    visual = torch.randn(2, 5, 16)
    torch.testing.assert_close(gate(visual, query(2, 16)), gate(visual, query(2, 16)), atol=0, rtol=0)
    torch.testing.assert_close(gate(visual, query(2, 16)), visual + gate.out.bias, atol=1e-6, rtol=0)


def test_cross_attention_ablation_mixes_text_in():
    torch.manual_seed(0)
    layer = TextCrossAttention(width=16, text_width=16, heads=2)
    visual = torch.randn(2, 5, 16)
    assert not torch.allclose(layer(visual, query(2, 16)), layer(visual, query(2, 16)))


def test_gumbel_straight_through_is_one_hot_with_soft_gradient():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 6, requires_grad=True)
    weights, index = gumbel_select(logits, tau=1.0, hard=True, noisy=True)
    torch.testing.assert_close(weights.detach(), F.one_hot(index, 6).float(), atol=1e-6, rtol=0)  # Eq. 6 forward
    (weights * torch.randn_like(weights)).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    soft, _ = gumbel_select(logits.detach(), tau=1.0, hard=False, noisy=False)
    torch.testing.assert_close(soft.sum(-1), torch.ones(2, 3))
    assert torch.equal(gumbel_select(logits.detach(), 1.0, True, noisy=False)[1], logits.argmax(-1))


@pytest.mark.parametrize("sampling", ["hard", "soft"])
def test_gradients_reach_the_sampler(store, world, sampling):
    model = tiny(sampling=sampling, losses="vtm")
    batch = world_batches(model, store, world, batch_size=8)[0]
    model(batch)["loss"].backward()
    for name in ("select.weight", "proj.weight", "temporal", "blocks.0.fusion.query.weight"):
        grad = model.sampler.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_uniform_sampling_has_no_sampler(store, world):
    model = tiny(sampling="uniform")
    assert model.sampler is None
    mask = torch.tensor([[True] * 6, [True, True, True, False, False, False]])
    assert uniform_indices(mask, 2).tolist() == [[1, 4], [0, 2]]
    batch = world_batches(model, store, world, batch_size=8)[0]
    assert torch.isfinite(model(batch)["loss"])


def test_selection_uses_patch_tokens_and_reports_stored_frames(store, world):
    model = tiny()
    batch = world_batches(model, store, world, batch_size=8)[0]
    assert batch["tokens"].shape == (8, 1, 6, 3, 16)
    model.eval()
    with torch.no_grad():
        out = model.score(batch)
    assert out["score"].shape == (8,) and ((out["score"] >= 0) & (out["score"] <= 1)).all()
    assert out["neg_score"].shape == (8,)
    selected = out["selected_frames"]
    assert selected.shape == (8, 2)
    real = batch["frame_mask"][:, 0].sum(1)
    assert (selected >= 0).all() and (selected < real[:, None]).all()  # never a padded frame
    # the patch tokens, not the frame features, feed vision refinement
    changed = dict(batch, tokens=batch["tokens"] + 1.0)
    with torch.no_grad():
        assert not torch.allclose(model.score(changed)["score"], out["score"])


def test_vg_mlm_stops_gradient_into_the_masked_sentence(store, world):
    model = tiny(mlm_probability=0.5)
    batch = world_batches(model, store, world, batch_size=8)[0]
    video = torch.randn(8, 32, requires_grad=True)
    torch.manual_seed(1)
    loss = model.vg_mlm_loss(batch["text_ids"], batch["text_mask"], video)
    loss.backward()
    assert video.grad.abs().sum() > 0 and model.mlm_head[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.text_encoder.parameters())


def test_vtm_exchange_pairs_examples():
    torch.manual_seed(0)
    partner = exchange_partners(101, 0.5, "cpu")
    assert torch.equal(partner[partner], torch.arange(101))  # an exchange is mutual
    swapped = (partner != torch.arange(101)).float().mean()
    assert 0.3 < swapped < 0.7
    assert torch.equal(exchange_partners(7, 0.0, "cpu"), torch.arange(7))
    everyone = exchange_partners(8, 1.0, "cpu")
    assert (everyone != torch.arange(8)).all() and torch.equal(everyone[everyone], torch.arange(8))
    odd = exchange_partners(7, 1.0, "cpu")
    assert (odd == torch.arange(7)).sum() == 1 and torch.equal(odd[odd], torch.arange(7))
    assert torch.equal(exchange_partners(1, 1.0, "cpu"), torch.arange(1))


def test_contrastive_loss_counts_only_unswapped_rows(store, world):
    model = tiny(losses="vtm,cl")
    batch = world_batches(model, store, world, batch_size=8)[0]
    video, sentence = torch.randn(8, 32, requires_grad=True), torch.randn(8, 32)
    partner = torch.tensor([1, 0, 2, 3, 5, 4, 6, 7])
    original = partner == torch.arange(8)
    loss = model.contrastive_loss(video, sentence, batch, partner, original)
    # by hand, on the unswapped rows only: row i's own caption sits in column i
    v = F.normalize(model.vision_proj(video).float(), dim=-1)
    t = F.normalize(model.text_proj(sentence).float(), dim=-1)
    keys, ids = batch["video_key"], batch["text_ids"]
    expected = []
    for i in torch.nonzero(original).squeeze(1).tolist():
        logits = [(v[i] @ t[j] / 0.07) for j in range(8)
                  if j == i or (keys[i] != keys[partner[j]] and not torch.equal(ids[i], ids[partner[j]]))]
        target = [j for j in range(8) if j == i or (keys[i] != keys[partner[j]]
                                                   and not torch.equal(ids[i], ids[partner[j]]))].index(i)
        expected.append(F.cross_entropy(torch.stack(logits)[None], torch.tensor([target])))
    torch.testing.assert_close(loss, torch.stack(expected).mean())
    loss.backward()
    assert video.grad[~original].abs().sum() == 0 and video.grad[original].abs().sum() > 0
    nobody = model.contrastive_loss(video, sentence, batch, torch.arange(8).flip(0), torch.zeros(8, dtype=torch.bool))
    assert nobody.item() == 0.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_forward_does_not_wait_for_the_device_without_vg_mlm(store, world):
    model = tiny(losses="vtm,cl").cuda()
    batch = {name: value.cuda() for name, value in world_batches(model, store, world, batch_size=8)[0].items()}
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        model(batch)["loss"].backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_loss_falls_on_a_learnable_task(store, world):
    model = tiny()
    batches = world_batches(model, store, world, batch_size=8)
    losses = train_steps(model, batches, steps=50)
    assert sum(losses[-8:]) / 8 < 0.8 * sum(losses[:8]) / 8, losses


def test_cross_attention_ablation_trains(store, world):
    model = tiny(fusion="cross-attention")
    assert any(isinstance(m, TextCrossAttention) for m in model.modules())
    assert not any(isinstance(m, LanguageAwareGate) for m in model.modules())
    batch = world_batches(model, store, world, batch_size=8)[0]
    assert torch.isfinite(model(batch)["loss"])


def test_registry_config_and_retrieval_interface(store, world):
    assert model_class_for("videodistill").config_class is VideoDistillConfig
    model = tiny(losses="vtm,cl")
    rebuilt = build_model("videodistill", model.config.to_dict())
    assert rebuilt.config == model.config and model.supports_retrieval
    batch = world_batches(model, store, world, batch_size=4)[0]
    model.eval()
    with torch.no_grad():
        assert model.embed_video(batch).shape == model.embed_text(batch).shape == (4, 16)
        assert model.match_scores(batch).shape == (4,)
    with pytest.raises(InputError, match="vtm"):
        tiny(losses="cl")
    with pytest.raises(InputError, match="sampling"):
        tiny(sampling="top-k")


def test_runs_without_patch_tokens(tmp_path, world):
    store = world_store(tmp_path / "plain", world)
    model = tiny()
    batch = world_batches(model, store, world, batch_size=4)[0]
    assert "tokens" not in batch
    assert torch.isfinite(model(batch)["loss"])
    with pytest.raises(InputError, match="--tokens"):
        tiny(token_dim=24)(batch)


def test_same_seed_same_loss(store, world):
    model = tiny()
    batch = world_batches(model, store, world, batch_size=8)[0]
    losses = []
    for _ in range(2):
        torch.manual_seed(5)  # Gumbel noise, caption exchange and word masking all draw from torch's generator
        losses.append(model(batch)["losses"])
    assert losses[0] == losses[1]
