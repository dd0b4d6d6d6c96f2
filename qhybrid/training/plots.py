"""The run folder's plots (PNG, matplotlib's Agg renderer through the object API: no
pyplot state, safe in worker processes and threads).

Binary tasks get one panel (the positive class); multiclass tasks one one-vs-rest panel per
class.

Every text in a figure is the user's text taken literally: class names such as ``$<=50k``
are never parsed as mathtext (``plain_text``). Spread over folds is the sample standard
deviation, the same rule as the tables (``mean_std``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm

from qhybrid.figures import save_figure


@dataclass
class FoldCurves:
    """What the plots need from one fold."""

    y_true: np.ndarray  # test labels (class indices), or a regression's true values
    proba: np.ndarray  # (n_test, n_classes), or a regression's predicted values (n_test,)
    history: list[dict[str, float]]
    best_epoch: int


_RC_LOCK = threading.RLock()
F = TypeVar("F", bound=Callable)


@contextmanager
def plain_text() -> Iterator[None]:
    """Draw with mathtext off: a ``$`` in a class name, run label or feature name is text,
    not a formula that fails to parse. Tick labels are made when the figure is saved, so
    building AND saving must happen inside. rcParams are process-wide: the lock keeps
    another thread from restoring them while a figure is still being saved."""
    with _RC_LOCK, matplotlib.rc_context({"text.parse_math": False}):
        yield


def plain_figure(draw: F) -> F:
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with plain_text():
            return draw(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def mean_std(values, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation (ddof=1) over ``axis``; one value has std 0. The
    rule of qhybrid.training.metrics.summarize, so a legend's "± std" matches the tables'."""
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=axis)
    if values.shape[axis] < 2:
        return mean, np.zeros_like(mean)
    return mean, values.std(axis=axis, ddof=1)


def _finite(scores: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(scores)))


def _panels(n_classes: int) -> list[int]:
    return [1] if n_classes == 2 else list(range(n_classes))


def _grid(n_panels: int, width: float = 5.0, height: float = 4.5) -> tuple[Figure, list]:
    n_panels = max(n_panels, 1)  # an empty class list still draws an (empty) figure
    cols = min(n_panels, 3)
    rows = int(np.ceil(n_panels / cols))
    fig = Figure(figsize=(width * cols, height * rows))
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n_panels)]
    return fig, axes


def _panel_title(classes: Sequence[str], c: int, what: str) -> str:
    if len(classes) == 2:
        return f"{what} (positive class: {classes[c]})"
    return f"{what}: {classes[c]} vs rest"


_GRID = np.linspace(0.0, 1.0, 201)
# folds take C0..C4; C7 (grey) is the chance line's look
_BASELINE_COLORS = ("C5", "C6", "C8", "C9", "C3")


def _fold_rocs(folds: Sequence[FoldCurves], c: int) -> list[tuple[int, np.ndarray, np.ndarray, float]]:
    """(fold, fpr, tpr, auc) of class ``c`` vs rest, for the folds where it is defined."""
    out = []
    for k, f in enumerate(folds):
        target = (f.y_true == c).astype(int)
        if target.size == 0 or target.min() == target.max() or not _finite(f.proba[:, c]):
            continue  # no curve: the test part lacks the class or its complement, or a score is NaN
        fpr, tpr, _ = skm.roc_curve(target, f.proba[:, c])
        out.append((k, fpr, tpr, skm.auc(fpr, tpr)))
    return out


def _mean_roc(rocs) -> tuple[np.ndarray, np.ndarray, list[float]]:
    tprs = []
    for _, fpr, tpr, _ in rocs:
        interp = np.interp(_GRID, fpr, tpr)
        interp[0] = 0.0
        tprs.append(interp)
    mean, std = mean_std(tprs)
    mean[-1] = 1.0
    return mean, std, [auc for *_, auc in rocs]


def _auc_text(aucs: Sequence[float]) -> str:
    mean, std = mean_std(aucs)
    return f"{mean:.3f} ± {std:.3f}" if len(aucs) > 1 else f"{mean:.3f}"


@plain_figure
def plot_roc(folds: Sequence[FoldCurves], classes: Sequence[str], path: Path,
             baselines: dict[str, Sequence[FoldCurves]] | None = None) -> Path:
    """Each fold's ROC, their mean with a ±1 std band, and each baseline's mean (dashed)."""
    grid = _GRID
    panels = _panels(len(classes))
    fig, axes = _grid(len(panels))
    for ax, c in zip(axes, panels):
        rocs = _fold_rocs(folds, c)
        for k, fpr, tpr, auc in rocs:
            ax.plot(fpr, tpr, lw=1, alpha=0.45, label=f"fold {k} (AUC = {auc:.3f})")
        if rocs:
            mean, std, aucs = _mean_roc(rocs)
            ax.plot(grid, mean, color="navy", lw=2.2,
                    label=f"mean of {len(aucs)} fold{'s' if len(aucs) != 1 else ''} (AUC = {_auc_text(aucs)})")
            if len(rocs) > 1:
                ax.fill_between(grid, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1),
                                color="navy", alpha=0.15, label="± 1 std over folds")
        for i, (name, base) in enumerate((baselines or {}).items()):
            base_rocs = _fold_rocs(base, c)
            if base_rocs:
                mean, _, aucs = _mean_roc(base_rocs)
                ax.plot(grid, mean, color=_BASELINE_COLORS[i % len(_BASELINE_COLORS)], lw=1.6, ls="--",
                        label=f"{name}, mean (AUC = {_auc_text(aucs)})")
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel="false positive rate",
               ylabel="true positive rate", title=_panel_title(classes, c, "ROC"))
        ax.legend(loc="lower right", fontsize="small")
    return save_figure(path, fig)


