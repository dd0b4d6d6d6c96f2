"""train(cfg, output_dir): one run, top to bottom.

validate -> data -> folds -> per fold (carve validation, fit preprocessing, build, fit,
evaluate, checkpoint) -> summary, plots. No Hydra globals here: the run folder is passed
in, so tests and the Python API call this directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from qhybrid import io, run_folder
from qhybrid.allocator import retain_freed_memory
from qhybrid.data import Dataset, load_dataset
from qhybrid.errors import ConfigError, DataError
from qhybrid.schema import BINARY_ONLY_MONITORS, RunSpec, validate
from qhybrid.training.cv import Fold, make_folds, split_validation
from qhybrid.training.metrics import compute_metrics, metric_names, summarize

log = logging.getLogger("qhybrid")

THRESHOLD_METRICS = ("decision_threshold", "sensitivity_at_threshold", "specificity_at_threshold")
def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"trainer.device={name} but no CUDA GPU is visible to torch",
                              "use trainer.device=auto or cpu, or install a CUDA build of torch")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"trainer.device={name} but only {torch.cuda.device_count()} GPU(s) are visible",
                              "pick an existing GPU index")
    return name


def _check_against_data(spec: RunSpec, data: Dataset) -> None:
    monitor = spec.trainer.early_stopping.monitor
    if data.task != "binary" and monitor in BINARY_ONLY_MONITORS:
        raise ConfigError(f"trainer.early_stopping.monitor={monitor} is defined for binary tasks only, "
                          f"but {data.name} has {data.n_classes} classes", "monitor val_loss or val_roc_auc")
    if data.task != "binary" and spec.decision.threshold != "argmax":
        raise ConfigError(f"decision.threshold={spec.decision.threshold} is defined for binary tasks only, but "
                          f"{data.name} has {data.n_classes} classes", "use decision.threshold=argmax")


DATA_FILE_KEYS = ("path", "test_path", "prices_csv")
# data settings that change how rows are prepared for the model, not which rows and labels there are
PREPROCESSING_KEYS = ("scaler", "imbalance", "smote_k_neighbors", "cache_dir", "offline", "refresh")


def data_files(data_spec) -> dict[str, str]:
    """The files the data came from, as absolute paths: a run folder says where its data is
    whatever folder it is read from later (predict input=fold_<k>)."""
    return {f"data.{key}": str(Path(value).expanduser().resolve()) for key in DATA_FILE_KEYS
            if (value := getattr(data_spec, key, None))}


def data_record(data_spec) -> dict[str, Any]:
    """metrics.json's "data": its name, its files and a key that is equal for two runs on the
    same rows and labels (the report compares runs only within one key)."""
    settings = {k: v for k, v in OmegaConf.to_container(OmegaConf.structured(data_spec)).items()
                if k not in PREPROCESSING_KEYS}
    files = data_files(data_spec)
    hashes = {key: file_sha256(Path(path)) for key, path in files.items() if Path(path).is_file()}
    settings.update({k.removeprefix("data."): v for k, v in files.items()})
    settings.update({f"{k.removeprefix('data.')}_sha256": v for k, v in hashes.items()})
    key = " ".join(f"{k}={settings[k]}" for k in sorted(settings) if settings[k] is not None)
    return {"name": data_spec.name, "files": files, "sha256": hashes, "key": key}


def file_sha256(path: Path) -> str:
    """The file's content hash: the same path with other rows in it is other data."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_features(initial: dict[str, Any], data: Dataset) -> None:
    """Fine-tuning needs the features the checkpoint learned, by name: four other columns
    would feed each weight a quantity it never saw."""
    before, now = list(initial["feature_names"]), list(data.feature_names)
    if before == now:
        return
    if sorted(before) == sorted(now):
        problem = "has the same features in another order"
    else:
        gone, new = [f for f in before if f not in now], [f for f in now if f not in before]
        problem = f"lacks {', '.join(gone[:5]) or 'nothing'} and has {', '.join(new[:5]) or 'nothing'} besides"
    raise ConfigError(f"init_from={initial['path']} was trained on {len(before)} features ({', '.join(before[:5])}"
                      f"{', ...' if len(before) > 5 else ''}); this data set {problem}",
                      "give the new data the checkpoint's feature columns, named and ordered as they were "
                      "(data.features=[...] picks and orders a CSV's columns)")


