"""Scoring: a trained model's probabilities written back onto the records (``raiv score``), and the small
validation metrics the training loop logs each epoch.

What each record gets (the report relies on exactly this):

- pair records: ``"score"``: p(true) of the statement;
- records with a ``negative``: ``"score": {"pos": p(T|V), "neg": p(Tneg|V)}`` (NAVERO's matching head);
- records with a ``reason`` multiple choice (pair models): ``"reason_scores"`` (one p(true) per choice, the
  statement with that choice appended) and ``"reason_pred"`` (the highest; ties go to the first);
- ``--task retrieval``: ``"rank_t2v"`` (1-based rank of the record's own video among all videos for its caption)
  and ``"rank_v2t"`` (1-based rank of its caption among the captions of all other videos for its video); ties
  are ranked pessimistically (an equal score counts as ranked above);
- models that choose frames (``videodistill``): ``"selected_frames"``, the stored frame numbers the model
  picked for the caption;
- records whose media have no features: ``"status": "error"`` and ``"error"``, no score;
- records the model gave a NaN score (NaN features, or a model that overflowed): ``"status": "error"`` and
  ``"error"`` instead of the scores (written as null, they would read as "not scored" and drop out of the
  report's accuracies unexplained).
- records that arrive with ``"status": "error"`` (an upstream command failed on them): nothing; they pass
  through untouched.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from raivtools.io.host_copy import HostResult
from raivtools.train.data import (
    Collator,
    Example,
    bucketed_batches,
    examples_for,
    move_batch,
    token_source,
    usable,
)


#: the fields ``raiv score`` writes (and so owns: a rescored record loses its old values)
SCORE_FIELDS = ("score", "reason_scores", "reason_pred", "rank_t2v", "rank_v2t", "selected_frames")


def autocast_context(device, precision: str):
    """``torch.autocast`` for bf16/fp16, a no-op for fp32."""
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def predict(model, examples: Sequence[Example], collate: Collator, batch_size: int, device,
            precision: str = "fp32") -> dict[str, np.ndarray]:
    """Scores every example (batched, sorted by text length for little padding).

    A batch's scores are read back once the next batch is queued, waiting for that batch alone (see
    :mod:`raivtools.io.host_copy`), so on a GPU the host builds the next batch while the device scores.

    Returns:
        ``{"score": [N], "neg_score": [N]}`` aligned with ``examples``; ``neg_score`` is NaN where an example
        has no negative; ``"selected_frames"`` (a list, None where absent) when the model reports them.
    """
    import torch

    selected: list[list[int] | None] = [None] * len(examples)
    scores = np.full(len(examples), np.nan, np.float64)
    neg_scores = np.full(len(examples), np.nan, np.float64)
    lengths = [len(collate.tokenizer.encode(e.text)) for e in examples]

    def keep(positions: list[int], chosen: list[Example], result: HostResult) -> None:
        score, neg_score, frames_of = result.wait()
        scores[positions] = score.numpy()
        if neg_score is not None:
            has = np.array([e.negative is not None for e in chosen])
            neg_scores[np.asarray(positions)[has]] = neg_score.numpy()[has]
        if frames_of is not None:
            for position, frames in zip(positions, frames_of.tolist()):
                selected[position] = frames

    model.eval()
    pending = None
    with torch.no_grad(), autocast_context(device, precision):
        for positions in bucketed_batches(lengths, batch_size, None):
            chosen = [examples[p] for p in positions]
            out = model.score(move_batch(collate(chosen), device))
            queued = (positions, chosen, HostResult.start(device, out["score"], out.get("neg_score"),
                                                          out.get("selected_frames")))
            if pending is not None:  # the previous batch's scores, read once this batch is queued
                keep(*pending)
            pending = queued
        if pending is not None:
            keep(*pending)
    predictions = {"score": scores, "neg_score": neg_scores}
    if any(frames is not None for frames in selected):
        predictions["selected_frames"] = selected
    return predictions


def examples_for_scoring(input_kind: str, located: Sequence[tuple[str, int, dict[str, Any]]],
                         start_index: int = 0) -> tuple[list[dict[str, Any]], list[Example]]:
    """Records and every example a model of ``input_kind`` scores on them (pairs: statement + reasoning choices).
    Records that arrive with ``status: error`` give none: they pass through with their upstream error."""
    if input_kind == "pair":
        records, examples = examples_for("pairs", located, start_index, skip_errors=True)
        _, reasoning = examples_for("reason", located, start_index, skip_errors=True)
        return records, examples + reasoning
    return examples_for("video-text", located, start_index, skip_errors=True)


def attach_scores(records: Sequence[dict[str, Any]], examples: Sequence[Example], predictions: dict[str, np.ndarray],
                  problems: dict[int, str], start_index: int = 0) -> None:
    """Writes scores onto ``records`` in place (see the module docstring for the fields).

    Score fields a record already has (from scoring it with another run) are dropped first, so no stale
    rank or reasoning score is reported as this run's; records that arrive with ``status: error`` are left as
    they are.
    """
    for record in records:
        if record.get("status") != "error":
            _drop_score_fields(record)
    reason_scores: dict[int, dict[int, float]] = {}
    for example, score, neg in zip(examples, predictions["score"], predictions["neg_score"]):
        record = records[example.index - start_index]
        if example.choice >= 0:
            reason_scores.setdefault(example.index, {})[example.choice] = float(score)
        elif example.negative is not None:
            record["score"] = {"pos": float(score), "neg": float(neg)}
        else:
            record["score"] = float(score)
    for example, frames in zip(examples, predictions.get("selected_frames", ())):
        if frames is not None and example.choice < 0:
            records[example.index - start_index]["selected_frames"] = frames
    for index, by_choice in reason_scores.items():
        ordered = [by_choice[i] for i in range(len(by_choice))]
        record = records[index - start_index]
        record["reason_scores"] = ordered
        record["reason_pred"] = int(np.argmax(ordered))
    for index, reason in problems.items():
        record = records[index - start_index]
        record["status"] = "error"
        record["error"] = reason


def flag_not_finite(record: dict[str, Any]) -> None:
    """Turns a record whose scores are not all finite into ``status: error`` (see the module docstring)."""
    score = record.get("score")
    values = [*(score.values() if isinstance(score, dict) else [score]), *record.get("reason_scores", ())]
    if all(value is None or math.isfinite(value) for value in values):
        return
    _drop_score_fields(record)
    record["status"] = "error"
    record["error"] = ("the model scored it NaN: check its features for NaN/inf (raiv encode at fp16 can overflow),"
                       " or score at --precision fp32")


def _drop_score_fields(record: dict[str, Any]) -> None:
    for name in SCORE_FIELDS:
        record.pop(name, None)


def retrieval_ranks(model, examples: Sequence[Example], collate: Collator, batch_size: int, device,
                    precision: str = "fp32", rerank: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Text-to-video and video-to-text ranks of every example among all examples (see module docstring).

    Each distinct video is embedded once; the similarity is the cosine of the contrastive embeddings. With
    ``rerank`` K > 0, as VindLU and ALBEF retrieve, each caption's top K videos (and each video's top K
    captions) are re-scored with the matching head and ranked first, by p(match).
    """
    import torch

    first_of_video: dict[int, int] = {}
    for position, example in enumerate(examples):
        first_of_video.setdefault(example.video_key, position)
    video_positions = list(first_of_video.values())
    video_column = {key: column for column, key in enumerate(first_of_video)}
    text_emb = _embed(model.embed_text, examples, range(len(examples)), collate, batch_size, device, precision)
    video_emb = _embed(model.embed_video, examples, video_positions, collate, batch_size, device, precision)
    own = torch.tensor([video_column[e.video_key] for e in examples])
    similarity = text_emb @ video_emb.t()  # [texts, videos]
    if rerank <= 0:
        return ranks_from_similarity(similarity, own)
    t2v, v2t = rerank_with_matching(model, examples, video_positions, similarity, rerank, collate, batch_size,
                                    device, precision)
    return ranks_from_similarity(t2v, own)[0], ranks_from_similarity(v2t, own)[1]


