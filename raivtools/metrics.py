"""The seed papers' evaluation metrics, as pure functions on plain Python / numpy data.

Every accuracy here is a fraction in [0, 1] (the report turns it into a percentage); every function returns
``nan`` for empty input, so an empty group reads as "no data", never as 0 % or 100 %.

Ties and the 0.5 threshold are decided the strict way, like ARO and VL-CheckList: a positive caption scored
*equal* to its negative is wrong, a p(true) of exactly 0.5 predicts neither True nor False (wrong either
way), and a multiple-choice answer tied with another choice for the top score is wrong. A model that cannot
tell two things apart gets no credit for it. R@K and MdR take the ranks as given; ``raiv score`` makes them
the same way (a candidate scored equal to the true match, or NaN, counts as ranked above it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)

#: p(true) above this predicts True, below it predicts False (RAIV accuracy@1, NAVERO acc_hat)
THRESHOLD = 0.5


def _as_array(values: Iterable[float]) -> np.ndarray:
    return np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64)


def _mean(correct: np.ndarray) -> float:
    return float(correct.mean()) if correct.size else math.nan


def pair_correct(labels: Sequence[bool], scores: Sequence[float], threshold: float = THRESHOLD) -> np.ndarray:
    """Per-record correctness of True/False statements scored with p(true).

    A score above ``threshold`` predicts True, below it False; a score exactly at the threshold is no
    decision and counts as wrong whatever the label.
    """
    truth = np.asarray(list(labels), dtype=bool)
    prob = _as_array(scores)
    if truth.shape != prob.shape:
        raise ValueError(f"{truth.size} labels but {prob.size} scores")
    return np.where(truth, prob > threshold, prob < threshold)


def pair_accuracy(labels: Sequence[bool], scores: Sequence[float], threshold: float = THRESHOLD) -> float:
    """RAIV accuracy@1 of the True/False task (seed 000, Tables 2, 4-6). See :func:`pair_correct`."""
    return _mean(pair_correct(labels, scores, threshold))


def choice_correct(choice_scores: Sequence[float], answer: int) -> bool:
    """Whether the right choice has the single highest score (a tie for the top is wrong)."""
    scores = _as_array(choice_scores)
    if not 0 <= answer < scores.size:
        raise ValueError(f"answer {answer} is not one of {scores.size} choices")
    best = scores.max()
    return bool(scores[answer] == best and np.count_nonzero(scores == best) == 1)


def multiple_choice_accuracy(choice_scores: Sequence[Sequence[float]], answers: Sequence[int]) -> float:
    """Reasoning accuracy@1 (seed 000, Table 3): the highest-scored choice must be the answer, ties wrong."""
    if len(choice_scores) != len(answers):
        raise ValueError(f"{len(choice_scores)} score lists but {len(answers)} answers")
    return _mean(np.array([choice_correct(s, a) for s, a in zip(choice_scores, answers)], dtype=bool))


def aaro_acc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """NAVERO ``acc`` (seed 004, Eq. 5): the fraction with p(T|V) > p(T_neg|V). Ties are wrong."""
    p, n = _as_array(pos), _as_array(neg)
    if p.shape != n.shape:
        raise ValueError(f"{p.size} positive but {n.size} negative scores")
    return _mean(p > n)


def aaro_acc_hat(pos: Sequence[float], neg: Sequence[float], threshold: float = THRESHOLD) -> float:
    """NAVERO ``acc_hat`` (seed 004, Eq. 6): positives above 0.5 and negatives below 0.5, over 2N.

    Each half is judged on its own: a record with p(T|V) = 0.9 and p(T_neg|V) = 0.8 scores 1/2, not 0.
    """
    p, n = _as_array(pos), _as_array(neg)
    if p.shape != n.shape:
        raise ValueError(f"{p.size} positive but {n.size} negative scores")
    if not p.size:
        return math.nan
    return float((np.count_nonzero(p > threshold) + np.count_nonzero(n < threshold)) / (2 * p.size))


def _ranks(ranks: Iterable[int]) -> np.ndarray:
    values = _as_array(ranks)
    if values.size and values.min() < 1:
        raise ValueError(f"ranks are 1-based; got {values.min():g}")
    return values


def recall_at_k(ranks: Iterable[int], k: int) -> float:
    """R@K: the fraction of queries whose true match is ranked ``k`` or better (ranks are 1-based)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return _mean(_ranks(ranks) <= k)


def median_rank(ranks: Iterable[int]) -> float:
    """MdR: the median of the 1-based ranks of the true matches (the mean of the middle two for an even count)."""
    values = _ranks(ranks)
    return float(np.median(values)) if values.size else math.nan


def group_indices(keys: Iterable[K]) -> dict[K, list[int]]:
    """Positions of each distinct key, keys in order of first appearance."""
    groups: dict[K, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    return groups


def grouped(metric: Callable[..., float], keys: Sequence[K], *columns: Sequence) -> dict[K, float]:
    """Applies ``metric`` to the rows of each group: ``grouped(aaro_acc, types, pos, neg)``."""
    arrays = [list(column) for column in columns]
    return {key: metric(*[[column[i] for i in rows] for column in arrays])
            for key, rows in group_indices(keys).items()}


def macro_average(values: Iterable[float]) -> float:
    """The unweighted mean over groups, as the papers' "Avg" columns; empty (nan) groups are left out."""
    present = [value for value in values if not math.isnan(value)]
    return float(sum(present) / len(present)) if present else math.nan