def fit_and_validation_rows(spec: RunSpec, data: Dataset, fold: Fold) -> tuple[np.ndarray, np.ndarray]:
    """The rows a fold's model is fitted on and the rows its early stopping watches."""
    from qhybrid.training.seeding import fold_seed

    seed = fold_seed(spec.seed, fold.index) % (2**31)
    fit_rows, val_rows = split_validation(fold.train, data.y, spec.trainer.val_fraction, seed=seed,
                                          forward_gap=data.window if data.time_ordered else None)
    if data.fit_mask is not None:  # e.g. finance's dead zone: such rows are validated and tested, not fitted
        fit_rows = fit_rows[data.fit_mask[fit_rows]]
    return fit_rows, val_rows


def _check_learnable(spec: RunSpec, data: Dataset, folds: list[Fold]) -> None:
    """Every fold fits on rows of every class: a model that never saw a class cannot predict
    it, and its scores would be reported as if it could (found before the first fold trains)."""
    for fold in folds:
        fit_rows, _ = fit_and_validation_rows(spec, data, fold)
        absent = [c for i, c in enumerate(data.classes) if not np.any(data.y[fit_rows] == i)]
        if absent:
            raise DataError(f"fold {fold.index}: the rows it is fitted on ({len(fit_rows)}, after the validation "
                            f"rows are set aside) hold no row of class(es) {', '.join(map(repr, absent[:5]))}, so "
                            "the model could not learn them",
                            "use more rows of those classes, fewer folds (cv.n_splits), or a smaller "
                            "trainer.val_fraction")


def _fold_metric_names(spec: RunSpec, data: Dataset) -> list[str]:
    from qhybrid.training.trading import TRADING_METRICS

    names = list(metric_names(data.n_classes))
    if spec.decision.threshold != "argmax":
        names += list(THRESHOLD_METRICS)
    if data.meta is not None and "next_return" in data.meta:
        names += list(TRADING_METRICS)
    return names


def _describe(spec: RunSpec, data: Dataset, n_folds: int, device: str, n_params: int) -> str:
    return (f"data={data.name}: {data.n_samples} samples, {data.n_features} features, "
            f"{data.n_classes} classes ({', '.join(data.classes)}) | model={spec.model.name} "
            f"({n_params} parameters) | cv={spec.cv.name} ({n_folds} fold{'s' if n_folds != 1 else ''}) "
            f"| device={device} | seed={spec.seed}")


def train(cfg: DictConfig, output_dir: str | Path) -> dict[str, Any]:
    """Run one training job and write its run folder. Returns the metrics.json content."""
    from qhybrid.tracking import Session

    with Session() as tracking:  # an experiment tracker, when one is started, ends with the run's outcome
        return _train(cfg, output_dir, tracking)


