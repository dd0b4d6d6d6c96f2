"""Paired comparisons of two models scored on the same test folds: the mean difference of a
metric with a 95% interval and a p-value from the corrected resampled t-test (Nadeau and
Bengio 2003, "Inference for the generalization error").

Cross-validation folds share most of their training rows, so the differences of two models
across folds are correlated and the plain paired t-test's variance is too small (its
p-values too small). Nadeau and Bengio correct the variance of the mean difference from
sigma^2 / J to (1/J + n_test / n_train) sigma^2, J the number of folds (all repeats), sigma^2
the differences' sample variance, n_test / n_train the test part's size over the training
part's; t has J - 1 degrees of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from qhybrid.training.metrics import lower_is_better

LEVEL = 0.95
TEST_NAME = "corrected resampled t-test (Nadeau and Bengio 2003)"


@dataclass(frozen=True)
class Comparison:
    metric: str
    delta: float  # mean of (model - other) over the folds
    low: float  # the 95% interval of delta
    high: float
    p: float  # two-sided, corrected resampled t-test
    folds: int

    def record(self) -> dict:
        return {"metric": self.metric, "delta": self.delta, "interval": [self.low, self.high], "p": self.p,
                "folds": self.folds}


def compare(metric: str, model: Sequence[float], other: Sequence[float], test_over_train: float) -> Comparison:
    """The two models' paired difference in ``metric`` over the same folds (``model[j]`` and
    ``other[j]`` scored on fold j's test rows); ``test_over_train`` the folds' mean n_test /
    n_train. ValueError for fewer than two folds or unequal lengths."""
    if len(model) != len(other) or len(model) < 2:
        raise ValueError(f"a paired comparison needs the same two or more folds, got {len(model)} and {len(other)}")
    diffs = [a - b for a, b in zip(model, other)]
    J = len(diffs)
    delta = sum(diffs) / J
    variance = sum((d - delta) ** 2 for d in diffs) / (J - 1)
    scale = math.sqrt((1 / J + test_over_train) * variance)
    if scale == 0:  # every fold differs by the same amount: no spread to test against
        p = 1.0 if delta == 0 else 0.0
        return Comparison(metric, delta, delta, delta, p, J)
    t = delta / scale
    p = float(2 * stats.t.sf(abs(t), J - 1))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, J - 1)) * scale
    return Comparison(metric, delta, delta - half, delta + half, p, J)


def verdict(c: Comparison, model: str, other: str, alpha: float = 0.05, claim: str | None = None) -> str:
    """One sentence: which is better by the metric, or that the folds show no evidence
    either way, with the difference, its interval and p. ``claim``: what ``model`` being
    better would show ("the entangling gates help"), said instead of "model is better"."""
    numbers = f"{c.metric} Δ={c.delta:+.3f} [{c.low:+.3f}, {c.high:+.3f}], p={c.p:.2g} over {c.folds} folds"
    if c.p >= alpha:
        return f"no evidence that {claim}: {numbers}" if claim else \
            f"no evidence that {model} and {other} differ: {numbers}"
    better = (c.delta < 0) if lower_is_better(c.metric) else (c.delta > 0)
    if better:
        return f"{claim}: {numbers}" if claim else f"{model} is better than {other}: {numbers}"
    return f"{other} is better than {model}: {numbers}"
