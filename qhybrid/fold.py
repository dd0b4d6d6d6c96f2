"""One fold of a run, in the order it happens: prepare its arrays (preprocessing, and a
regression target's standardisation, fitted on its fit rows only), fit the model, score the
test rows and save the checkpoint, then fit the classical baselines on exactly the same rows."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from qhybrid.build import build_class_weights, build_fit_parts, build_preprocessor
from qhybrid.data.dataset import Dataset
from qhybrid.data.resample import smote
from qhybrid.data.target import TargetScaler
from qhybrid.models.lora import plain_state_dict
from qhybrid.schema import RunSpec
from qhybrid.summary import data_files
from qhybrid.training import baselines as classical
from qhybrid.training import engine
from qhybrid.training.checkpoints import save_checkpoint
from qhybrid.training.cv import Fold, split_validation
from qhybrid.training.metrics import fold_metrics, metric_names, metric_value
from qhybrid.training.outcome import FoldOutcome
from qhybrid.training.plots import FoldCurves
from qhybrid.training.quantize import evaluate_int8
from qhybrid.training.seeding import fold_generator, fold_seed
from qhybrid.training.threshold import rates_at, threshold_for_sensitivity
from qhybrid.training.trading import TRADING_METRICS, daily_returns, trading_metrics

log = logging.getLogger("qhybrid")

THRESHOLD_METRICS = ("decision_threshold", "sensitivity_at_threshold", "specificity_at_threshold")


@dataclass
class FoldArrays:
    """A fold's rows, preprocessed: numpy for the baselines, tensors for the model."""

    fit_rows: np.ndarray
    val_rows: np.ndarray
    X_fit: np.ndarray  # after the scaler (and SMOTE: synthetic rows appended)
    y_fit: np.ndarray  # what the models fit: labels, or a regression target standardised by ``target``
    X_val: np.ndarray
    y_val: np.ndarray  # labels, or regression values in the target's units (as y_test)
    X_test: np.ndarray
    y_test: np.ndarray
    preprocessor: Any
    target: Optional[TargetScaler] = None  # regression: fitted on the fit rows' targets only


@dataclass
class FoldContext:
    """What every fold of a run shares."""

    spec: RunSpec
    data: Dataset
    config: dict
    device: str
    precision: Any
    out: Path
    progress: Any
    builders: Any  # qhybrid.build.ModelBuilders
    eval_backend: Any = None  # eval_noise / eval_shots: the native executor that scores the test rows again
    # for_spec sets these from the builders and the spec
    make_model: Optional[Callable[[Any], torch.nn.Module]] = None  # fold backend -> the model a fold trains
    make_plain_model: Optional[Callable[[Any], torch.nn.Module]] = None  # fold backend -> a checkpoint's model
    make_control: Optional[Callable[[str, Any], torch.nn.Module]] = None  # (control, fold backend) -> its model


def for_spec(ctx: FoldContext, spec: RunSpec) -> FoldContext:
    """The context of ``spec``'s models (the run's, or a fold's tuned settings: search.budget)."""
    builders = ctx.builders
    return replace(ctx, spec=spec, make_model=lambda b: builders.run(spec, b),
                   make_plain_model=lambda b: builders.plain(spec.model, b),
                   make_control=lambda name, b: builders.control(name, spec, b))


def fold_metric_names(spec: RunSpec, data: Dataset) -> list[str]:
    names = list(metric_names(data.n_classes, data.regression))
    if spec.decision.threshold != "argmax":
        names += list(THRESHOLD_METRICS)
    if data.meta is not None and "next_return" in data.meta:
        names += list(TRADING_METRICS)
    return names


def fit_and_validation_rows(spec: RunSpec, data: Dataset, fold: Fold) -> tuple[np.ndarray, np.ndarray]:
    """The rows a fold's model is fitted on and the rows its early stopping watches."""
    seed = fold_seed(spec.seed, fold.index) % (2**31)
    fit_rows, val_rows = split_validation(fold.train, data.stratify_by, spec.trainer.val_fraction, seed=seed,
                                          forward_gap=data.window if data.time_ordered else None)
    if data.fit_mask is not None:  # e.g. finance's dead zone: such rows are validated and tested, not fitted
        fit_rows = fit_rows[data.fit_mask[fit_rows]]
    return fit_rows, val_rows


def prepare_arrays(spec: RunSpec, data: Dataset, fold: Fold) -> FoldArrays:
    fit_rows, val_rows = fit_and_validation_rows(spec, data, fold)
    # fitted on the rows the model trains on, nothing else
    preprocessor = build_preprocessor(spec.data, data).fit(data.X[fit_rows])
    X_fit, y_fit = preprocessor.transform(data.X[fit_rows]), data.y[fit_rows]
    target = TargetScaler.fit(y_fit) if data.regression else None
    if target is not None:
        y_fit = target.transform(y_fit)
    elif spec.data.imbalance == "smote":
        # after the scaler (distances in scaled units), on the fit rows only
        X_fit, y_fit = smote(X_fit, y_fit, spec.data.smote_k_neighbors, fold_seed(spec.seed, fold.index) % (2**31))
    return FoldArrays(fit_rows, val_rows, X_fit, y_fit, preprocessor.transform(data.X[val_rows]), data.y[val_rows],
                      preprocessor.transform(data.X[fold.test]), data.y[fold.test], preprocessor, target)


def fit_model(ctx: FoldContext, fold: Fold, arrays: FoldArrays, backend, checkpoint, generator: torch.Generator):
    spec, device = ctx.spec, ctx.device

    def tensor(X: np.ndarray, dtype=torch.float32) -> torch.Tensor:
        return torch.as_tensor(X, dtype=dtype, device=device)

    def targets(y: np.ndarray) -> torch.Tensor:  # class indices, or a (n, 1) column of standardised values
        return tensor(y, torch.long) if arrays.target is None else tensor(y[:, None])

    has_val = len(arrays.val_rows) > 0
    y_val_fitted = arrays.y_val if arrays.target is None else arrays.target.transform(arrays.y_val)
    X_val, y_val = (tensor(arrays.X_val), targets(y_val_fitted)) if has_val else (None, None)
    model = ctx.make_model(backend).to(device)
    weights = None if ctx.data.regression else \
        build_class_weights(spec.trainer, arrays.y_fit, ctx.data.n_classes, spec.data.imbalance)
    parts = build_fit_parts(model, spec.trainer, weights.to(device) if weights is not None else None, has_val,
                            regression=ctx.data.regression, score=_regression_score(spec, arrays))
    monitor = spec.trainer.early_stopping.monitor
    result = engine.fit(model, tensor(arrays.X_fit), targets(arrays.y_fit), X_val, y_val, spec.trainer,
                        parts, n_classes=ctx.data.n_classes, generator=generator,
                        on_epoch=lambda epoch, logs: ctx.progress.epoch(fold.index, epoch, logs, monitor),
                        precision=ctx.precision, checkpoint=checkpoint)
    return model, result


def score_and_checkpoint(ctx: FoldContext, fold: Fold, arrays: FoldArrays, model, result, backend):
    """The test part is scored by the model the checkpoint holds (adapters merged), so a
    reloaded checkpoint reproduces these metrics exactly."""
    spec, data, device, precision = ctx.spec, ctx.data, ctx.device, ctx.precision
    plain = plain_state_dict(model)
    shipped = ctx.make_plain_model(backend).to(device)
    shipped.load_state_dict(plain)
    X_test = torch.as_tensor(arrays.X_test, dtype=torch.float32, device=device)
    X_val = torch.as_tensor(arrays.X_val, dtype=torch.float32, device=device)
    outputs = engine.predict_outputs(shipped, X_test, precision, arrays.target)
    scores, threshold, daily = score(spec, data, fold, outputs,
                                     lambda: engine.predict_outputs(shipped, X_val, precision, arrays.target),
                                     arrays.y_val)
    described = dict(model_spec=OmegaConf.to_container(OmegaConf.structured(spec.model)),
                     preprocessor=arrays.preprocessor, classes=data.classes, feature_names=data.feature_names,
                     config=ctx.config, fold=fold.index, best_epoch=result.best_epoch, decision_threshold=threshold,
                     data_files=data_files(spec.data), task=data.task,
                     target_scaling=arrays.target.state_dict() if arrays.target is not None else None)
    checkpoints = ctx.out / "checkpoints"
    save_checkpoint(checkpoints / f"fold_{fold.index}.pt", state_dict=plain, **described)
    row = {"fold": fold.index, "repeat": fold.repeat, "n_train": len(arrays.fit_rows), "n_synthetic": len(arrays.y_fit) - len(arrays.fit_rows),
           "n_val": len(arrays.val_rows), "n_test": len(fold.test),
           "best_epoch": result.best_epoch, "epochs_run": len(result.history),
           "best_val_score": result.best_score if result.best_score is not None else float("nan"),
           "train_seconds": result.seconds, **scores}
    if spec.quantization.name == "int8":
        def int8_scores(int8_model, X: torch.Tensor) -> dict[str, Any]:
            outputs = engine.predict_outputs(int8_model, X, None, arrays.target)
            return fold_metrics(arrays.y_test, outputs, data.n_classes, data.regression)

        row["int8"], packed = evaluate_int8(lambda: ctx.make_plain_model(backend), plain, X_test,
                                            spec.quantization.latency_repeats, int8_scores)
        save_checkpoint(checkpoints / f"fold_{fold.index}_int8.pt", state_dict=packed, quantization="int8",
                        **described)
    if ctx.eval_backend is not None:
        row["evaluation"] = _score_under_evaluation(ctx, fold, arrays, plain, X_test)
    curves = FoldCurves(arrays.y_test, outputs, result.history, result.best_epoch)
    return row, curves, _predictions(data, fold, outputs, threshold), daily


