"""train(cfg, output_dir): one run, top to bottom, in stages.

1. set up the run folder (a new one, or the interrupted run's for resume=)
2. prepare the data and its folds (every problem found before the first fold trains)
3. prepare the model (device, precision, init_from) and say what will run
4. run each fold (qhybrid.fold: arrays -> fit -> score and checkpoint -> baselines)
5. summarise and write the artefacts (qhybrid.summary)

No Hydra globals here: the run folder is passed in, so tests and the Python API call this
directly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from qhybrid import controls, environment, io, run_folder, search
from qhybrid import threads as thread_policy
from qhybrid.allocator import retain_freed_memory
from qhybrid.circuit_copy import resumed_config
from qhybrid.circuit_files import write_run_circuit
from qhybrid.compute_device import resolve_device
from qhybrid.quantum.observables import describe, output_width
from qhybrid.refit import refit_final
from qhybrid.build import (ModelBuilders, build_backend, build_eval_backend, build_retry, build_run_model,
                           data_inputs)
from qhybrid.console import fold_label, fold_progress
from qhybrid.data import Dataset, load_dataset
from qhybrid.errors import ConfigError, DataError
from qhybrid.fold import FoldContext, fit_and_validation_rows, fold_metric_names, for_spec
from qhybrid.fold_run import run_fold
from qhybrid.models.lora import parameter_counts
from qhybrid.schema import RunSpec, validate
from qhybrid.summary import conditions, FoldResults, metrics_record, print_run_summary, write_artefacts
from qhybrid.tasks import for_task
from qhybrid.tracking import Session
from qhybrid.training import resume
from qhybrid.training.cv import Fold, repeated_folds
from qhybrid.training.epoch_state import EpochCheckpoint
from qhybrid.training.finetune import load_initial
from qhybrid.training.metrics import REGRESSION_METRICS
from qhybrid.training.precision import resolve_precision
from qhybrid.training.seeding import seed_everything

log = logging.getLogger("qhybrid")


def train(cfg: DictConfig, output_dir: str | Path) -> dict[str, Any]:
    """Run one training job and write its run folder. Returns the metrics.json content."""
    with Session() as tracking:  # an experiment tracker, when one is started, ends with the run's outcome
        return _train(cfg, output_dir, tracking)


def _train(cfg: DictConfig, output_dir: str | Path, tracking) -> dict[str, Any]:
    started = time.perf_counter()
    spec = validate(resumed_config(cfg))  # every config error surfaces here, before any data is read
    config = OmegaConf.to_container(cfg, resolve=True)
    out = open_run_folder(spec, config, Path(output_dir))
    backend = build_backend(spec)  # a missing plugin or GPU is found before any data is read
    eval_backend = build_eval_backend(spec)
    spec, data, folds = prepare_data(spec)
    if spec.resume is not None:  # nothing can refuse the resume any more: only now is the folder written
        run_folder.take_over(out)
        resume.remove_stale_temp_files(out)
    setup = prepare_model(spec, data, len(folds), backend, out)
    if eval_backend is not None:
        tested = eval_backend.record()
        log.info("each fold's test rows are scored again under %s (the native executor)",
                 conditions(tested["noise"], tested["shots"]))
    if spec.model.quantum is not None and spec.resume is None:  # a resumed run keeps its circuit files
        write_run_circuit(out, spec.model.quantum, len(fit_and_validation_rows(spec, data, folds[0])[0]),
                          spec.plots)
    tracker = tracking.start(spec.logger, out, config, resumed=spec.resume is not None)
    results = run_folds(spec, data, folds, config, replace(setup, eval_backend=eval_backend), out, tracker)
    metrics = metrics_record(spec, data, results, setup.counts, setup.precision, setup.backend_record, setup.device,
                             eval_backend.record() if eval_backend is not None else None, setup.control_records)
    if spec.refit:
        metrics["final"] = refit_final(spec, data, results.rows, config, out, setup.builders)
    metrics["timing"]["total_seconds"] = time.perf_counter() - started
    metrics["timing"]["kernel_seconds"] = setup.kernel_seconds
    write_artefacts(out, spec, data, results, metrics)
    tracker.finish(metrics, out)
    print_run_summary(spec, data, metrics, out)
    return metrics


# ------------------------------------------------------------------- 1. the run folder


def open_run_folder(spec: RunSpec, config: dict, output_dir: Path) -> Path:
    """An interrupted run's folder (checked: not running, same settings, unfinished, its
    records readable), or the new run's folder, claimed and holding the settings."""
    if spec.resume is not None:
        out = Path(spec.resume)
        run_folder.check_not_running(out)
        resume.check_same_config(out, config)
        run_folder.check_unfinished(out)
        resume.check_records(out)
    else:
        out = run_folder.claim(output_dir)
        resume.save_config(out, config)
    retain_freed_memory()
    return out


