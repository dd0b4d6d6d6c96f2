"""Per-fold preprocessing: same numbers as scikit-learn, and fitted on a fold's training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from qhybrid.data.preprocess import FoldPreprocessor

SK = {"standard": StandardScaler, "robust": RobustScaler, "minmax": MinMaxScaler}


@pytest.mark.parametrize("kind", sorted(SK))
def test_transform_equals_sklearn_and_survives_a_checkpoint(kind):
    rng = np.random.default_rng(0)
    train, new = rng.normal(3, 2, size=(40, 5)), rng.normal(3, 2, size=(7, 5))
    pre = FoldPreprocessor(kind).fit(train)
    expected = SK[kind]().fit(train).transform(new)
    np.testing.assert_array_equal(pre.transform(new), expected)
    state = pre.state_dict()
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float64 for v in state["params"].values())
    np.testing.assert_array_equal(FoldPreprocessor.from_state_dict(state).transform(new), expected)


def test_impute_uses_training_medians():
    train = np.array([[1.0, 10.0], [np.nan, 20.0], [3.0, np.nan], [5.0, 40.0]])
    new = np.array([[np.nan, np.nan]])
    pre = FoldPreprocessor("standard", impute=True).fit(train)
    filled = SimpleImputer(strategy="median").fit(train)
    expected = StandardScaler().fit(filled.transform(train)).transform(filled.transform(new))
    np.testing.assert_allclose(pre.transform(new), expected)


def test_scaler_never_sees_validation_or_test_rows(tmp_path, monkeypatch, compose):
    """Each row carries its own id as a feature; record which ids every fit() saw."""
    from qhybrid.run import train
    from qhybrid.training.checkpoints import load_checkpoint
    from qhybrid.training.cv import make_folds, split_validation
    from qhybrid.training.seeding import fold_seed
    from qhybrid.data import load_dataset
    from qhybrid.schema import validate

    rng = np.random.default_rng(1)
    n = 60
    frame = pd.DataFrame({"row_id": np.arange(n, dtype=float), "x": rng.normal(size=n),
                          "label": np.where(np.arange(n) % 3 == 0, "a", "b")})
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)

    seen: list[set[int]] = []
    original_fit = FoldPreprocessor.fit

    def spying_fit(self, X):
        seen.append(set(np.asarray(X)[:, 0].astype(int).tolist()))
        return original_fit(self, X)

    monkeypatch.setattr(FoldPreprocessor, "fit", spying_fit)
    cfg = compose(["model=g0", "data=csv", f"data.path={path}", "data.target=label", "trainer.max_epochs=2", "cv.n_splits=3"])
    train(cfg, tmp_path / "run")

    spec = validate(cfg)
    data = load_dataset(spec.data)
    folds = make_folds(spec.cv, data)
    assert len(seen) == len(folds) == 3
    for fold, ids in zip(folds, seen):
        fit_rows, val_rows = split_validation(fold.train, data.y, spec.trainer.val_fraction,
                                              seed=fold_seed(spec.seed, fold.index) % (2**31))
        assert ids == set(fit_rows.tolist())
        assert ids.isdisjoint(fold.test.tolist()) and ids.isdisjoint(val_rows.tolist())
        # and the saved scaler holds exactly the statistics of those rows
        saved = load_checkpoint(tmp_path / "run" / "checkpoints" / f"fold_{fold.index}.pt")
        center = saved["preprocessing"]["params"]["center"].numpy()
        np.testing.assert_allclose(center, data.X[fit_rows].mean(axis=0))
