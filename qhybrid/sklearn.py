"""scikit-learn estimators: a qhybrid model in a Pipeline, GridSearchCV or cross_val_score.

    from qhybrid.sklearn import HybridClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    clf = make_pipeline(StandardScaler(), HybridClassifier(model="g6", max_epochs=50))
    cross_val_score(clf, X, y, cv=5, scoring="roc_auc")

The constructor's parameters are the config's: ``model`` (a generation or family preset),
``backend``, the trainer's most tuned settings by name, and ``overrides`` for any other key
(``["model.quantum.n_layers=3"]``), exactly as on the command line. ``fit(X, y)`` trains one
model on the rows in memory (no CSV, no run folder) by the steps a fold of ``qhybrid train``
takes (qhybrid.in_memory); ``X`` a 2-d array or a DataFrame, ``y`` any labels (a
classifier) or numbers (a regressor). Bad settings raise ValueError with qhybrid's one line.
"""

from __future__ import annotations

import functools
import pickle
from typing import Any, Optional, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from qhybrid.errors import QHybridError


@functools.lru_cache(maxsize=32)
def _validated(overrides: tuple[str, ...]):
    """The RunSpec of these overrides, composed and validated once per process: a grid search
    fits the same settings on many splits (the spec is never changed after validation)."""
    from qhybrid.api import compose  # lazy: Hydra's loader
    from qhybrid.preflight import job_config
    from qhybrid.schema import validate

    return validate(job_config(compose(list(overrides))))


# keys of a whole run (its data, folds, records, comparisons) that an estimator, one model fitted
# on the rows it is given, has nothing to apply to; its data keys are the fold's preprocessing
_RUN_ONLY = ("data", "cv", "search", "controls", "repeats", "refit", "logger", "task", "quantization", "baselines",
             "plots", "eval_noise", "eval_shots", "resume", "decision", "experiment", "hydra")
_DATA_KEYS = ("data.scaler", "data.imbalance", "data.smote_k_neighbors")


def _refuse_run_only(override: str) -> None:
    key = override.lstrip("+~").split("=", 1)[0]
    group = key.split(".")[0].split("/")[0]
    if group in _RUN_ONLY and key not in _DATA_KEYS:
        raise ValueError(f"overrides: {override} has no effect on an estimator, which fits one model on the rows "
                         "it is given (cross-validate it with scikit-learn's cross_val_score or GridSearchCV); "
                         "qhybrid.train runs the whole experiment")


def _refuse_beyond_float32(X: np.ndarray, step: str) -> None:
    """Values the float32 network cannot hold: an overflow (a NaN loss, a class out of nothing)
    is not an answer."""
    from qhybrid.data.checks import beyond_float32

    bad = beyond_float32(X)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{step}: X holds values beyond float32's range (e.g. {X[row, column]:g} in column "
                         f"{column}, row {row}; {int(bad.any(axis=1).sum())} row(s) in all): rescale those columns")