def rerank_with_matching(model, examples, video_positions, similarity, k: int, collate, batch_size, device,
                         precision):
    """Two re-ranked copies of ``similarity``: top-k per row (t2v) and per column (v2t) get 2 + p(match), so
    they rank above every cosine (at most 1) in the order of the matching head."""
    k_videos, k_texts = min(k, similarity.shape[1]), min(k, similarity.shape[0])
    t2v_cells = [(row, col) for row in range(similarity.shape[0])
                 for col in similarity[row].topk(k_videos).indices.tolist()]
    v2t_cells = [(row, col) for col in range(similarity.shape[1])
                 for row in similarity[:, col].topk(k_texts).indices.tolist()]
    cells = sorted(set(t2v_cells) | set(v2t_cells))
    pairs = [Example(i, examples[video_positions[col]].media, examples[row].text,
                     video_key=examples[video_positions[col]].video_key) for i, (row, col) in enumerate(cells)]
    scores = dict(zip(cells, _pair_match_scores(model, pairs, collate, batch_size, device, precision)))
    t2v, v2t = similarity.clone(), similarity.clone()
    for row, col in t2v_cells:
        t2v[row, col] = 2.0 + scores[(row, col)]
    for row, col in v2t_cells:
        v2t[row, col] = 2.0 + scores[(row, col)]
    return t2v, v2t


