"""The metric functions against values worked out by hand."""

import math

import numpy as np
import pytest

from raivtools import metrics


class TestPairAccuracy:
    def test_hand_example(self):
        # true/0.9 right, true/0.4 wrong, false/0.1 right, false/0.6 wrong
        assert metrics.pair_accuracy([True, True, False, False], [0.9, 0.4, 0.1, 0.6]) == 0.5

    def test_score_at_threshold_is_wrong_for_either_label(self):
        assert metrics.pair_accuracy([True, False], [0.5, 0.5]) == 0.0
        assert list(metrics.pair_correct([True, False, True], [0.5000001, 0.4999999, 0.5])) == [True, True, False]

    def test_all_correct_and_all_wrong(self):
        assert metrics.pair_accuracy([True, False, True], [1.0, 0.0, 0.7]) == 1.0
        assert metrics.pair_accuracy([True, False, True], [0.0, 1.0, 0.3]) == 0.0

    def test_empty_is_nan_and_lengths_must_match(self):
        assert math.isnan(metrics.pair_accuracy([], []))
        with pytest.raises(ValueError, match="2 labels but 1 scores"):
            metrics.pair_accuracy([True, False], [0.3])

    def test_other_threshold(self):
        assert metrics.pair_accuracy([True, False], [0.3, 0.1], threshold=0.2) == 1.0


class TestMultipleChoice:
    def test_hand_example_with_a_tie(self):
        scores = [[0.1, 0.7, 0.2], [0.5, 0.5, 0.1], [0.9, 0.05, 0.05]]
        # right; a tie for the top (wrong even though the answer is among the tied); wrong choice
        assert metrics.multiple_choice_accuracy(scores, [1, 0, 2]) == pytest.approx(1 / 3)

    def test_tie_below_the_top_does_not_matter(self):
        assert metrics.choice_correct([0.8, 0.1, 0.1], 0)

    def test_all_correct_all_wrong_empty(self):
        assert metrics.multiple_choice_accuracy([[3, 1, 2], [0, 0, 1]], [0, 2]) == 1.0
        assert metrics.multiple_choice_accuracy([[3, 1, 2], [0, 0, 1]], [1, 0]) == 0.0
        assert math.isnan(metrics.multiple_choice_accuracy([], []))

    def test_answer_out_of_range(self):
        with pytest.raises(ValueError, match="answer 3 is not one of 3 choices"):
            metrics.choice_correct([0.1, 0.2, 0.3], 3)


class TestAaro:
    def test_acc_counts_ties_as_wrong(self):
        pos, neg = [0.9, 0.6, 0.3, 0.5], [0.1, 0.7, 0.2, 0.5]
        # right, wrong, right (both low, pos higher), tie -> wrong
        assert metrics.aaro_acc(pos, neg) == 0.5

    def test_acc_and_acc_hat_differ_on_a_small_hand_example(self):
        pos, neg = [0.9, 0.4], [0.8, 0.1]
        # acc: 0.9 > 0.8 and 0.4 > 0.1, both right
        assert metrics.aaro_acc(pos, neg) == 1.0
        # acc_hat (Eq. 6): positives above 0.5: 1 of 2; negatives below 0.5: 1 of 2 -> (1 + 1) / (2 * 2)
        assert metrics.aaro_acc_hat(pos, neg) == 0.5

    def test_acc_hat_judges_each_half_on_its_own(self):
        # pos right (0.6 > 0.5), neg wrong (0.7 is not < 0.5): half a record, though acc gives 0
        assert metrics.aaro_acc([0.6], [0.7]) == 0.0
        assert metrics.aaro_acc_hat([0.6], [0.7]) == 0.5

    def test_acc_hat_threshold_is_strict_on_both_sides(self):
        assert metrics.aaro_acc_hat([0.5, 0.5], [0.5, 0.5]) == 0.0

    def test_all_correct_all_wrong_empty(self):
        assert metrics.aaro_acc([0.9, 0.8], [0.1, 0.2]) == metrics.aaro_acc_hat([0.9, 0.8], [0.1, 0.2]) == 1.0
        assert metrics.aaro_acc([0.1, 0.2], [0.9, 0.8]) == metrics.aaro_acc_hat([0.1, 0.2], [0.9, 0.8]) == 0.0
        assert math.isnan(metrics.aaro_acc([], [])) and math.isnan(metrics.aaro_acc_hat([], []))

    def test_lengths_must_match(self):
        with pytest.raises(ValueError):
            metrics.aaro_acc([0.1], [0.2, 0.3])
        with pytest.raises(ValueError):
            metrics.aaro_acc_hat([0.1], [])


class TestRetrieval:
    def test_recall_at_k_by_hand(self):
        ranks = [1, 2, 5, 11, 3]
        assert metrics.recall_at_k(ranks, 1) == pytest.approx(0.2)
        assert metrics.recall_at_k(ranks, 5) == pytest.approx(0.8)  # 1, 2, 5, 3
        assert metrics.recall_at_k(ranks, 10) == pytest.approx(0.8)
        assert metrics.recall_at_k(ranks, 11) == 1.0

    def test_median_rank_odd_and_even(self):
        assert metrics.median_rank([1, 2, 5, 11, 3]) == 3.0
        assert metrics.median_rank([1, 4, 2, 10]) == 3.0  # (2 + 4) / 2
        assert metrics.median_rank(np.array([7])) == 7.0

    def test_ranks_are_one_based(self):
        with pytest.raises(ValueError, match="1-based"):
            metrics.recall_at_k([0, 1], 1)
        with pytest.raises(ValueError, match="k must be"):
            metrics.recall_at_k([1], 0)

    def test_empty(self):
        assert math.isnan(metrics.recall_at_k([], 5)) and math.isnan(metrics.median_rank([]))


class TestGrouping:
    def test_group_indices_keep_first_appearance_order(self):
        assert metrics.group_indices(["b", "a", "b", "c"]) == {"b": [0, 2], "a": [1], "c": [3]}

    def test_grouped_metric(self):
        types = ["action", "object", "action", "object"]
        result = metrics.grouped(metrics.aaro_acc, types, [0.9, 0.2, 0.1, 0.8], [0.1, 0.3, 0.5, 0.7])
        assert result == {"action": 0.5, "object": 0.5}

    def test_macro_average_leaves_out_empty_groups(self):
        assert metrics.macro_average([0.5, math.nan, 1.0]) == 0.75
        assert math.isnan(metrics.macro_average([math.nan]))
        assert math.isnan(metrics.macro_average([]))

    def test_macro_is_not_pooled(self):
        # the papers' "Avg" is the mean of the per-type numbers, whatever each type's size
        per_type = metrics.grouped(metrics.aaro_acc, ["a", "b", "b", "b"], [1, 0, 0, 1], [0, 1, 1, 0])
        assert metrics.macro_average(per_type.values()) == pytest.approx((1.0 + 1 / 3) / 2)
        assert metrics.aaro_acc([1, 0, 0, 1], [0, 1, 1, 0]) == 0.5
