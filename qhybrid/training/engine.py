"""The training loop: mini-batch AdamW, validation every epoch, early stopping that
restores the best weights, an LR scheduler and gradient clipping. Plain PyTorch, read top
to bottom.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
from torch import nn

from qhybrid.data.target import TargetScaler
from qhybrid.errors import QHybridError
from qhybrid.quantum.memory import eval_chunk
from qhybrid.training.spec import TrainerSpec
from qhybrid.training import epoch_state
from qhybrid.training.epoch_state import EpochCheckpoint
from qhybrid.training.metrics import metric_value
from qhybrid.training.precision import Precision
from qhybrid.training.step_tools import ModeSwitch, clip_gradients, trained_parameters, zero_gradients

EpochCallback = Callable[[int, dict[str, float]], None]


class EarlyStopping:
    """Track the best score; keep a copy of the best weights; stop after ``patience``
    epochs without an improvement larger than ``min_delta``.

    A ``tiebreak`` value (the validation loss, lower is better) decides between epochs with
    the same score: ROC-AUC on a small validation split saturates at 1.0 within a few
    epochs, and the first epoch that reaches it is rarely the best model. A tie won that
    way changes which weights are kept, but it is not progress: patience keeps counting,
    so a saturated metric stops the fold ``patience`` epochs later instead of letting every
    tiny loss improvement run it to ``max_epochs``.
    """

    def __init__(self, mode: str, patience: int, min_delta: float = 0.0, enabled: bool = True):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.mode, self.patience, self.min_delta, self.enabled = mode, patience, min_delta, enabled
        self.best_score: Optional[float] = None
        self.best_tiebreak = math.inf
        self.best_epoch = 0
        self.best_state: Optional[dict[str, torch.Tensor]] = None
        self.bad_epochs = 0

    def _progressed(self, score: float) -> bool:
        if self.best_score is None:
            return True
        if self.mode == "min":
            return score < self.best_score - self.min_delta
        return score > self.best_score + self.min_delta

    def _keep(self, score: float, tiebreak: float, epoch: int, model: nn.Module) -> None:
        self.best_score, self.best_tiebreak, self.best_epoch = score, tiebreak, epoch
        if self.enabled:  # switched off, the fold keeps its last weights: no copy to make
            # cloned tensors: a deepcopy of the state dict costs several times as much per epoch
            self.best_state = {name: value.detach().clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)
                               for name, value in model.state_dict().items()}

    def step(self, score: float, epoch: int, model: nn.Module, tiebreak: float = math.inf) -> bool:
        """Record one epoch's score; returns True when its weights are the new best."""
        if math.isnan(score):
            self.bad_epochs += 1
            return False
        if self._progressed(score):
            self._keep(score, tiebreak, epoch, model)
            self.bad_epochs = 0
            return True
        self.bad_epochs += 1
        if score == self.best_score and tiebreak < self.best_tiebreak:
            self._keep(score, tiebreak, epoch, model)
            return True
        return False

    @property
    def should_stop(self) -> bool:
        return self.enabled and self.bad_epochs >= self.patience

    def restore(self, model: nn.Module) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


@dataclass
class FitResult:
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: Optional[float] = None
    stopped_early: bool = False
    seconds: float = 0.0


def _chunk_rows(model: nn.Module) -> int:
    """Rows evaluated at once: the whole of a small model's input in a few calls, fewer rows
    as a quantum layer's state grows (each row is a 2^n state, or under noise a 4^n density
    matrix)."""
    quantum = getattr(model, "quantum", None)
    n_qubits = getattr(getattr(quantum, "spec", None), "n_qubits", None)
    if not isinstance(n_qubits, int):
        return 8192
    return eval_chunk(2 * n_qubits if getattr(getattr(quantum, "executor", None), "density_matrix", False) else n_qubits)


@torch.no_grad()
def predict_logits(model: nn.Module, X: torch.Tensor, chunk: Optional[int] = None,
                   precision: Optional[Precision] = None, modes: Optional[ModeSwitch] = None) -> torch.Tensor:
    """float32 logits in eval mode, in large chunks (never per sample), under the run's
    autocast when given one."""
    chunk = chunk or _chunk_rows(model)
    modes = modes or ModeSwitch(model)
    was_training = model.training
    modes.set(False)
    with precision.autocast() if precision is not None else contextlib.nullcontext():
        parts = [model(X[i : i + chunk]).float() for i in range(0, X.shape[0], chunk)]
    modes.set(was_training)
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def probabilities(logits: torch.Tensor) -> np.ndarray:
    """Class probabilities as float64 numpy (softmax taken in float64)."""
    return torch.softmax(logits.to(torch.float64), dim=1).cpu().numpy()


def predict_proba(model: nn.Module, X: torch.Tensor, precision: Optional[Precision] = None) -> np.ndarray:
    return probabilities(predict_logits(model, X, precision=precision))


def predict_values(model: nn.Module, X: torch.Tensor, precision: Optional[Precision] = None) -> np.ndarray:
    """A regression model's single output per row as float64 numpy (n,), in the units it was
    trained in (the standardised target: qhybrid.data.target.TargetScaler.inverse reads it)."""
    return predict_logits(model, X, precision=precision)[:, 0].to(torch.float64).cpu().numpy()


def predict_outputs(model: nn.Module, X: torch.Tensor, precision: Optional[Precision] = None,
                    target: Optional[TargetScaler] = None) -> np.ndarray:
    """What the metrics and predictions read: class probabilities (n, classes), or with a
    regression's ``target`` scaling its predicted values (n,) in the target's units."""
    if target is None:
        return predict_proba(model, X, precision)
    return target.inverse(predict_values(model, X, precision))


@torch.no_grad()
def _evaluate(model: nn.Module, loss_fn: nn.Module, X: torch.Tensor, y: torch.Tensor,
              precision: Optional[Precision], modes: ModeSwitch) -> tuple[float, torch.Tensor]:
    logits = predict_logits(model, X, precision=precision, modes=modes)
    return float(loss_fn(logits, y)), logits


@dataclass
class FitParts:
    """What a fit is made of besides the model and the rows: built from the trainer config
    by qhybrid.build.build_fit_parts (tests hand in their own)."""

    optimizer: torch.optim.Optimizer
    scheduler: Optional[object]  # an LR scheduler, or None
    loss_fn: nn.Module
    stopper: EarlyStopping
    monitor: str  # the logged value early stopping and a plateau scheduler watch
    # the monitored validation metric from the validation rows' outputs (a regression's is read
    # in the target's units); None: a classification metric of the softmax probabilities
    score: Optional[Callable[[torch.Tensor], float]] = None