class _HybridEstimator(BaseEstimator):
    """What both estimators share: the config from the parameters, the fit on arrays, the
    outputs of new rows, and pickling (the trained weights and the config; the model is
    rebuilt from them, as qhybrid predict rebuilds a checkpoint's)."""

    _task = "classification"

    def __init__(self, model: str = "g6", backend: str = "auto", max_epochs: int = 100, batch_size: int = 32,
                 lr: float = 0.01, val_fraction: float = 0.2, patience: int = 20, precision: str = "fp32",
                 seed: int = 0, overrides: Optional[Sequence[str]] = None):
        self.model = model
        self.backend = backend
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.val_fraction = val_fraction
        self.patience = patience
        self.precision = precision
        self.seed = seed
        self.overrides = overrides

    def _overrides(self) -> list[str]:
        if self.overrides is not None and (isinstance(self.overrides, str) or
                                           not all(isinstance(o, str) for o in self.overrides)):
            raise ValueError(f"overrides={self.overrides!r} is not a list of key=value strings, e.g. "
                             "['model.quantum.n_layers=3']")
        for override in self.overrides or []:
            _refuse_run_only(override)
        return [f"model={self.model}", f"backend={self.backend}", f"trainer.max_epochs={self.max_epochs}",
                f"trainer.batch_size={self.batch_size}", f"trainer.lr={self.lr}",
                f"trainer.val_fraction={self.val_fraction}", f"trainer.early_stopping.patience={self.patience}",
                f"precision={self.precision}", f"seed={self.seed}", f"task={self._task}", "quantization=none",
                "baselines=[]", "plots=false", *(self.overrides or [])]

    def _spec(self):
        return _validated(tuple(self._overrides()))

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray, classes: list[str]):
        from qhybrid.data.dataset import Dataset
        from qhybrid.in_memory import fit_arrays

        if len(X) < 2:  # one row cannot be split into fit and validation rows
            raise ValueError(f"fit needs at least 2 samples, got {len(X)} sample")
        _refuse_beyond_float32(X, "fit")
        names = [str(n) for n in getattr(self, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])])]
        data = Dataset(name="arrays", X=np.asarray(X, dtype=np.float64), y=y, classes=classes, feature_names=names,
                       regression=self._task == "regression")
        try:
            self.fitted_ = fit_arrays(self._spec(), data)
        except QHybridError as err:  # scikit-learn's callers (GridSearchCV, its checks) expect ValueError
            raise ValueError(str(err)) from None
        self.n_epochs_ = self.fitted_.epochs_run
        return self

    def _outputs(self, X) -> np.ndarray:
        check_is_fitted(self, "fitted_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        _refuse_beyond_float32(X, "predict")
        return self.fitted_.outputs(X)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        fitted = state.pop("fitted_", None)
        if fitted is not None:
            state["_fitted_state"] = {"weights": {k: v.cpu() for k, v in fitted.model.state_dict().items()},
                                      "rest": pickle.dumps((fitted.preprocessor, fitted.target, fitted.best_epoch,
                                                            fitted.epochs_run))}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        saved = state.pop("_fitted_state", None)
        self.__dict__.update(state)
        if saved is not None:
            self.fitted_ = self._rebuild(saved)

    def _rebuild(self, saved: dict[str, Any]):
        from qhybrid.build import ModelBuilders, build_backend, model_inputs
        from qhybrid.in_memory import FittedModel
        from qhybrid.training.precision import resolve_precision

        spec = self._spec()
        preprocessor, target, best_epoch, epochs_run = pickle.loads(saved["rest"])
        n_outputs = 1 if self._task == "regression" else len(self.classes_)
        model = ModelBuilders(model_inputs(spec.data, self.n_features_in_), n_outputs).plain(spec.model,
                                                                                         build_backend(spec))
        model.load_state_dict(saved["weights"])
        model.eval()
        # unpickled on the CPU: float16 autocast (amp_fp16, auto) is a CUDA setting
        precision = spec.precision.name if spec.precision.name in ("fp32", "amp_bf16") else "fp32"
        return FittedModel(model, preprocessor, target, resolve_precision(precision, "cpu"), "cpu", best_epoch,
                           epochs_run)


class HybridClassifier(ClassifierMixin, _HybridEstimator):
    """A qhybrid classifier: predict, predict_proba, score (accuracy), classes_."""

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, indices = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y has 1 class ({str(self.classes_[0])!r}): a classifier needs at least two")
        return self._fit_arrays(X, indices.astype(np.int64), [str(c) for c in self.classes_])

    def predict_proba(self, X) -> np.ndarray:
        return self._outputs(X)

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "fitted_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True  # a few epochs (the checks' max_epochs) are not a trained model
        return tags


class HybridRegressor(RegressorMixin, _HybridEstimator):
    """A qhybrid regressor: predict (in y's units: the target is standardised for training),
    score (R²)."""

    _task = "regression"

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        return self._fit_arrays(X, np.asarray(y, dtype=np.float64), [])

    def predict(self, X) -> np.ndarray:
        return self._outputs(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags
