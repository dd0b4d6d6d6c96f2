"""The run folder's plots: any class name draws (no mathtext), and "± std" in a legend is the
sample standard deviation of the tables."""

from __future__ import annotations

import threading

import matplotlib
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from qhybrid.training import plots
from qhybrid.training.metrics import summarize
from qhybrid.training.plots import FoldCurves

# each would fail to parse as mathtext; as text they are only names
DOLLAR_CLASSES = [["$0_$50k", "$<=50k"], ["$a", "b$_{1}", r"\frac{1}{2}$", "$$"]]


def folds_for(n_classes: int, n_folds: int = 3, seed: int = 0) -> list[FoldCurves]:
    rng = np.random.default_rng(seed)
    folds = []
    for _ in range(n_folds):
        y = np.tile(np.arange(n_classes), 8)
        scores = rng.random((len(y), n_classes)) + np.eye(n_classes)[y] * rng.random()
        proba = scores / scores.sum(axis=1, keepdims=True)
        history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e} for e in range(1, 5)]
        folds.append(FoldCurves(y, proba, history, best_epoch=3))
    return folds


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100


def draw_all(classes: list[str], folds: list[FoldCurves], folder) -> list:
    baselines = {"$svc$": folds_for(len(classes), seed=1), "log_reg_$": folds_for(len(classes), seed=2)}
    days = pd.date_range("2024-01-01", periods=20)
    daily = pd.DataFrame({"strategy": np.linspace(-0.01, 0.01, 20), "buy_and_hold": np.full(20, 0.001)}, index=days)
    confusion = np.arange(len(classes) ** 2).reshape(len(classes), len(classes))
    return [plots.plot_roc(folds, classes, folder / "roc.png", baselines),
            plots.plot_pr(folds, classes, folder / "pr.png", baselines),
            plots.plot_confusion(confusion, classes, folder / "confusion_matrix.png", len(folds)),
            plots.plot_learning_curves(folds, folder / "learning_curves.png"),
            plots.plot_trading([daily, daily], "$long_short$", folder / "trading_returns.png")]


@pytest.mark.parametrize("classes", DOLLAR_CLASSES, ids=["binary", "multiclass"])
def test_every_plot_draws_class_names_with_dollars(tmp_path, classes):
    for path in draw_all(classes, folds_for(len(classes)), tmp_path):
        assert_png(path)
    assert matplotlib.rcParams["text.parse_math"]  # mathtext is off while qhybrid draws, not for others


def test_plots_draw_from_several_threads_at_once(tmp_path):
    classes = DOLLAR_CLASSES[0]
    errors = []

    def draw(k: int) -> None:
        try:
            folder = tmp_path / str(k)
            folder.mkdir()
            draw_all(classes, folds_for(2, seed=k), folder)
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=draw, args=(k,)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all((tmp_path / str(k) / "roc.png").read_bytes().startswith(b"\x89PNG") for k in range(3))


def test_a_fold_with_nan_scores_or_no_rows_still_draws(tmp_path):
    folds = folds_for(2)
    folds[0].proba[0, :] = np.nan
    folds.append(FoldCurves(np.array([], dtype=int), np.zeros((0, 2)), [], 0))
    for path in draw_all(["no", "yes"], folds, tmp_path):
        assert_png(path)


def test_mean_std_is_the_tables_sample_std():
    values = [0.95, 1.0, 0.98, 0.93, 1.0]
    mean, std = plots.mean_std(values)
    table = summarize([{"m": v} for v in values], ["m"])["m"]
    assert mean == pytest.approx(table["mean"]) and std == pytest.approx(table["std"])
    assert std != pytest.approx(np.std(values))  # not the population std
    assert plots.mean_std([0.9])[1] == 0.0  # one value: std 0, as in the tables
    curves = np.array([[0.0, 0.5, 1.0], [0.0, 0.7, 1.0]])
    assert plots.mean_std(curves)[1] == pytest.approx(curves.std(axis=0, ddof=1))


def test_the_roc_legend_and_band_use_the_tables_std(tmp_path, monkeypatch):
    saved = []
    save = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda path, fig: (saved.append(fig), save(path, fig))[1])
    folds = folds_for(2, n_folds=4)
    plots.plot_roc(folds, ["no", "yes"], tmp_path / "roc.png")
    aucs = [skm.roc_auc_score(f.y_true, f.proba[:, 1]) for f in folds]
    table = summarize([{"roc_auc": a} for a in aucs], ["roc_auc"])["roc_auc"]
    ax = saved[0].axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"mean of 4 folds (AUC = {table['mean']:.3f} ± {table['std']:.3f})" in labels
    band = next(c for c in ax.collections if c.get_label() == "± 1 std over folds")
    edge = {round(y, 9) for x, y in band.get_paths()[0].vertices if x == 0.5}
    grid = np.linspace(0.0, 1.0, 201)
    tprs = np.array([np.interp(grid, *skm.roc_curve(f.y_true, f.proba[:, 1])[:2]) for f in folds])[:, 100]
    for std, drawn in ((tprs.std(ddof=1), True), (tprs.std(), False)):  # the sample std, not the population's
        ends = {round(float(np.clip(tprs.mean() - std, 0, 1)), 9), round(float(np.clip(tprs.mean() + std, 0, 1)), 9)}
        assert (ends <= edge) == drawn