def _train(cfg: DictConfig, output_dir: str | Path, tracking) -> dict[str, Any]:
    started = time.perf_counter()
    from qhybrid.training import resume

    spec = validate(cfg)  # every config error surfaces here, before any data is read
    config = OmegaConf.to_container(cfg, resolve=True)
    if spec.resume is not None:  # an interrupted run: its folder, its settings, its finished folds
        out = Path(spec.resume)
        run_folder.check_not_running(out)
        resume.check_same_config(out, config)
        run_folder.check_unfinished(out)
        resume.check_records(out)
    else:
        out = run_folder.claim(Path(output_dir))
        resume.save_config(out, config)
    retain_freed_memory()

    from qhybrid.build import build_backend, build_retry

    backend = build_backend(spec)  # a missing plugin or GPU is found before any data is read
    backend_record = backend.record() if backend else {"name": "none", "note": "classical model: no quantum layer"}
    retry = build_retry(spec.backend)

    data = load_dataset(spec.data)
    _check_against_data(spec, data)
    folds = make_folds(spec.cv, data)
    _check_learnable(spec, data, folds)
    if spec.resume is not None:  # nothing can refuse the resume any more: only now is the folder written
        run_folder.take_over(out)
        resume.remove_stale_temp_files(out)

    from qhybrid import environment
    from qhybrid.build import build_model, build_run_model, model_inputs
    from qhybrid.console import fold_progress, print_summary
    from qhybrid.models.lora import parameter_counts
    from qhybrid.training.epoch_state import EpochCheckpoint
    from qhybrid.training.precision import resolve_precision
    from qhybrid.training.quantize import int8_summary
    from qhybrid.training.seeding import seed_everything

    seed_everything(spec.seed, spec.trainer.deterministic)
    device = resolve_device(spec.trainer.device)
    precision = resolve_precision(spec.precision.name, device)
    io.write_json(out / "environment.json", environment.describe(device, backend_record))
    initial = None
    if spec.init_from is not None:
        from qhybrid.training.finetune import load_initial

        initial = load_initial(spec.init_from)
        _check_features(initial, data)
    n_inputs = model_inputs(spec.data, data.n_features)  # PCA components, or the features
    probe, fresh = build_run_model(spec, n_inputs, data.n_classes, backend, retry, initial)
    for name in fresh:
        log.info("init_from: %s has another shape here (another number of classes): re-initialised", name)
    counts = parameter_counts(probe)
    log.info(_describe(spec, data, len(folds), device, counts["total"]))
    log.info("parameters: %d total, %d trainable%s; precision %s", counts["total"], counts["trainable"],
             " (LoRA adapters)" if spec.lora.freeze_base else "", precision.name)
    if backend is not None:
        log.info("quantum backend: %s (%s %s), diff_method=%s, shots=%s, dtype=%s", backend.name, backend.device_name,
                 backend.plugin_version or "", backend.diff_method, backend.shots, backend.dtype)
    log.info("run folder: %s", out)
    tracker = tracking.start(spec.logger, out, config, resumed=spec.resume is not None)

    rows: list[dict[str, Any]] = []
    curves = []
    predictions = []
    trading = []  # finance: each test fold's daily strategy and buy-and-hold returns
    names = _fold_metric_names(spec, data)
    columns = ["fold", "n_train", "n_synthetic", "n_val", "n_test", "best_epoch", "epochs_run", "train_seconds",
               *names]
    baseline_rows: dict[str, list[dict[str, Any]]] = {name: [] for name in spec.baselines}
    baseline_curves: dict[str, list] = {name: [] for name in spec.baselines}
    with fold_progress(len(folds), spec.trainer.max_epochs, log, spec.trainer.log_every_n_epochs) as progress:
        for fold in folds:
            progress.start_fold(fold.index)
            outcome = resume.load_fold(out, fold.index) if spec.resume is not None else None
            if outcome is not None:
                log.info("fold %d/%d: finished before the interruption; kept, not trained again", fold.index + 1,
                         len(folds))
                tracker.fold(fold.index, outcome)  # unless the tracking run already has it
            else:
                fold_backend = backend.for_fold(fold.index) if backend is not None else None
                checkpoint = EpochCheckpoint(resume.epoch_state_path(out, fold.index),
                                             spec.trainer.epoch_checkpoint_seconds, resume=spec.resume is not None,
                                             samplers=[fold_backend.device] if fold_backend is not None else [])
                if checkpoint.resume_state is not None:
                    log.info("fold %d/%d: continues after epoch %d, from its last epoch checkpoint", fold.index + 1,
                             len(folds), checkpoint.resume_state["epoch"])
                try:
                    outcome = _run_fold(fold, data, spec, config, device, precision, out, progress, checkpoint,
                                        lambda: build_run_model(spec, n_inputs, data.n_classes, fold_backend, retry,
                                                                initial)[0],
                                        lambda: build_model(spec.model, n_inputs, data.n_classes, fold_backend, retry))
                except KeyboardInterrupt:
                    checkpoint.flush()  # Ctrl-C or SIGTERM: keep the fold's last finished epoch
                    raise
                resume.save_fold(out, fold.index, outcome)  # atomically: a resumed run starts after it
                checkpoint.discard()  # the fold's record supersedes its epoch state
                tracker.fold(fold.index, outcome)
            row = outcome.row
            rows.append(row)
            curves.append(outcome.curves)
            predictions.append(outcome.predictions)
            trading.append(outcome.daily)
            for name, (base_row, base_curves) in outcome.baselines.items():
                baseline_rows[name].append(base_row)
                if base_curves is not None:  # None: the baseline could not be fitted on this fold
                    baseline_curves[name].append(base_curves)
            # written after every fold: an interrupted run keeps every fold it finished
            io.write_csv(out / "folds.csv", rows, columns)
            if spec.baselines:
                io.write_csv(out / "baselines.csv", [{"model": name, **r} for name in spec.baselines
                                                     for r in baseline_rows[name]],
                             ["model", "fold", "n_train", "n_test", "n_parameters", "train_seconds", *names])
            log.info("fold %d/%d: %s (best epoch %d, %.2fs)", fold.index + 1, len(folds),
                     " ".join(f"{m}={row[m]:.4f}" for m in ("accuracy", "roc_auc", "f1")),
                     row["best_epoch"], row["train_seconds"])

    io.write_text(out / "predictions.csv", pd.concat(predictions).to_csv(index=False))
    confusion = np.sum([np.asarray(r["confusion_matrix"]) for r in rows], axis=0)
    metrics = {
        "summary": summarize(rows, names),
        "folds": rows,
        "task": data.task,
        "data": data_record(spec.data),
        "classes": data.classes,
        "n_samples": data.n_samples,
        "n_features": data.n_features,
        "feature_names": data.feature_names,
        "confusion_matrix": confusion.tolist(),
        "model": {"name": spec.model.name, "n_parameters": counts["total"],
                  "n_trainable_parameters": counts["trainable"]},
        "parameters": counts,
        "lora": OmegaConf.to_container(OmegaConf.structured(spec.lora)),
        "init_from": spec.init_from,
        "precision": precision.record(),
        "early_stopping_mode": spec.trainer.early_stopping.resolved_mode,
        "quantization": int8_summary(rows, names) if spec.quantization.name == "int8" else {"name": "none"},
        "backend": backend_record,
        "baselines": {name: {"summary": summarize(baseline_rows[name], names), "folds": baseline_rows[name],
                             "n_parameters": int(np.median([r.get("n_parameters", 0) for r in baseline_rows[name]]))}
                      for name in spec.baselines},
        "cv": {"name": spec.cv.name, "n_folds": len(folds)},
        "imbalance": spec.data.imbalance,
        "decision": {"threshold": spec.decision.threshold, "target_sensitivity": spec.decision.target_sensitivity}
        if spec.decision.threshold != "argmax" else {"threshold": "argmax"},
        "device": device,
        "seed": spec.seed,
        "timing": {"total_seconds": 0.0, "train_seconds": float(sum(r["train_seconds"] for r in rows))},
    }
    if trading[0] is not None:
        from qhybrid.training.trading import NOTE

        metrics["trading"] = {"strategy": spec.data.strategy, "note": NOTE}
    metrics["timing"]["total_seconds"] = time.perf_counter() - started
    io.write_json(out / "metrics.json", metrics)  # first: a figure that cannot be drawn loses no number
    _write_plots(out, curves, data.classes, confusion, len(folds), baseline_curves,
                 (trading, spec.data.strategy) if trading[0] is not None else None)
    tracker.finish(metrics, out)
    print_summary(metrics["summary"], len(folds), str(out),
                  title=f"{spec.model.name} on {data.name} ({spec.cv.name})", model=spec.model.name,
                  baselines={name: b["summary"] for name, b in metrics["baselines"].items()},
                  parameters={spec.model.name: counts["total"],
                              **{name: b["n_parameters"] for name, b in metrics["baselines"].items()}})
    return metrics


@dataclass
class FoldOutcome:
    row: dict[str, Any]  # folds.csv / metrics.json's fold row
    curves: Any  # FoldCurves: what the plots need
    predictions: pd.DataFrame  # the fold's test rows for predictions.csv
    daily: Optional[pd.DataFrame]  # finance: the test days' strategy and buy-and-hold returns
    baselines: dict[str, tuple[dict[str, Any], Any]]  # name -> (fold row, FoldCurves)


def _score(spec: RunSpec, data: Dataset, fold: Fold, proba: np.ndarray, val_proba: Callable[[], np.ndarray],
           y_val: np.ndarray) -> tuple[dict[str, Any], Optional[float], Optional[pd.DataFrame]]:
    """A model's test metrics (the hybrid's and every baseline's, by the same code): the
    standard ones, at the validation-chosen threshold when asked for, and finance's."""
    y_test = data.y[fold.test]
    scores = compute_metrics(y_test, proba, data.n_classes)
    threshold = None
    if spec.decision.threshold == "target_sensitivity":
        from qhybrid.training.threshold import rates_at, threshold_for_sensitivity

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
        from qhybrid.training.trading import daily_returns, trading_metrics

        test_meta = data.meta.iloc[fold.test]
        predicted_up = proba.argmax(axis=1) == 1
        daily = daily_returns(test_meta, predicted_up, spec.data.strategy)
        scores.update(trading_metrics(test_meta, predicted_up, spec.data.strategy, daily))
    return scores, threshold, daily