def _pair_match_scores(model, pairs, collate, batch_size, device, precision) -> list[float]:
    import torch

    out: list[float] = []
    with torch.no_grad(), autocast_context(device, precision):
        for start in range(0, len(pairs), batch_size):
            batch = move_batch(collate(pairs[start:start + batch_size]), device)
            out += model.match_scores(batch).float().cpu().tolist()
    return out


def ranks_from_similarity(similarity, own) -> tuple[np.ndarray, np.ndarray]:
    """Pessimistic 1-based ranks from a [texts, videos] similarity and each text's own video column.

    rank_t2v[i] = 1 + #videos j != own[i] with sim[i, j] >= sim[i, own[i]];
    rank_v2t[i] = 1 + #texts k of another video with sim[k, own[i]] >= sim[i, own[i]].

    A NaN similarity (a model that overflowed) is pessimistic too: a NaN competitor counts as ranked above,
    and a NaN own score ranks last.
    """
    import torch

    similarity = torch.as_tensor(similarity, dtype=torch.float32)
    own = torch.as_tensor(own, dtype=torch.long)
    rows = torch.arange(similarity.shape[0])
    own_score = similarity[rows, own]
    not_own = torch.ones_like(similarity, dtype=torch.bool)
    not_own[rows, own] = False
    # "not strictly below" rather than ">=": every comparison with NaN is False, which would rank a NaN first
    rank_t2v = 1 + (~(similarity < own_score[:, None]) & not_own).sum(dim=1)
    column_of_own = similarity[:, own].t()  # [i, k] = sim[k, own[i]]
    other_video = own[None, :] != own[:, None]
    rank_v2t = 1 + (~(column_of_own < own_score[:, None]) & other_video).sum(dim=1)
    return rank_t2v.numpy(), rank_v2t.numpy()


def _embed(embed, examples, positions, collate, batch_size, device, precision):
    import torch

    positions = list(positions)
    out = []
    with torch.no_grad(), autocast_context(device, precision):
        for start in range(0, len(positions), batch_size):
            chosen = [examples[p] for p in positions[start:start + batch_size]]
            out.append(embed(move_batch(collate(chosen), device)).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, 1)


def score_records(model, located: Sequence[tuple[str, int, dict[str, Any]]], features, tokenizer, batch_size: int,
                  device, precision: str = "fp32", task: str = "", start_index: int = 0,
                  rerank: int = 0) -> list[dict[str, Any]]:
    """Scores a list of located records with ``model`` and returns the records with their new fields."""
    visual_inputs = 2 if model.input_kind == "pair" else 1
    collate = Collator(features, tokenizer, model.config.max_frames, visual_inputs,
                       tokens=token_source(type(model), features))
    records, examples = examples_for_scoring(model.input_kind, located, start_index)
    examples, problems = usable(examples, features)
    if examples:
        attach_scores(records, examples, predict(model, examples, collate, batch_size, device, precision),
                      problems, start_index)
    else:
        attach_scores(records, [], {"score": [], "neg_score": []}, problems, start_index)
    if task == "retrieval" and examples:
        main = [e for e in examples if e.choice < 0]
        rank_t2v, rank_v2t = retrieval_ranks(model, main, collate, batch_size, device, precision, rerank)
        for example, t2v, v2t in zip(main, rank_t2v, rank_v2t):
            records[example.index - start_index]["rank_t2v"] = int(t2v)
            records[example.index - start_index]["rank_v2t"] = int(v2t)
    return records


# ------------------------------------------------------------------------------------------ validation metrics