@plain_figure
def plot_pr(folds: Sequence[FoldCurves], classes: Sequence[str], path: Path,
            baselines: dict[str, Sequence[FoldCurves]] | None = None) -> Path:
    """Each fold's precision-recall curve, and each baseline's over all test rows (dashed)."""
    panels = _panels(len(classes))
    fig, axes = _grid(len(panels))
    for ax, c in zip(axes, panels):
        positives, total = 0, 0
        for k, f in enumerate(folds):
            target = (f.y_true == c).astype(int)
            positives, total = positives + int(target.sum()), total + len(target)
            if target.size == 0 or target.max() == 0 or not _finite(f.proba[:, c]):
                continue  # no positives (or a NaN score): precision-recall is undefined on this fold
            precision, recall, _ = skm.precision_recall_curve(target, f.proba[:, c])
            ap = skm.average_precision_score(target, f.proba[:, c])
            ax.step(recall, precision, where="post", lw=1.2, alpha=0.8, label=f"fold {k} (AP = {ap:.3f})")
        for i, (name, base) in enumerate((baselines or {}).items()):
            usable = [f for f in base if len(f.y_true) and _finite(f.proba[:, c])]
            if not usable:
                continue  # the baseline could not be fitted (or scored) on any fold
            target = np.concatenate([(f.y_true == c).astype(int) for f in usable])
            score = np.concatenate([f.proba[:, c] for f in usable])
            if target.max() == 1:
                precision, recall, _ = skm.precision_recall_curve(target, score)
                ap = skm.average_precision_score(target, score)
                ax.step(recall, precision, where="post", lw=1.4, ls="--",
                        color=_BASELINE_COLORS[i % len(_BASELINE_COLORS)],
                        label=f"{name}, all folds (AP = {ap:.3f})")
        if total:
            ax.axhline(positives / total, ls="--", color="grey", lw=1,
                       label=f"prevalence ({positives / total:.3f})")
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.05), xlabel="recall", ylabel="precision",
               title=_panel_title(classes, c, "Precision-recall"))
        ax.legend(loc="lower left", fontsize="small")
    return save_figure(path, fig)


@plain_figure
def plot_confusion(matrix: np.ndarray, classes: Sequence[str], path: Path, n_folds: int) -> Path:
    matrix = np.asarray(matrix)
    size = max(4.5, 1.1 * len(classes) + 2)
    fig = Figure(figsize=(size, size * 0.85))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype=float), where=rows > 0)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, f"{matrix[i, j]}\n({share[i, j]:.0%})", ha="center", va="center",
                    color="white" if matrix[i, j] > threshold else "black", fontsize="small")
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, labels=list(classes), rotation=30, ha="right")
    ax.set_yticks(ticks, labels=list(classes))
    ax.set(xlabel="predicted", ylabel="true",
           title=f"Confusion matrix, test parts of {n_folds} fold{'s' if n_folds != 1 else ''} summed")
    return save_figure(path, fig)


@plain_figure
def plot_learning_curves(folds: Sequence[FoldCurves], path: Path, loss: str = "cross-entropy loss") -> Path:
    fig = Figure(figsize=(7.5, 4.8))
    ax = fig.add_subplot(1, 1, 1)
    colors = [f"C{i % 10}" for i in range(len(folds))]
    for k, (f, color) in enumerate(zip(folds, colors)):
        epochs = [h.get("epoch", i + 1) for i, h in enumerate(f.history)]
        ax.plot(epochs, [h.get("train_loss", np.nan) for h in f.history], color=color, lw=1.3, label=f"fold {k} train")
        if any("val_loss" in h for h in f.history):
            ax.plot(epochs, [h.get("val_loss", np.nan) for h in f.history], color=color, lw=1.3, ls="--",
                    label=f"fold {k} val")
        ax.axvline(f.best_epoch, color=color, lw=0.8, ls=":", alpha=0.8)
    ax.set(xlabel="epoch", ylabel=loss,
           title="Learning curves (solid: train, dashed: validation, dotted: best epoch)")
    ax.legend(fontsize="small", ncol=2)
    return save_figure(path, fig)


@plain_figure
def plot_trading(folds: Sequence, strategy: str, path: Path) -> Path:
    """Research figure: each test fold's cumulative return of trading the predicted direction
    (solid) against buy-and-hold (dashed) over the same days. ``folds`` holds one frame per
    fold, indexed by date, with columns ``strategy`` and ``buy_and_hold`` (daily returns)."""
    fig = Figure(figsize=(9.0, 4.8))
    ax = fig.add_subplot(1, 1, 1)
    for k, daily in enumerate(folds):
        color = f"C{k % 10}"
        ax.plot(daily.index, np.cumprod(1.0 + daily["strategy"].to_numpy()) - 1.0, color=color, lw=1.3,
                label=f"fold {k} model ({strategy.replace('_', '/')})")
        ax.plot(daily.index, np.cumprod(1.0 + daily["buy_and_hold"].to_numpy()) - 1.0, color=color, lw=1.0,
                ls="--", label=f"fold {k} buy-and-hold")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set(xlabel="date", ylabel="cumulative return",
           title="Research figure, not a backtest: no costs or slippage (solid: model, dashed: buy-and-hold)")
    ax.legend(fontsize="x-small", ncol=2)
    fig.autofmt_xdate()
    return save_figure(path, fig)
