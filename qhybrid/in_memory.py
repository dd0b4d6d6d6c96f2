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
from qhybrid.build import ModelBuilders, build_backend, data_inputs
from qhybrid.data.dataset import Dataset
from qhybrid.data.target import TargetScaler
from qhybrid.models.lora import plain_state_dict
from qhybrid.fold import FoldContext, Quiet, fit_model, for_spec, prepare_arrays
from qhybrid.compute_device import resolve_device
from qhybrid.tasks import for_task
from qhybrid.training import engine
from qhybrid.training.cv import Fold
from qhybrid.training.precision import resolve_precision
from qhybrid.training.seeding import fold_generator

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
    fold = Fold(0, rows, rows[:0])  # every row, no test rows
    arrays = prepare_arrays(spec, data, fold)
    device = resolve_device(spec.trainer.device)
    precision = resolve_precision(spec.precision.name, device)
    backend = build_backend(spec)
    builders = builders or ModelBuilders(data_inputs(spec.data, data), data.n_outputs)
    _use_threads(spec, data_inputs(spec.data, data))
    ctx = for_spec(FoldContext(spec, data, {}, device, precision, None, Quiet(), builders), spec)
    generator = fold_generator(spec.seed, 0)  # first: it also seeds the weight init
    model, result = fit_model(ctx, fold, arrays, backend.for_fold(0) if backend else None, None, generator)
    shipped = ctx.make_plain_model(backend).to(device)  # adapters merged: what a checkpoint holds
    shipped.load_state_dict(plain_state_dict(model))
    shipped.eval()
    return FittedModel(shipped, arrays.preprocessor, arrays.target, precision, device, result.best_epoch,
                       len(result.history))