def validation_metrics(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The per-epoch numbers the loop logs, from scored records, with the report's metric functions:
    ``accuracy`` and ``loss`` (BCE) of pairs, ``mc_accuracy`` (reasoning, ties wrong), ``acc`` and ``acc_hat`` (records with a
    negative, seed 004 eq. 5-6), ``r1`` (retrieval R@1, the mean of both directions, when records are ranked)."""
    from raivtools import metrics as m

    out: dict[str, float] = {}
    pairs = [r for r in records if isinstance(r.get("score"), float) and r.get("label") is not None]
    if pairs:
        labels, scores = [bool(r["label"]) for r in pairs], [r["score"] for r in pairs]
        out["accuracy"] = m.pair_accuracy(labels, scores)
        out["loss"] = binary_cross_entropy(labels, scores)
    reasoning = [r for r in records if "reason_scores" in r and (r.get("reason") or {}).get("answer") is not None]
    if reasoning:
        out["mc_accuracy"] = m.multiple_choice_accuracy([r["reason_scores"] for r in reasoning],
                                                        [r["reason"]["answer"] for r in reasoning])
    ranked = [r for r in records if "rank_t2v" in r]
    if ranked:
        out["r1"] = (m.recall_at_k([r["rank_t2v"] for r in ranked], 1)
                     + m.recall_at_k([r["rank_v2t"] for r in ranked], 1)) / 2
    negatives = [r["score"] for r in records if isinstance(r.get("score"), dict)]
    if negatives:
        pos, neg = [s["pos"] for s in negatives], [s["neg"] for s in negatives]
        out["acc"] = m.aaro_acc(pos, neg)
        out["acc_hat"] = m.aaro_acc_hat(pos, neg)
    return out


def binary_cross_entropy(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Mean BCE of p(true) scores against True/False labels (probabilities clipped to [1e-7, 1 - 1e-7])."""
    p = np.clip(np.asarray(scores, dtype=np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(labels, dtype=np.float64)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


# ------------------------------------------------------------------------------------------------ command


def run_score(inputs: Sequence[str], run_dir: str, which: str, features_dir: str | None, task: str,
              batch_size: int, chunk: int, device_name: str, precision: str, rerank: int = 0) -> None:
    """``raiv score``: reads records (streaming, ``chunk`` at a time), scores them, writes them in order.

    Under torchrun each rank scores every ``world_size``-th record of a chunk and rank 0 writes them back in
    input order; retrieval needs every record at once and runs on rank 0.
    """
    from raivtools.io.errors import InputError
    from raivtools.io.records import RecordWriter, iter_located
    from raivtools.io.report import RunSummary
    from raivtools.io.store import iter_chunks
    from raivtools.models.layers import TextTokenizer
    from raivtools.train.checkpoint import load_run_model
    from raivtools.train.data import FeatureSource
    from raivtools.train.loop import Distributed, resolve_device

    dist = Distributed.from_env()
    device = resolve_device(device_name, dist)
    model, config = load_run_model(run_dir, which, device)
    if task == "retrieval" and not model.supports_retrieval:
        raise InputError(f"--task retrieval: --arch {config['arch']} has no retrieval embeddings (use navero)")
    features = FeatureSource(features_dir or config["features"]["dir"])
    if features.dim != model.config.feature_dim:
        raise InputError(f"{features.store.root}: features of size {features.dim}, but the run was trained on "
                         f"{model.config.feature_dim}; score with the feature store of the same encoder")
    tokenizer = TextTokenizer(model.config.context_length)
    summary = RunSummary("score")
    def score(located):
        return score_records(model, located, features, tokenizer, batch_size, device, precision, task, rerank=rerank)

    chunks = [list(iter_located(inputs))] if task == "retrieval" else iter_chunks(iter_located(inputs), chunk)
    with RecordWriter() as writer:
        for located in chunks:
            # counted before scoring, which gives records without features status error too
            upstream = sum(record.get("status") == "error" for _, _, record in located)
            if upstream:
                summary.extra["upstream errors"] = summary.extra.get("upstream errors", 0) + upstream
            if task == "retrieval" or dist.world_size == 1:
                scored = score(located) if dist.is_main else []
            else:
                scored = _sharded(score, located, dist)
            for record in scored:
                flag_not_finite(record)
                summary.add(record)
                writer.write(record)
    if dist.is_main:
        summary.print()


def _sharded(score, located, dist) -> list[dict[str, Any]]:
    """This rank scores ``located[rank::world]``; rank 0 gathers and interleaves them back in order."""
    import torch.distributed as dist_module

    mine = score(located[dist.rank::dist.world_size]) if located[dist.rank::dist.world_size] else []
    gathered: list[list[dict[str, Any]]] = [[] for _ in range(dist.world_size)]
    dist_module.all_gather_object(gathered, mine)
    if not dist.is_main:
        return []
    merged: list[dict[str, Any]] = [{}] * len(located)
    for rank, records in enumerate(gathered):
        merged[rank::dist.world_size] = records
    return merged