def _score_under_evaluation(ctx: FoldContext, fold: Fold, arrays: FoldArrays, plain: dict, X_test: torch.Tensor):
    """The checkpoint's model on the test rows again, its circuit under eval_noise and
    eval_shots (the fold's own seeded shots)."""
    model = ctx.make_plain_model(ctx.eval_backend.for_fold(fold.index)).to(ctx.device)
    model.load_state_dict(plain)
    outputs = engine.predict_outputs(model, X_test, ctx.precision, arrays.target)
    return fold_metrics(arrays.y_test, outputs, ctx.data.n_classes, ctx.data.regression)


def _regression_score(spec: RunSpec, arrays: FoldArrays) -> Optional[Callable[[torch.Tensor], float]]:
    """A regression run's monitored validation metric (val_r2, val_rmse, val_mae) in the
    target's units; None otherwise (the engine scores classes itself)."""
    monitor = spec.trainer.early_stopping.monitor
    if arrays.target is None or monitor == "val_loss":
        return None

    def score(logits: torch.Tensor) -> float:
        values = arrays.target.inverse(logits[:, 0].to(torch.float64).cpu().numpy())
        return metric_value(monitor.removeprefix("val_"), arrays.y_val, values, 0)

    return score


def _predictions(data: Dataset, fold: Fold, proba: np.ndarray, threshold: Optional[float]) -> pd.DataFrame:
    """The fold's rows of predictions.csv (a regression's: true and predicted values)."""
    if data.regression:
        return pd.DataFrame({"row": fold.test, "fold": fold.index, "y_true": data.y[fold.test], "y_pred": proba})
    labels = np.asarray(data.classes, dtype=object)
    table = pd.DataFrame({"row": fold.test, "fold": fold.index, "y_true": labels[data.y[fold.test]],
                          "y_pred": labels[proba.argmax(axis=1)]})
    if threshold is not None:
        table["y_pred_at_threshold"] = labels[(proba[:, 1] >= threshold).astype(np.int64)]
    table[[f"proba_{c}" for c in data.classes]] = proba
    if data.meta is not None:
        table = pd.concat([table, data.meta.iloc[fold.test].reset_index(drop=True)], axis=1)
    return table


