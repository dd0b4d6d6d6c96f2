"""Metrics against values computed by hand on small arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qhybrid.training.metrics import compute_metrics, metric_names, metric_value, summarize


class TestBinary:
    # y = [0, 0, 1, 1]; P(positive) = [0.1, 0.6, 0.4, 0.8] -> predictions [0, 1, 0, 1]
    y = np.array([0, 0, 1, 1])
    p1 = np.array([0.1, 0.6, 0.4, 0.8])
    proba = np.stack([1 - p1, p1], axis=1)

    def test_threshold_metrics(self):
        m = compute_metrics(self.y, self.proba, 2)
        # one TP, one FP, one FN, one TN
        assert m["confusion_matrix"] == [[1, 1], [1, 1]]
        for name in ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "sensitivity", "specificity"):
            assert m[name] == pytest.approx(0.5), name

    def test_ranking_metrics(self):
        m = compute_metrics(self.y, self.proba, 2)
        # positive/negative pairs ranked correctly: (0.4>0.1), (0.8>0.1), (0.8>0.6) of 4
        assert m["roc_auc"] == pytest.approx(3 / 4)
        # ranked 0.8(+) 0.6(-) 0.4(+) 0.1(-): AP = 0.5 * 1 + 0.5 * 2/3
        assert m["pr_auc"] == pytest.approx(0.5 + 0.5 * 2 / 3)
        expected = -np.mean(np.log([0.9, 0.4, 0.4, 0.8]))
        assert m["log_loss"] == pytest.approx(expected)

    def test_asymmetric_sensitivity_specificity(self):
        y = np.array([0, 0, 0, 1, 1])
        pred = np.array([0, 0, 1, 1, 0])
        proba = np.eye(2)[pred] * 0.8 + 0.1
        m = compute_metrics(y, proba, 2)
        assert m["sensitivity"] == pytest.approx(1 / 2) and m["recall"] == pytest.approx(1 / 2)
        assert m["specificity"] == pytest.approx(2 / 3)
        assert m["precision"] == pytest.approx(1 / 2)
        assert m["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)

    def test_single_class_test_part_gives_undefined_auc(self):
        m = compute_metrics(np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]]), 2)
        assert math.isnan(m["roc_auc"]) and m["accuracy"] == 0.5


class TestMulticlass:
    y = np.array([0, 1, 2, 2])
    proba = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.6, 0.3], [0.1, 0.1, 0.8]])

    def test_macro_averages(self):
        m = compute_metrics(self.y, self.proba, 3)
        # predictions [0, 1, 1, 2]: per-class precision [1, 1/2, 1], recall [1, 1, 1/2]
        assert m["accuracy"] == pytest.approx(3 / 4)
        assert m["precision"] == pytest.approx((1 + 0.5 + 1) / 3)
        assert m["recall"] == pytest.approx((1 + 1 + 0.5) / 3)
        f1 = [1, 2 * 0.5 * 1 / 1.5, 2 * 1 * 0.5 / 1.5]
        assert m["f1"] == pytest.approx(np.mean(f1))
        assert m["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
        assert "sensitivity" not in m

    def test_one_vs_rest_auc(self):
        m = compute_metrics(self.y, self.proba, 3)
        # class 0: perfect; class 1: positive 0.5 vs negatives 0.2, 0.6, 0.1 -> 2/3;
        # class 2: positives 0.3, 0.8 vs negatives 0.1, 0.3 -> (1 + 0.5 + 1 + 1)/4
        assert m["roc_auc"] == pytest.approx((1 + 2 / 3 + 3.5 / 4) / 3)

    def test_metric_value_matches_compute_metrics(self):
        full = compute_metrics(self.y, self.proba, 3)
        for name in metric_names(3):
            assert metric_value(name, self.y, self.proba, 3) == pytest.approx(full[name])


def test_summary_is_mean_and_sample_std_ignoring_undefined_folds():
    folds = [{"accuracy": 0.8, "roc_auc": 0.9}, {"accuracy": 1.0, "roc_auc": float("nan")}]
    s = summarize(folds, ["accuracy", "roc_auc"])
    assert s["accuracy"]["mean"] == pytest.approx(0.9)
    assert s["accuracy"]["std"] == pytest.approx(np.std([0.8, 1.0], ddof=1))
    assert s["roc_auc"] == {"mean": pytest.approx(0.9), "std": 0.0}


def test_proba_shape_is_checked():
    with pytest.raises(ValueError, match="proba must have shape"):
        compute_metrics(np.array([0, 1]), np.array([[0.5, 0.5]]), 2)