def _run_fold(fold: Fold, data: Dataset, spec: RunSpec, config: dict, device: str, precision, out: Path, progress,
              checkpoint, make_model, make_plain_model) -> FoldOutcome:
    import torch

    from qhybrid.build import build_class_weights, build_preprocessor
    from qhybrid.models.lora import plain_state_dict
    from qhybrid.training.checkpoints import save_checkpoint
    from qhybrid.training.engine import fit, predict_proba
    from qhybrid.training.plots import FoldCurves
    from qhybrid.training.quantize import evaluate_int8
    from qhybrid.training.seeding import fold_generator, fold_seed

    generator = fold_generator(spec.seed, fold.index)
    seed = fold_seed(spec.seed, fold.index) % (2**31)
    fit_rows, val_rows = fit_and_validation_rows(spec, data, fold)
    # fitted on the rows the model trains on, nothing else
    preprocessor = build_preprocessor(spec.data).fit(data.X[fit_rows])
    X_fit_np, y_fit_np = preprocessor.transform(data.X[fit_rows]), data.y[fit_rows]
    if spec.data.imbalance == "smote":
        from qhybrid.data.resample import smote

        # after the scaler (distances in scaled units), on the fit rows only
        X_fit_np, y_fit_np = smote(X_fit_np, y_fit_np, spec.data.smote_k_neighbors, seed)
    X_val_np, y_val_np = preprocessor.transform(data.X[val_rows]), data.y[val_rows]
    X_test_np, y_test = preprocessor.transform(data.X[fold.test]), data.y[fold.test]

    def tensor(X: np.ndarray, dtype=torch.float32) -> torch.Tensor:
        return torch.as_tensor(X, dtype=dtype, device=device)

    X_fit, y_fit = tensor(X_fit_np), tensor(y_fit_np, torch.long)
    X_val, y_val = (tensor(X_val_np), tensor(y_val_np, torch.long)) if len(val_rows) else (None, None)
    X_test = tensor(X_test_np)
    model = make_model().to(device)
    monitor = spec.trainer.early_stopping.monitor
    result = fit(model, X_fit, y_fit, X_val, y_val, spec.trainer, n_classes=data.n_classes, generator=generator,
                 class_weights=build_class_weights(spec.trainer, y_fit_np, data.n_classes, spec.data.imbalance),
                 on_epoch=lambda epoch, logs: progress.epoch(fold.index, epoch, logs, monitor), precision=precision,
                 checkpoint=checkpoint)

    # the test part is scored by the model the checkpoint holds (adapters merged), so a
    # reloaded checkpoint reproduces these metrics exactly
    plain = plain_state_dict(model)
    shipped = make_plain_model().to(device)
    shipped.load_state_dict(plain)
    proba = predict_proba(shipped, X_test, precision)
    scores, threshold, daily = _score(spec, data, fold, proba, lambda: predict_proba(shipped, X_val, precision),
                                      y_val_np)
    described = dict(model_spec=OmegaConf.to_container(OmegaConf.structured(spec.model)), preprocessor=preprocessor,
                     classes=data.classes, feature_names=data.feature_names, config=config, fold=fold.index,
                     best_epoch=result.best_epoch, decision_threshold=threshold, data_files=data_files(spec.data))
    save_checkpoint(out / "checkpoints" / f"fold_{fold.index}.pt", state_dict=plain, **described)
    row = {"fold": fold.index, "n_train": len(fit_rows), "n_synthetic": len(y_fit_np) - len(fit_rows),
           "n_val": len(val_rows), "n_test": len(fold.test),
           "best_epoch": result.best_epoch, "epochs_run": len(result.history),
           "best_val_score": result.best_score if result.best_score is not None else float("nan"),
           "train_seconds": result.seconds, **scores}
    if spec.quantization.name == "int8":
        row["int8"], packed = evaluate_int8(make_plain_model, plain, X_test, y_test, data.n_classes,
                                            spec.quantization.latency_repeats)
        save_checkpoint(out / "checkpoints" / f"fold_{fold.index}_int8.pt", state_dict=packed, quantization="int8",
                        **described)
    labels = np.asarray(data.classes, dtype=object)
    fold_predictions = pd.DataFrame({"row": fold.test, "fold": fold.index, "y_true": labels[y_test],
                                     "y_pred": labels[proba.argmax(axis=1)]})
    if threshold is not None:
        fold_predictions["y_pred_at_threshold"] = labels[(proba[:, 1] >= threshold).astype(np.int64)]
    fold_predictions[[f"proba_{c}" for c in data.classes]] = proba
    if data.meta is not None:
        fold_predictions = pd.concat([fold_predictions, data.meta.iloc[fold.test].reset_index(drop=True)], axis=1)

    baselines = {}
    for name in spec.baselines:
        from qhybrid.training import baselines as classical

        started = time.perf_counter()
        try:
            # the same fit rows (preprocessed, resampled), the same validation and test rows
            (base_test, base_val), n_parameters = classical.fit_predict(
                name, X_fit_np, y_fit_np, [X_test_np, X_val_np], data.n_classes, seed, balanced=_balanced(spec))
        except classical.BaselineError as err:
            log.warning("fold %d: %s; its metrics are undefined on this fold", fold.index, err)
            baselines[name] = ({"fold": fold.index, "n_train": len(fit_rows), "n_test": len(fold.test),
                                **dict.fromkeys(_fold_metric_names(spec, data), float("nan"))}, None)
            continue
        base_scores, _, _ = _score(spec, data, fold, base_test, lambda: base_val, y_val_np)
        base_row = {"fold": fold.index, "n_train": len(fit_rows), "n_test": len(fold.test),
                    "n_parameters": n_parameters, "train_seconds": time.perf_counter() - started, **base_scores}
        baselines[name] = (base_row, FoldCurves(y_test, base_test, [], 0))
    return FoldOutcome(row, FoldCurves(y_test, proba, result.history, result.best_epoch), fold_predictions, daily,
                       baselines)


