"""A binary decision threshold chosen on validation rows for a target sensitivity."""

from __future__ import annotations

import math

import numpy as np


def threshold_for_sensitivity(y: np.ndarray, score: np.ndarray, target: float) -> float:
    """The highest threshold t such that ``score >= t`` finds at least ``target`` of the
    positives (y == 1): the k-th highest positive score, k = ceil(target * positives).
    NaN when there are no positives."""
    positives = np.sort(np.asarray(score, dtype=np.float64)[np.asarray(y) == 1])[::-1]
    if positives.size == 0:
        return float("nan")
    k = max(1, math.ceil(target * positives.size - 1e-9))
    return float(positives[k - 1])


def rates_at(y: np.ndarray, score: np.ndarray, threshold: float) -> tuple[float, float]:
    """(sensitivity, specificity) of the decision ``score >= threshold``; NaN where undefined."""
    y = np.asarray(y)
    predicted = np.asarray(score) >= threshold
    pos, neg = y == 1, y == 0
    sensitivity = float(predicted[pos].mean()) if pos.any() else float("nan")
    specificity = float((~predicted[neg]).mean()) if neg.any() else float("nan")
    return sensitivity, specificity