# ------------------------------------------------------------ 2. the data and its folds


def prepare_data(spec: RunSpec) -> tuple[RunSpec, Dataset, list[Fold]]:
    """The data, the run's spec for its task (qhybrid.tasks: a regression target switches the
    classification defaults) and the folds."""
    data = load_dataset(spec.data, spec.task)
    spec = for_task(spec, data)
    folds = repeated_folds(spec.cv, data, spec.repeats)
    _check_learnable(spec, data, folds)
    return spec, data, folds


# -------------------------------------------------------------------------- 3. the model


@dataclass
class ModelSetup:
    device: str
    precision: Any
    counts: dict[str, int]  # parameters: total, trainable
    backend: Any  # the resolved quantum backend, or None for a classical model
    backend_record: dict[str, Any]
    kernel_seconds: float = 0.0  # compiling or loading the native executor's kernels, before any fold
    eval_backend: Any = None  # eval_noise / eval_shots (qhybrid.build.build_eval_backend)
    builders: Any = None  # qhybrid.build.ModelBuilders: the models of any spec of this run
    control_records: dict = field(default_factory=dict)  # control name -> what it is (metrics.json)


def prepare_model(spec: RunSpec, data: Dataset, n_folds: int, backend, out: Path) -> ModelSetup:
    """Seeds, device, precision and the model a fold trains; logs what will run."""
    seed_everything(spec.seed, spec.trainer.deterministic)
    device = resolve_device(spec.trainer.device)
    n_inputs = data_inputs(spec.data, data)  # PCA components, or the features (a category one column each)
    quantum = spec.model.quantum
    thread_policy.use(spec.trainer.threads, thread_policy.work_size(
        spec.trainer.batch_size, quantum.n_qubits if quantum else None, max([n_inputs, *spec.model.hidden_dims])),
        quantum is not None)
    precision = resolve_precision(spec.precision.name, device)
    backend_record = backend.record() if backend else {"name": "none", "note": "classical model: no quantum layer"}
    io.write_json(out / "environment.json", environment.describe(device, backend_record))
    initial = None
    if spec.init_from is not None:
        initial = load_initial(spec.init_from)
        _check_features(initial, data)
    retry = build_retry(spec.backend)
    probe, fresh = build_run_model(spec, n_inputs, data.n_outputs, backend, retry, initial)
    for name in fresh:
        log.info("init_from: %s has another shape here (another number of outputs: classes, or a regression's "
                 "one): re-initialised", name)
    counts = parameter_counts(probe)
    builders = ModelBuilders(n_inputs, data.n_outputs, retry, initial)
    control_records = {name: controls.describe(name, probe, builders.control(name, spec, backend))
                       for name in spec.controls}
    kernel_seconds = _warm_up(probe, device)
    log.info(_describe(spec, data, n_folds, device, counts["total"]))
    log.info("parameters: %d total, %d trainable%s; precision %s", counts["total"], counts["trainable"],
             " (LoRA adapters)" if spec.lora.freeze_base else "", precision.name)
    if backend is not None:
        log.info("quantum backend: %s (%s %s), diff_method=%s, shots=%s, dtype=%s%s", backend.name, backend.device_name,
                 backend.plugin_version or "", backend.diff_method, backend.shots, backend.dtype,
                 f", noise={backend.noise.record()} (density matrices)" if backend.noise is not None else "")
        observables = probe.quantum.program.observables
        log.info("quantum readout: %s -> %d outputs into the head", describe(observables), output_width(observables))
    log.info("run folder: %s", out)
    return ModelSetup(device, precision, counts, backend, backend_record, kernel_seconds, builders=builders,
                      control_records=control_records)


def _warm_up(model, device: str) -> float:
    """The native executor's compiled kernels, compiled (once per machine and precision) or
    loaded before the folds start, so no fold's training time holds them; the seconds."""
    quantum = getattr(model, "quantum", None)
    if quantum is None or not hasattr(quantum, "warm_up"):
        return 0.0
    seconds = quantum.warm_up(torch.device(device))
    if seconds > 5:
        log.info("native kernels compiled in %.0f s (once per machine and precision: later runs load them from "
                 "Numba's cache in about a second)", seconds)
    return seconds


