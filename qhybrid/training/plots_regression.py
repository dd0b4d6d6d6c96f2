"""A regression run's figures: predicted against true values and the residuals, each fold's
test part in its own colour, in the target's units. (ROC, PR and the confusion matrix are
about classes: a regression run has none of them.)"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from qhybrid.figures import save_figure
from qhybrid.training.metrics import REGISTRY
from qhybrid.training.plots import FoldCurves, plain_figure, mean_std


def _r2_text(folds: Sequence[FoldCurves]) -> str:
    scores = [REGISTRY["r2"].compute(f.y_true, f.proba, f.proba, 0) for f in folds if len(f.y_true) > 1]
    scores = [s for s in scores if np.isfinite(s)]
    if not scores:
        return "R² undefined"
    mean, std = mean_std(scores)
    return f"R² = {mean:.3f} ± {std:.3f}" if len(scores) > 1 else f"R² = {mean:.3f}"


@plain_figure
def plot_predicted_vs_true(folds: Sequence[FoldCurves], path: Path) -> Path:
    """Each fold's test rows as (true, predicted) points, with the identity line: points on it
    are perfect predictions."""
    fig = Figure(figsize=(6.0, 5.6))
    ax = fig.add_subplot(1, 1, 1)
    for k, f in enumerate(folds):
        r2 = REGISTRY["r2"].compute(f.y_true, f.proba, f.proba, 0) if len(f.y_true) > 1 else float("nan")
        ax.scatter(f.y_true, f.proba, s=14, alpha=0.6, color=f"C{k % 10}",
                   label=f"fold {k} (R² = {r2:.3f})" if np.isfinite(r2) else f"fold {k}")
    values = np.concatenate([np.concatenate([f.y_true, f.proba]) for f in folds]) if folds else np.zeros(1)
    low, high = float(np.min(values)), float(np.max(values))
    pad = 0.03 * (high - low or 1.0)
    ax.plot([low - pad, high + pad], [low - pad, high + pad], ls="--", color="grey", lw=1, label="predicted = true")
    ax.set(xlim=(low - pad, high + pad), ylim=(low - pad, high + pad), xlabel="true value", ylabel="predicted value",
           title=f"Predicted vs true, test parts of {len(folds)} fold{'s' if len(folds) != 1 else ''} "
                 f"({_r2_text(folds)})")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize="small")
    return save_figure(path, fig)


@plain_figure
def plot_residuals(folds: Sequence[FoldCurves], path: Path) -> Path:
    """Residuals (true - predicted) against the predicted value per fold, and their
    distribution over all test rows: structure on the left or a skewed histogram on the right
    is what the model misses."""
    fig = Figure(figsize=(11.0, 4.8))
    ax, hist = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    residuals = []
    for k, f in enumerate(folds):
        residual = np.asarray(f.y_true, dtype=np.float64) - np.asarray(f.proba, dtype=np.float64)
        residuals.append(residual)
        ax.scatter(f.proba, residual, s=14, alpha=0.6, color=f"C{k % 10}", label=f"fold {k}")
    ax.axhline(0.0, color="grey", lw=1, ls="--")
    ax.set(xlabel="predicted value", ylabel="residual (true - predicted)", title="Residuals vs predicted")
    ax.legend(fontsize="small")
    pooled = np.concatenate(residuals) if residuals else np.zeros(0)
    if pooled.size:
        hist.hist(pooled, bins=min(40, max(5, pooled.size // 5)), color="C0", alpha=0.8)
        hist.axvline(0.0, color="grey", lw=1, ls="--")
        _, spread = mean_std(pooled)
        hist.set_title(f"Residuals of all test rows (mean {pooled.mean():.3g}, std {float(spread):.3g})")
    hist.set(xlabel="residual (true - predicted)", ylabel="rows")
    return save_figure(path, fig)