def _balanced(spec: RunSpec) -> bool:
    """Whether the baselines weight classes like the hybrid (balanced weights)."""
    return spec.data.imbalance == "class_weights" or spec.trainer.class_weights is not None


def _write_plots(out: Path, curves, classes: list[str], confusion: np.ndarray, n_folds: int,
                 baselines: dict[str, list], trading: Optional[tuple[list, str]]) -> None:
    """Every figure of the run; one that fails is a warning (its numbers are in metrics.json)."""
    from qhybrid.training import plots

    figures = {"roc.png": lambda path: plots.plot_roc(curves, classes, path, baselines),
               "pr.png": lambda path: plots.plot_pr(curves, classes, path, baselines),
               "confusion_matrix.png": lambda path: plots.plot_confusion(confusion, classes, path, n_folds),
               "learning_curves.png": lambda path: plots.plot_learning_curves(curves, path)}
    if trading is not None:
        figures["trading_returns.png"] = lambda path: plots.plot_trading(*trading, path)
    for name, draw in figures.items():
        try:
            draw(out / name)
        except Exception as err:  # noqa: BLE001 - a figure is never worth the run
            log.warning("could not draw %s (%s: %s); the numbers are in metrics.json", name, type(err).__name__,
                        str(err).strip().splitlines()[0][:200] if str(err).strip() else "")