# -------------------------------------------------------------------------- 4. the folds


def run_folds(spec: RunSpec, data: Dataset, folds: list[Fold], config: dict, setup: ModelSetup, out: Path,
              tracker) -> FoldResults:
    """Each fold in turn; a resumed run keeps the folds it had finished."""
    results = FoldResults(fold_metric_names(spec, data), [*spec.baselines, *spec.controls])
    shown = REGRESSION_METRICS if data.regression else ("accuracy", "roc_auc", "f1")
    with fold_progress(len(folds), spec.trainer.max_epochs, log, spec.trainer.log_every_n_epochs) as progress:
        ctx = for_spec(FoldContext(spec, data, config, setup.device, setup.precision, out, progress,
                                   setup.builders, eval_backend=setup.eval_backend), spec)
        for fold in folds:
            progress.start_fold(fold.index)
            outcome = resume.load_fold(out, fold.index) if spec.resume is not None else None
            if outcome is not None:
                log.info("%s: finished before the interruption; kept, not trained again",
                         fold_label(fold.index, len(folds)))
            else:
                outcome = _train_fold(ctx, fold, len(folds), setup.backend)
            tracker.fold(fold.index, outcome)  # unless the tracking run already has it
            results.add(outcome, out)
            row = outcome.row
            log.info("%s: %s (best epoch %d, %.2fs)", fold_label(fold.index, len(folds)),
                     " ".join(f"{m}={row[m]:.4f}" for m in shown),
                     row["best_epoch"], row["train_seconds"])
    return results


def _train_fold(ctx: FoldContext, fold: Fold, n_folds: int, backend):
    """One fold, with its epoch checkpoint (a resumed fold continues after its last saved
    epoch) and its record saved atomically when it finishes."""
    out, spec = ctx.out, ctx.spec
    fold_backend = backend.for_fold(fold.index) if backend is not None else None
    checkpoint = EpochCheckpoint(resume.epoch_state_path(out, fold.index), spec.trainer.epoch_checkpoint_seconds,
                                 resume=spec.resume is not None,
                                 samplers=[fold_backend.device] if fold_backend is not None else [])
    if checkpoint.resume_state is not None:
        log.info("%s: continues after epoch %d, from its last epoch checkpoint", fold_label(fold.index, n_folds),
                 checkpoint.resume_state["epoch"])
    try:
        outcome = run_fold(ctx, fold, fold_backend, checkpoint)
    except KeyboardInterrupt:
        checkpoint.flush()  # Ctrl-C or SIGTERM: keep the fold's last finished epoch
        raise
    resume.save_fold(out, fold.index, outcome)  # atomically: a resumed run starts after it
    checkpoint.discard()  # the fold's record supersedes its epoch state
    return outcome


# ------------------------------------------------------------------------------ checks


def _check_learnable(spec: RunSpec, data: Dataset, folds: list[Fold]) -> None:
    """Every fold fits on rows of every class: a model that never saw a class cannot predict
    it, and its scores would be reported as if it could (found before the first fold trains)."""
    if data.regression:
        return
    for fold in folds:
        fit_rows, _ = fit_and_validation_rows(spec, data, fold)
        absent = [c for i, c in enumerate(data.classes) if not np.any(data.y[fit_rows] == i)]
        if absent:
            raise DataError(f"fold {fold.index}: the rows it is fitted on ({len(fit_rows)}, after the validation "
                            f"rows are set aside) hold no row of class(es) {', '.join(map(repr, absent[:5]))}, so "
                            "the model could not learn them",
                            "use more rows of those classes, fewer folds (cv.n_splits), or a smaller "
                            "trainer.val_fraction")
        if spec.search.active:
            search.check_inner_folds(spec, data.y[fit_rows], fold.index)


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


def _describe(spec: RunSpec, data: Dataset, n_folds: int, device: str, n_params: int) -> str:
    target = (f"a regression target (mean {data.y.mean():.4g}, std {data.y.std(ddof=1):.4g})" if data.regression
              else f"{data.n_classes} classes ({', '.join(data.classes)})")
    repeats = f" x {spec.repeats} split seeds" if spec.repeats > 1 else ""
    return (f"data={data.name}: {data.n_samples} samples, {data.n_features} features, "
            f"{target} | model={spec.model.name} "
            f"({n_params} parameters) | cv={spec.cv.name}{repeats} ({n_folds} fold{'s' if n_folds != 1 else ''}) "
            f"| device={device} | seed={spec.seed}")
