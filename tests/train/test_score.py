"""Scores onto records (the contract the report relies on) and the per-epoch validation numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from raivtools.score import attach_scores, binary_cross_entropy, validation_metrics
from raivtools.train.data import Example


def test_attach_scores_writes_the_contract_fields():
    records = [
        {"id": "p", "statement": "s", "label": True},
        {"id": "r", "statement": "s", "label": False, "reason": {"choices": ["a", "b", "c"], "answer": 2}},
        {"id": "v", "caption": "c", "negative": "n"},
        {"id": "w", "caption": "c", "negative": None},
        {"id": "x", "statement": "s"},
    ]
    examples = [Example(0, ("m",), "s"), Example(1, ("m",), "s"), Example(1, ("m",), "s a", choice=0),
                Example(1, ("m",), "s b", choice=1), Example(1, ("m",), "s c", choice=2),
                Example(2, ("m",), "c", negative="n"), Example(3, ("m",), "c")]
    predictions = {"score": np.array([0.9, 0.2, 0.4, 0.7, 0.7, 0.8, 0.6]),
                   "neg_score": np.array([np.nan] * 5 + [0.3, np.nan])}
    attach_scores(records, examples, predictions, {4: "no features for 'm9'"})
    assert records[0]["score"] == 0.9 and records[1]["score"] == 0.2
    assert records[1]["reason_scores"] == [0.4, 0.7, 0.7] and records[1]["reason_pred"] == 1  # first of a tie
    assert records[2]["score"] == {"pos": 0.8, "neg": 0.3} and records[3]["score"] == 0.6
    assert records[4] == {"id": "x", "statement": "s", "status": "error", "error": "no features for 'm9'"}


def test_rescoring_drops_the_score_fields_of_the_previous_run():
    # scored before with --task retrieval by another run: its ranks must not pass as this run's
    records = [{"id": "v", "caption": "c", "score": 0.99, "rank_t2v": 1, "rank_v2t": 1, "selected_frames": [0]},
               {"id": "p", "statement": "s", "label": True, "score": 0.9, "reason": {"choices": ["a"], "answer": 0},
                "reason_scores": [0.9], "reason_pred": 0},
               {"id": "e", "caption": "c", "status": "error", "error": "upstream", "score": 0.5}]
    attach_scores(records, [Example(0, ("v",), "c")], {"score": np.array([0.2]), "neg_score": np.array([np.nan])},
                  {1: "no features for 'p'"})
    assert records[0] == {"id": "v", "caption": "c", "score": 0.2}
    assert records[1] == {"id": "p", "statement": "s", "label": True, "reason": {"choices": ["a"], "answer": 0},
                          "status": "error", "error": "no features for 'p'"}
    assert records[2]["score"] == 0.5  # an upstream error passes through untouched


def test_nan_similarities_rank_pessimistically():
    import torch

    from raivtools.score import ranks_from_similarity

    nan = math.nan
    similarity = torch.tensor([[nan, 0.5, 0.2], [0.1, 0.9, 0.3], [0.2, nan, 0.8]])
    rank_t2v, rank_v2t = ranks_from_similarity(similarity, [0, 1, 2])
    # text 0's own score is NaN: last; text 2's NaN competitor (video 1) counts as ranked above
    assert rank_t2v.tolist() == [3, 1, 2]
    # video 0's own caption is NaN: last; video 1 has a NaN competitor caption (text 2)
    assert rank_v2t.tolist() == [3, 2, 1]
    assert [r.tolist() for r in ranks_from_similarity(torch.full((3, 3), 0.5), [0, 1, 2])] == [[3, 3, 3]] * 2


def test_validation_metrics_hand_values():
    records = [
        {"label": True, "score": 0.9}, {"label": False, "score": 0.6}, {"label": True, "score": 0.7},
        {"label": False, "score": 0.1, "reason": {"answer": 0}, "reason_scores": [0.5, 0.5, 0.1], "reason_pred": 0},
        {"score": {"pos": 0.8, "neg": 0.3}}, {"score": {"pos": 0.4, "neg": 0.6}},
    ]
    metrics = validation_metrics(records)
    assert metrics["accuracy"] == 0.75
    assert metrics["mc_accuracy"] == 0.0  # a tie for the top is wrong, as in the report
    assert metrics["acc"] == 0.5 and metrics["acc_hat"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    expected = -(math.log(0.9) + math.log(0.4) + math.log(0.7) + math.log(0.9)) / 4
    assert metrics["loss"] == pytest.approx(expected)
    assert validation_metrics([]) == {}


def test_binary_cross_entropy_clips_certain_mistakes():
    assert binary_cross_entropy([True, False], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert math.isfinite(binary_cross_entropy([True], [0.0]))


def test_rerank_puts_the_matching_heads_top_k_first():
    import torch

    from raivtools.score import ranks_from_similarity, rerank_with_matching

    class Matcher:
        """p(match): 0.9 for caption 1 with video 0, 0.5 for a caption with its own video, else 0.1."""

        def match_scores(self, batch):
            return torch.tensor([0.9 if (int(k), int(t)) == (0, 1) else 0.5 if int(k) == int(t) else 0.1
                                 for k, t in zip(batch["video_key"], batch["index"])])

    class Collate:
        def __call__(self, pairs):
            texts = {"t0": 0, "t1": 1, "t2": 2}
            return {"video_key": torch.tensor([p.video_key for p in pairs]),
                    "index": torch.tensor([texts[p.text] for p in pairs])}

    examples = [Example(0, ("v0",), "t0", video_key=0), Example(1, ("v1",), "t1", video_key=1),
                Example(2, ("v2",), "t2", video_key=2)]
    similarity = torch.tensor([[0.9, 0.1, 0.0], [0.5, 0.4, 0.0], [0.0, 0.1, 0.8]])
    t2v, v2t = rerank_with_matching(Matcher(), examples, [0, 1, 2], similarity, 2, Collate(), 4, "cpu", "fp32")
    # caption 1's top 2 videos are 0 and 1; the matching head prefers video 0, so its own video 1 drops to 2nd
    assert ranks_from_similarity(t2v, [0, 1, 2])[0].tolist() == [1, 2, 1]
    assert t2v[1, 0] == pytest.approx(2.9) and t2v[1, 2] == 0.0
    assert v2t[1, 0] == pytest.approx(2.9)
