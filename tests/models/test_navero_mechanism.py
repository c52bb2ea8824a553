"""NAVERO's mechanism against seed 004 §3.3 and the VindLU reference: the learnable temperature and the
similarity-drawn in-batch hard negatives of vtm, each checked against a reference computed the direct way."""

from __future__ import annotations

import math

import pytest
import torch

from raivtools.models import build_model
from raivtools.models.navero import hard_negatives
from tests.models.test_models import TINY, make_batch


def _direct_vtc(text_emb: torch.Tensor, video_emb: torch.Tensor, keys: list[int],
                temperature: torch.Tensor) -> torch.Tensor:
    """Seed 004 eq. 1, averaged over both directions, one example at a time; every caption of the same video
    is a positive (each with an equal share)."""
    sim = text_emb @ video_emb.t() / temperature
    count = len(keys)
    total = sim.new_zeros(())
    for matrix in (sim, sim.t()):
        for i in range(count):
            positives = [j for j in range(count) if keys[j] == keys[i]]
            log_norm = torch.logsumexp(matrix[i], dim=0)
            total = total - sum(matrix[i, j] - log_norm for j in positives) / len(positives)
    return total / (2 * count)


@pytest.mark.parametrize("start, bound", [(0.6, 0.5), (0.0005, 0.001)], ids=["above", "below"])
def test_temperature_past_a_bound_is_clamped_in_place_and_keeps_learning(start, bound):
    # clamping only the value used gives the parameter no gradient past a bound: frozen there for good
    torch.manual_seed(0)
    model = build_model("navero", **TINY, fusion_layers=1, video_layers=1, embed_dim=16, losses="vanilla")
    with torch.no_grad():
        model.log_temperature.fill_(math.log(start))
    batch = make_batch(1)
    model(batch)["loss"].backward()
    assert math.exp(float(model.log_temperature.detach())) == pytest.approx(bound, rel=1e-5)
    with torch.no_grad():
        video = model.embed_video(batch)
        text = model.embed_text(batch)
    log_t = torch.tensor(math.log(bound), requires_grad=True)
    _direct_vtc(text, video, batch["video_key"].tolist(), log_t.exp()).backward()
    assert float(model.log_temperature.grad) != 0.0
    assert float(model.log_temperature.grad) == pytest.approx(float(log_t.grad), rel=1e-4)


def test_a_confident_row_still_gets_its_hardest_negative():
    # at a low temperature the softmax beside the positive underflows to 0 for every other video; the row
    # still has negatives and must not be dropped from vtm
    sim = torch.tensor([[1.0, -0.5, -0.6], [0.2, 0.9, 0.1], [0.0, 0.3, 0.95]]) / 0.005
    same = torch.eye(3, dtype=torch.bool)
    torch.manual_seed(0)
    neg_video, neg_text, valid_v, valid_t = hard_negatives(sim, same)
    assert bool(valid_v.all()) and bool(valid_t.all())
    assert neg_video.tolist() == [1, 0, 1]  # for each text the most similar other video
    assert neg_text.tolist() == [1, 2, 1]  # for each video the most similar other text


def test_hard_negatives_follow_the_softmax_over_the_other_videos():
    keys = torch.tensor([0, 0, 1, 2])
    same = keys[:, None] == keys[None, :]
    sim = torch.tensor([[2.0, 1.9, 1.0, 0.0], [0.5, 2.0, 0.0, 1.0], [0.3, 0.2, 1.5, 0.9], [1.2, 0.1, 0.4, 1.1]])
    torch.manual_seed(0)
    draws = 4000
    counts = torch.zeros(4, 4)
    for _ in range(draws):
        neg_video, _, _, _ = hard_negatives(sim, same)
        counts[torch.arange(4), neg_video] += 1
    for i in range(4):
        others = [j for j in range(4) if keys[j] != keys[i]]
        weights = torch.tensor([math.exp(float(sim[i, j])) for j in others])
        expected = torch.zeros(4)
        expected[others] = weights / weights.sum()
        torch.testing.assert_close(counts[i] / draws, expected, atol=0.03, rtol=0.0)


def test_backward_is_the_same_every_time_on_several_threads():
    # x[idx] with repeated rows (the drawn hard negatives) adds its gradient rows in an order that changes run to
    # run once torch uses 2+ threads: the quick start's navero training was not reproducible on a CPU
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        torch.manual_seed(0)
        model = build_model("navero", **{**TINY, "width": 128}, fusion_layers=1, video_layers=1, embed_dim=16,
                            losses="vanilla")
        tiles = [make_batch(1, seed=tile) for tile in range(16)]
        batch = {key: torch.cat([t[key] for t in tiles]) for key in tiles[0]}
        batch["video_key"] = torch.cat([t["video_key"] + 3 * n for n, t in enumerate(tiles)])
        gradients = []
        for _ in range(6):
            torch.manual_seed(1)
            model.zero_grad(set_to_none=True)
            model(batch)["loss"].backward()
            gradients.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
        assert all(all(torch.equal(a, b) for a, b in zip(gradients[0], other)) for other in gradients[1:])
    finally:
        torch.set_num_threads(threads)
