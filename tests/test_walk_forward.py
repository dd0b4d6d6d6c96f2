"""Time series are split forward: folds and validation never train on the future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qhybrid.data.dataset import Dataset
from qhybrid.errors import ConfigError
from qhybrid.schema import HoldoutSpec, StratifiedKFoldSpec, WalkForwardSpec
from qhybrid.training.cv import make_folds, split_validation


def _series(n: int, window: int = 1) -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset(name="series", X=rng.normal(size=(n, 3)), y=np.arange(n) % 2, classes=["down", "up"],
                   feature_names=["a", "b", "c"], time_ordered=True, window=window)


@pytest.mark.parametrize("gap, window", [(0, 1), (5, 1), (0, 30), (10, 30)])
def test_folds_train_on_the_past_only_and_keep_the_gap(gap, window):
    folds = make_folds(WalkForwardSpec(n_splits=4, gap=gap), _series(400, window))
    assert len(folds) == 4
    previous_test_end = -1
    for fold in folds:
        assert fold.train.max() + max(gap, window) < fold.test.min()  # the gap rows are in neither part
        assert fold.test.min() > previous_test_end  # test folds move forward
        previous_test_end = fold.test.max()
        assert fold.train.min() == 0  # expanding window


def test_forward_validation_is_the_latest_training_rows_after_the_gap():
    train = np.arange(100)
    fit, val = split_validation(train, np.arange(100) % 2, 0.2, seed=0, forward_gap=7)
    assert val.tolist() == list(range(80, 100)) and fit.max() + 7 < val.min() and fit.min() == 0


@pytest.mark.parametrize("spec", [StratifiedKFoldSpec(), HoldoutSpec()])
def test_shuffled_splits_of_a_time_series_are_refused(spec):
    with pytest.raises(ConfigError, match="cv=walk_forward"):
        make_folds(spec, _series(100))
    spec.allow_shuffle_time_series = True
    assert make_folds(spec, _series(100))


def test_a_csv_time_series_is_sorted_and_split_forward(tmp_path, compose):
    from qhybrid.run import train

    rng = np.random.default_rng(1)
    days = pd.date_range("2020-01-01", periods=240, freq="D")
    table = pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "x1": rng.normal(size=240), "x2": rng.normal(size=240)})
    table["label"] = np.where(table["x1"] + 0.1 * rng.normal(size=240) > 0, "up", "down")
    path = tmp_path / "series.csv"
    table.sample(frac=1.0, random_state=0).to_csv(path, index=False)  # shuffled on disk
    common = ["model=g0", "data=csv", f"data.path={path}", "data.target=label", "data.time_column=day",
              "trainer.max_epochs=5", "quantization=none"]
    with pytest.raises(ConfigError, match="shuffles the rows"):
        train(compose(common), tmp_path / "refused")
    metrics = train(compose([*common, "cv=walk_forward", "cv.n_splits=3"]), tmp_path / "run")
    assert metrics["n_features"] == 2 and metrics["cv"]["name"] == "walk_forward"
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv")
    by_fold = predictions.groupby("fold")["row"]
    assert (by_fold.min().diff().dropna() > 0).all()  # later folds test later rows


def _late_class(first: int, n: int = 200) -> Dataset:
    """Two alternating classes, and a third that appears from row ``first`` on (every 10th row)."""
    y = np.arange(n) % 2
    y[first::10] = 2
    return Dataset(name="series", X=np.zeros((n, 1)), y=y, classes=["down", "up", "crash"], feature_names=["a"],
                   time_ordered=True)


def test_a_fold_whose_training_part_lacks_a_class_gets_a_fold_count_that_works():
    import re

    from qhybrid.errors import DataError

    data = _late_class(first=30)
    with pytest.raises(DataError) as info:
        make_folds(WalkForwardSpec(n_splits=8), data)
    message = info.value.message
    assert "fold 0" in message and "no row of class(es) 'crash'" in message and "row 30 of 200" in message
    suggested = int(re.search(r"lower cv.n_splits to (\d+)", message).group(1))
    folds = make_folds(WalkForwardSpec(n_splits=suggested), data)
    assert all(set(data.y[f.train]) == {0, 1, 2} for f in folds)


def test_a_class_that_comes_too_late_for_any_fold_count_says_so():
    from qhybrid.errors import DataError

    with pytest.raises(DataError, match="collect earlier rows of 'crash'"):
        make_folds(WalkForwardSpec(n_splits=3), _late_class(first=190))
