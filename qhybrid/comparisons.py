"""metrics.json's "comparisons": the hybrid against each control and each classical
baseline, paired fold by fold over every test fold of the run (all repeats), by the corrected
resampled t-test (qhybrid.training.paired), with a one-sentence verdict on the headline metric.

What the verdict claims: for a control, what it takes away (qhybrid.controls.QUESTIONS:
"no evidence that the entangling gates help"); for a baseline, that the hybrid beats it.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from qhybrid.controls import QUESTIONS
from qhybrid.training.metrics import REGISTRY
from qhybrid.training.paired import TEST_NAME, compare, verdict

MIN_FOLDS = 2


def headline(names: list[str]) -> str:
    """The metric each verdict is read from: ROC-AUC for classes, R² for a regression."""
    for name in ("roc_auc", "r2", "accuracy"):
        if name in names:
            return name
    return names[0]


def test_over_train(rows: list[dict]) -> float:
    """The folds' mean test part over training part (fit and validation rows): Nadeau and
    Bengio's correction for training sets that overlap from fold to fold."""
    return float(np.mean([r["n_test"] / (r["n_train"] + r.get("n_val", 0)) for r in rows]))


def comparisons_record(model: str, rows: list[dict], others: dict[str, tuple[str, list[dict]]],
                       names: list[str]) -> dict[str, Any]:
    """``others``: name -> (kind: control | baseline, its fold rows, in the hybrid's fold order)."""
    metrics = [n for n in names if n in REGISTRY]
    main = headline(metrics)
    ratio = test_over_train(rows)
    versus = {}
    for other, (kind, other_rows) in others.items():
        per_metric = {m: _paired(m, rows, other_rows, ratio) for m in metrics}
        first = per_metric[main]
        versus[other] = {"kind": kind, "metrics": {m: c.record() if c else None for m, c in per_metric.items()},
                         "verdict": verdict(first, model, other, claim=_claim(model, other, kind)) if first
                         else f"{model} vs {other}: a paired test needs {MIN_FOLDS} or more folds with {main} defined "
                              "(repeats=R gives more)"}
    return {"test": TEST_NAME, "headline_metric": main, "folds": len(rows), "test_over_train": ratio,
            "versus": versus}


def _paired(metric: str, rows: list[dict], other_rows: list[dict], ratio: float):
    """The comparison over the folds where both models' metric is defined; None below two."""
    pairs = [(a.get(metric), b.get(metric)) for a, b in zip(rows, other_rows)]
    pairs = [(a, b) for a, b in pairs if _defined(a) and _defined(b)]
    if len(pairs) < MIN_FOLDS:
        return None
    return compare(metric, [a for a, _ in pairs], [b for _, b in pairs], ratio)


def _defined(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _claim(model: str, other: str, kind: str) -> str:
    return QUESTIONS[other] if kind == "control" else f"{model} beats {other}"


def verdict_lines(comparisons: Optional[dict]) -> list[str]:
    """The terminal's lines: one verdict per comparison, controls first."""
    if not comparisons:
        return []
    head = (f"paired comparisons on the same {comparisons['folds']} test folds ({comparisons['test']}; "
            f"Δ = hybrid - other, 95% interval):")
    return [head, *(f"  vs {name} ({c['kind']}): {c['verdict']}" for name, c in comparisons["versus"].items())]
