"""The corrected resampled t-test (Nadeau and Bengio 2003) of two models on the same folds:
a hand-computed case, identical models, and the verdict's direction for a score and a loss."""

from __future__ import annotations

import math

import pytest

from qhybrid.training.paired import compare, verdict


def _student_cdf_4(t: float) -> float:
    """Student's t CDF with 4 degrees of freedom in closed form (even degrees of freedom:
    1/2 + x/2 (1 + (1 - x^2)/2), x = t / sqrt(4 + t^2))."""
    x = t / math.sqrt(4 + t * t)
    return 0.5 + x / 2 * (1 + (1 - x * x) / 2)


def test_a_hand_computed_case():
    """Differences 0.01, 0.03, -0.01, 0.02, 0.00 over 5 folds of 5-fold CV (n_test/n_train = 1/4):
    mean 0.01, sample variance 0.00025, corrected standard error sqrt((1/5 + 1/4) 0.00025)."""
    model = [0.91, 0.93, 0.89, 0.92, 0.90]
    other = [0.90, 0.90, 0.90, 0.90, 0.90]
    result = compare("accuracy", model, other, test_over_train=0.25)
    se = math.sqrt((1 / 5 + 1 / 4) * 0.00025)
    t = 0.01 / se
    assert result.delta == pytest.approx(0.01, abs=1e-12)
    assert result.p == pytest.approx(2 * (1 - _student_cdf_4(t)), rel=1e-9)
    t_975_4 = 2.7764451051977987  # the 97.5% quantile of Student's t with 4 degrees of freedom (tables)
    assert (result.low, result.high) == pytest.approx((0.01 - t_975_4 * se, 0.01 + t_975_4 * se), rel=1e-9)
    assert result.folds == 5
    plain = compare("accuracy", model, other, test_over_train=0.0)  # the uncorrected test: a smaller p
    assert plain.p < result.p


def test_identical_models_differ_by_nothing():
    scores = [0.8, 0.9, 0.85, 0.95]
    result = compare("roc_auc", scores, scores, test_over_train=1 / 3)
    assert (result.delta, result.low, result.high, result.p) == (0.0, 0.0, 0.0, 1.0)
    assert verdict(result, "g6", "separable").startswith("no evidence that g6 and separable differ")


@pytest.mark.parametrize("metric, better", [("accuracy", "g6"), ("log_loss", "logreg")])
def test_the_verdict_names_the_better_model_by_the_metrics_direction(metric, better):
    model = [0.90, 0.92, 0.91, 0.93, 0.92, 0.94]
    other = [0.80, 0.81, 0.80, 0.82, 0.80, 0.83]
    result = compare(metric, model, other, test_over_train=0.25)
    assert result.p < 0.05 and result.low > 0
    worse = "logreg" if better == "g6" else "g6"
    assert verdict(result, "g6", "logreg").startswith(f"{better} is better than {worse}: {metric} Δ=+0.110")


def test_fewer_than_two_folds_or_unpaired_folds_are_refused():
    with pytest.raises(ValueError):
        compare("accuracy", [0.9], [0.8], 0.25)
    with pytest.raises(ValueError):
        compare("accuracy", [0.9, 0.8], [0.8], 0.25)
