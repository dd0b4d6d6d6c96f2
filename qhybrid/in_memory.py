"""One model fitted on arrays in memory, by the same steps as a fold of a run (qhybrid.fold):
a stratified validation carve for early stopping, the preprocessing fitted on the fit rows
only, a regression target standardised on them, the fold's seeding; no run folder. The
scikit-learn estimators (qhybrid.sklearn) are built on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch

from qhybrid import threads as thread_policy
from qhybrid.build import ModelBuilders, build_backend, build_preprocessor, data_inputs
from qhybrid.data.dataset import Dataset
from qhybrid.data.resample import smote
from qhybrid.data.target import TargetScaler
from qhybrid.models.lora import plain_state_dict
from qhybrid.fold import FoldArrays, FoldContext, Quiet, fit_model, for_spec
from qhybrid.compute_device import resolve_device
from qhybrid.tasks import for_task
from qhybrid.training import engine
from qhybrid.training.cv import Fold, split_validation
from qhybrid.training.precision import resolve_precision
from qhybrid.training.seeding import fold_generator, fold_seed

log = logging.getLogger("qhybrid")


@dataclass
class FittedModel:
    """A trained model and what reads new rows into it."""

    model: torch.nn.Module
    preprocessor: Any
    target: Optional[TargetScaler]  # a regression's: outputs are turned back into the target's units
    precision: Any
    device: str
    best_epoch: int
    epochs_run: int

    def outputs(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, classes), or a regression's values (n,)."""
        rows = torch.as_tensor(self.preprocessor.transform(np.asarray(X, dtype=np.float64)), dtype=torch.float32,
                               device=self.device)
        return engine.predict_outputs(self.model, rows, self.precision, self.target)


def _use_threads(spec, n_inputs: int) -> None:
    """trainer.threads as a run applies it (qhybrid.threads): an estimator's small steps on
    torch's default pool collapse when other processes share the cores (a grid search's jobs)."""
    quantum = spec.model.quantum
    work = thread_policy.work_size(spec.trainer.batch_size, quantum.n_qubits if quantum else None,
                                   max([n_inputs, *spec.model.hidden_dims]))
    thread_policy.apply(thread_policy.choose(spec.trainer.threads, work, quantum is not None)[0])


def fit_arrays(spec, data: Dataset, builders: Optional[ModelBuilders] = None) -> FittedModel:
    """``spec`` (a validated RunSpec) trained on every row of ``data`` but the validation carve;
    ``builders``: the run's (init_from's weights, its retry policy), else fresh ones."""
    spec = for_task(spec, data)
    rows = np.arange(data.n_samples)
    fit_rows, val_rows = split_validation(rows, data.stratify_by, spec.trainer.val_fraction,
                                          seed=fold_seed(spec.seed, 0) % (2**31))
    if data.fit_mask is not None:  # rows a fold validates but never fits (finance's dead zone)
        fit_rows = fit_rows[data.fit_mask[fit_rows]]
    preprocessor = build_preprocessor(spec.data, data).fit(data.X[fit_rows])
    X_fit, y_fit, target = preprocessor.transform(data.X[fit_rows]), data.y[fit_rows], None
    if data.regression:
        target = TargetScaler.fit(y_fit)
        y_fit = target.transform(y_fit)
    elif spec.data.imbalance == "smote":  # as a fold does: after the scaler, on the fit rows only
        X_fit, y_fit = smote(X_fit, y_fit, spec.data.smote_k_neighbors, fold_seed(spec.seed, 0) % (2**31))
    nothing = np.empty((0, data.n_features))
    arrays = FoldArrays(fit_rows, val_rows, X_fit, y_fit,
                        preprocessor.transform(data.X[val_rows]) if len(val_rows) else nothing,
                        data.y[val_rows], nothing, data.y[:0], preprocessor, target)
    device = resolve_device(spec.trainer.device)
    precision = resolve_precision(spec.precision.name, device)
    backend = build_backend(spec)
    builders = builders or ModelBuilders(data_inputs(spec.data, data), data.n_outputs)
    _use_threads(spec, data_inputs(spec.data, data))
    ctx = for_spec(FoldContext(spec, data, {}, device, precision, None, Quiet(), builders), spec)
    generator = fold_generator(spec.seed, 0)  # first: it also seeds the weight init
    model, result = fit_model(ctx, Fold(0, rows, rows[:0]), arrays, backend.for_fold(0) if backend else None, None,
                              generator)
    shipped = ctx.make_plain_model(backend).to(device)  # adapters merged: what a checkpoint holds
    shipped.load_state_dict(plain_state_dict(model))
    shipped.eval()
    return FittedModel(shipped, preprocessor, target, precision, device, result.best_epoch, len(result.history))