def score(spec: RunSpec, data: Dataset, fold: Fold, proba: np.ndarray, val_proba: Callable[[], np.ndarray],
          y_val: np.ndarray) -> tuple[dict[str, Any], Optional[float], Optional[pd.DataFrame]]:
    """A model's test metrics (the hybrid's and every baseline's, by the same code): the
    standard ones, at the validation-chosen threshold when asked for, and finance's. ``proba``:
    a regression's predicted values."""
    y_test = data.y[fold.test]
    scores = fold_metrics(y_test, proba, data.n_classes, data.regression)
    threshold = None
    if spec.decision.threshold == "target_sensitivity":
        # chosen on the validation rows; the test rows only report it
        threshold = threshold_for_sensitivity(y_val, val_proba()[:, 1], spec.decision.target_sensitivity)
        if np.isnan(threshold):
            log.warning("fold %d: no positive validation rows to choose a threshold on; using 0.5", fold.index)
            threshold = 0.5
        sensitivity, specificity = rates_at(y_test, proba[:, 1], threshold)
        scores.update(decision_threshold=threshold, sensitivity_at_threshold=sensitivity,
                      specificity_at_threshold=specificity)
    daily = None
    if data.meta is not None and "next_return" in data.meta:
        test_meta = data.meta.iloc[fold.test]
        predicted_up = proba.argmax(axis=1) == 1
        daily = daily_returns(test_meta, predicted_up, spec.data.strategy)
        scores.update(trading_metrics(test_meta, predicted_up, spec.data.strategy, daily))
    return scores, threshold, daily


def fit_baseline(spec: RunSpec, data: Dataset, fold: Fold, arrays: FoldArrays, name: str,
                 params: Optional[dict] = None):
    """A classical model on the same fit rows (preprocessed, resampled), scored on the same
    validation and test rows: (its fold row, its curves, or None where it could not fit).
    ``params``: its estimator's settings (search.budget's best trial)."""
    started = time.perf_counter()
    sizes = {"fold": fold.index, "n_train": len(arrays.fit_rows), "n_test": len(fold.test)}
    seed = fold_seed(spec.seed, fold.index) % (2**31)
    evaluated = [arrays.X_test, arrays.X_val]
    try:
        if arrays.target is None:
            (base_test, base_val), n_parameters = classical.fit_predict(
                name, arrays.X_fit, arrays.y_fit, evaluated, data.n_classes, seed, balanced(spec), params)
        else:  # fitted on the standardised target, like the hybrid; scored in the target's units
            fitted, n_parameters = classical.fit_predict_values(name, arrays.X_fit, arrays.y_fit, evaluated, seed,
                                                                params)
            base_test, base_val = (arrays.target.inverse(values) for values in fitted)
    except classical.BaselineError as err:
        log.warning("fold %d: %s; its metrics are undefined on this fold", fold.index, err)
        return {**sizes, **dict.fromkeys(fold_metric_names(spec, data), float("nan"))}, None
    base_scores, _, _ = score(spec, data, fold, base_test, lambda: base_val, arrays.y_val)
    row = {**sizes, "n_parameters": n_parameters, "train_seconds": time.perf_counter() - started, **base_scores}
    return row, FoldCurves(arrays.y_test, base_test, [], 0)


class Quiet:
    """A control's epochs: the fold's progress shows the hybrid's."""

    def epoch(self, *args) -> None:
        pass


def fit_control(ctx: FoldContext, fold: Fold, arrays: FoldArrays, name: str, backend):
    """A control (qhybrid.controls) trained like the hybrid: the same fit, validation and test
    rows, the fold's seed (initial weights, batch order) and, under shots, its own copy of the
    fold's shot stream. (its fold row, its curves)"""
    spec, data = ctx.spec, ctx.data
    fold_backend = backend.for_fold(fold.index) if backend is not None else None  # fresh: not the hybrid's used one
    control = replace(ctx, make_model=lambda b: ctx.make_control(name, b), progress=Quiet())
    model, result = fit_model(control, fold, arrays, fold_backend, None, fold_generator(spec.seed, fold.index))

    def outputs(X: np.ndarray) -> np.ndarray:
        return engine.predict_outputs(model, torch.as_tensor(X, dtype=torch.float32, device=ctx.device),
                                      ctx.precision, arrays.target)

    test = outputs(arrays.X_test)
    scores, _, _ = score(spec, data, fold, test, lambda: outputs(arrays.X_val), arrays.y_val)
    row = {"fold": fold.index, "n_train": len(arrays.fit_rows), "n_val": len(arrays.val_rows),
           "n_test": len(fold.test), "n_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
           "best_epoch": result.best_epoch, "epochs_run": len(result.history), "train_seconds": result.seconds,
           **scores}
    return row, FoldCurves(arrays.y_test, test, result.history, result.best_epoch)


def balanced(spec: RunSpec) -> bool:
    """Whether the baselines weight classes like the hybrid (balanced weights)."""
    return spec.data.imbalance == "class_weights" or spec.trainer.class_weights is not None