def fit(
    model: nn.Module,
    X_fit: torch.Tensor,
    y_fit: torch.Tensor,
    X_val: Optional[torch.Tensor],
    y_val: Optional[torch.Tensor],
    spec: TrainerSpec,
    parts: FitParts,
    *,
    n_classes: int,
    generator: torch.Generator,
    on_epoch: Optional[EpochCallback] = None,
    precision: Optional[Precision] = None,
    checkpoint: Optional[EpochCheckpoint] = None,
) -> FitResult:
    """Train ``model`` in place. With ``checkpoint``, the state at each epoch's end is
    handed to it, and a fold whose checkpoint holds an earlier state continues from there."""
    scaler = precision.grad_scaler() if precision is not None else None
    result = FitResult()
    start = time.perf_counter()
    first_epoch, seconds_before = 1, 0.0
    if checkpoint is not None and checkpoint.resume_state is not None:
        state = checkpoint.resume_state
        checkpoint.restore(model, parts.optimizer, parts.scheduler, scaler, parts.stopper, generator)
        result.history, result.stopped_early = state["history"], state["stopped"]
        first_epoch, seconds_before = state["epoch"] + 1, state["seconds"]
    y_val_np = y_val.cpu().numpy() if y_val is not None else None
    modes = ModeSwitch(model)
    for epoch in range(first_epoch, spec.max_epochs + 1):
        if result.stopped_early:  # the checkpoint was taken after the last epoch
            break
        train_loss = _train_epoch(model, X_fit, y_fit, spec, parts, generator, precision, scaler, modes)
        logs = {"epoch": epoch, "train_loss": train_loss, "lr": parts.optimizer.param_groups[0]["lr"]}
        if not math.isfinite(train_loss):
            raise QHybridError(f"training diverged: the loss is {train_loss} at epoch {epoch}",
                               "lower trainer.lr, or keep trainer.grad_clip on")
        if X_val is not None and len(X_val):
            logs["val_loss"], logits = _evaluate(model, parts.loss_fn, X_val, y_val, precision, modes)
            if parts.monitor != "val_loss":
                logs[parts.monitor] = parts.score(logits) if parts.score is not None else \
                    metric_value(parts.monitor.removeprefix("val_"), y_val_np, probabilities(logits), n_classes)
        _after_epoch(model, parts, logs, epoch)
        result.history.append(logs)
        if on_epoch is not None:
            on_epoch(epoch, logs)
        result.stopped_early = parts.stopper.should_stop
        if checkpoint is not None and checkpoint.snapshot_due():
            checkpoint.keep(epoch_state.capture(epoch, model, parts.optimizer, parts.scheduler, scaler, parts.stopper,
                                                generator, result.history,
                                                seconds_before + time.perf_counter() - start, result.stopped_early))
        if result.stopped_early:
            break
    _finish(model, parts, spec, result)
    result.seconds = seconds_before + time.perf_counter() - start
    return result


def _train_epoch(model: nn.Module, X_fit: torch.Tensor, y_fit: torch.Tensor, spec: TrainerSpec, parts: FitParts,
                 generator: torch.Generator, precision: Optional[Precision], scaler, modes: ModeSwitch) -> float:
    """One pass over the fit rows in shuffled mini-batches; the mean training loss."""
    modes.set(True)
    params = trained_parameters(parts.optimizer)
    autocast = precision.autocast if precision is not None else contextlib.nullcontext
    n = X_fit.shape[0]
    order = torch.randperm(n, generator=generator).to(X_fit.device)
    total = 0.0
    for begin in range(0, n, spec.batch_size):
        idx = order[begin : begin + spec.batch_size]
        with autocast():
            loss = parts.loss_fn(model(X_fit[idx]).float(), y_fit[idx])
        zero_gradients(params)
        if scaler is None:
            loss.backward()
            if spec.grad_clip is not None:
                clip_gradients(params, spec.grad_clip)
            parts.optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.unscale_(parts.optimizer)  # clip the true gradients, not the scaled ones
            if spec.grad_clip is not None:
                clip_gradients(params, spec.grad_clip)
            scaler.step(parts.optimizer)
            scaler.update()
        total += loss.item() * idx.numel()
    return total / n


def _after_epoch(model: nn.Module, parts: FitParts, logs: dict[str, float], epoch: int) -> None:
    """The scheduler and early stopping see the epoch's monitored value."""
    score = logs[parts.monitor]
    if isinstance(parts.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        parts.scheduler.step(score)
    elif parts.scheduler is not None:
        parts.scheduler.step()
    tiebreak = logs.get("val_loss", math.inf) if parts.monitor != "val_loss" else math.inf
    parts.stopper.step(score, epoch, model, tiebreak)


def _finish(model: nn.Module, parts: FitParts, spec: TrainerSpec, result: FitResult) -> None:
    if spec.early_stopping.enabled:
        parts.stopper.restore(model)
        result.best_epoch, result.best_score = parts.stopper.best_epoch, parts.stopper.best_score
    else:
        result.best_epoch, result.best_score = len(result.history), result.history[-1][parts.monitor]
