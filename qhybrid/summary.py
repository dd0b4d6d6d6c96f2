"""The end of a run: the folds' results collected as they finish, metrics.json (what the
run found, and on which data), predictions.csv, the figures and the terminal summary."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from qhybrid import io
from qhybrid.comparisons import comparisons_record, headline, verdict_lines
from qhybrid.console import print_summary
from qhybrid.figures import figure_output
from qhybrid.search import search_record
from qhybrid.errors import first_line
from qhybrid.training import plots
from qhybrid.training.metrics import summarize
from qhybrid.training.outcome import FoldOutcome
from qhybrid.training.plots_regression import plot_predicted_vs_true, plot_residuals
from qhybrid.training.quantize import int8_summary
from qhybrid.training.cv_spec import split_seeds
from qhybrid.training.spec import resolved_loss
from qhybrid.training.trading import NOTE as TRADING_NOTE

log = logging.getLogger("qhybrid")

DATA_FILE_KEYS = ("path", "test_path", "prices_csv")
# data settings that change how rows are prepared for the model, not which rows and labels there are
PREPROCESSING_KEYS = ("scaler", "imbalance", "smote_k_neighbors", "cache_dir", "offline", "refresh")
FOLD_COLUMNS = ["fold", "repeat", "n_train", "n_synthetic", "n_val", "n_test", "best_epoch", "epochs_run", "train_seconds"]
BASELINE_COLUMNS = ["model", "fold", "n_train", "n_test", "n_parameters", "train_seconds"]


def data_files(data_spec) -> dict[str, str]:
    """The files the data came from, as absolute paths: a run folder says where its data is
    whatever folder it is read from later (predict input=fold_<k>)."""
    return {f"data.{key}": str(Path(value).expanduser().resolve()) for key in DATA_FILE_KEYS
            if (value := getattr(data_spec, key, None))}


def file_sha256(path: Path) -> str:
    """The file's content hash: the same path with other rows in it is other data."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


@dataclass
class FoldResults:
    """Every finished fold's outcome, in fold order, and its rows for folds.csv and
    baselines.csv (rewritten after every fold: an interrupted run keeps what it finished)."""

    names: list[str]  # the fold metrics
    baselines: list[str]
    outcomes: list[FoldOutcome] = field(default_factory=list)

    def add(self, outcome: FoldOutcome, out: Path) -> None:
        self.outcomes.append(outcome)
        io.write_csv(out / "folds.csv", self.rows, [*FOLD_COLUMNS, *self.names])
        if self.baselines:
            io.write_csv(out / "baselines.csv", [{"model": name, **r} for name in self.baselines
                                                 for r in self.baseline_rows(name)],
                         [*BASELINE_COLUMNS, *self.names])

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [o.row for o in self.outcomes]

    def baseline_rows(self, name: str) -> list[dict[str, Any]]:
        return [o.baselines[name][0] for o in self.outcomes]

    def baseline_curves(self) -> dict[str, list]:
        # None: the baseline could not be fitted on that fold
        return {name: [o.baselines[name][1] for o in self.outcomes if o.baselines[name][1] is not None]
                for name in self.baselines}

    @property
    def trading(self) -> Optional[list[pd.DataFrame]]:
        daily = [o.daily for o in self.outcomes]
        return daily if daily and daily[0] is not None else None

    def confusion(self) -> np.ndarray:
        return np.sum([np.asarray(r["confusion_matrix"]) for r in self.rows], axis=0)


def _comparator(results: FoldResults, name: str) -> dict[str, Any]:
    rows = results.baseline_rows(name)
    return {"summary": summarize(rows, results.names), "folds": rows,
            "n_parameters": int(np.median([r.get("n_parameters", 0) for r in rows]))}


def metrics_record(spec, data, results: FoldResults, counts: dict[str, int], precision, backend_record: dict,
                   device: str, eval_record: Optional[dict] = None,
                   controls: Optional[dict[str, dict]] = None) -> dict[str, Any]:
    """metrics.json's content (its timing's total is set when it is written); ``controls``:
    what each control is (qhybrid.controls.describe)."""
    rows, names = results.rows, results.names
    baselines = {name: _comparator(results, name) for name in spec.baselines}
    metrics = {
        "summary": summarize(rows, names), "folds": rows, "task": data.task, "task_requested": spec.task,
        "data": data_record(spec.data), "classes": data.classes, "n_samples": data.n_samples,
        "n_features": data.n_features, "feature_names": data.feature_names, **_target_record(data, results),
        "model": {"name": spec.model.name, "n_parameters": counts["total"],
                  "n_trainable_parameters": counts["trainable"]},
        "parameters": counts,
        "lora": OmegaConf.to_container(OmegaConf.structured(spec.lora)),
        "init_from": spec.init_from,
        "precision": precision.record(),
        "early_stopping_mode": spec.trainer.early_stopping.resolved_mode,
        "quantization": int8_summary(rows, names) if spec.quantization.name == "int8" else {"name": "none"},
        "backend": backend_record,
        "baselines": baselines,
        "cv": {"name": spec.cv.name, "n_folds": len(rows),
               **({"repeats": spec.repeats, "split_seeds": split_seeds(spec.cv.seed, spec.repeats)}
                  if spec.repeats > 1 else {})},
        "imbalance": spec.data.imbalance,
        "decision": {"threshold": spec.decision.threshold, "target_sensitivity": spec.decision.target_sensitivity}
        if spec.decision.threshold != "argmax" else {"threshold": "argmax"},
        "device": device,
        "seed": spec.seed,
        "timing": {"total_seconds": 0.0, "train_seconds": float(sum(r["train_seconds"] for r in rows)),
                   "threads": torch.get_num_threads()},
    }
    if spec.search.active:
        metrics["search"] = search_record(spec, list(spec.baselines), spec.search.metric or headline(names))
    if controls:
        metrics["controls"] = {name: {**record, **_comparator(results, name)} for name, record in controls.items()}
    others = {**{n: ("control", results.baseline_rows(n)) for n in controls or {}},
              **{n: ("baseline", results.baseline_rows(n)) for n in spec.baselines}}
    if others:
        metrics["comparisons"] = comparisons_record(spec.model.name, rows, others, names)
    if eval_record is not None:
        metrics["evaluation"] = evaluation_record(rows, names, backend_record, eval_record)
    if results.trading is not None:
        metrics["trading"] = {"strategy": spec.data.strategy, "note": TRADING_NOTE}
    return metrics


def _target_record(data, results: FoldResults) -> dict[str, Any]:
    """A regression target's spread (an RMSE is read against its std), or the classes' summed
    confusion matrix."""
    if data.regression:
        y = data.y
        return {"target": {"mean": float(y.mean()), "std": float(y.std(ddof=1)), "min": float(y.min()),
                           "max": float(y.max())}}
    return {"confusion_matrix": results.confusion().tolist()}


def write_artefacts(out: Path, spec, data, results: FoldResults, metrics: dict[str, Any]) -> None:
    """predictions.csv, metrics.json, then the figures (unless plots=false): a figure that cannot be
    drawn loses no number."""
    io.write_text(out / "predictions.csv", pd.concat([o.predictions for o in results.outcomes]).to_csv(index=False))
    io.write_json(out / "metrics.json", metrics)
    if not spec.plots.enabled:
        return
    curves = [o.curves for o in results.outcomes]
    loss = resolved_loss(spec.trainer.loss, data.regression).replace("_", "-")

    def learning(path: Path) -> Path:
        return plots.plot_learning_curves(curves, path, f"{loss} loss" + (" (standardised target)"
                                                                          if data.regression else ""))

    if data.regression:
        figures = {"predicted_vs_true.png": lambda path: plot_predicted_vs_true(curves, path),
                   "residuals.png": lambda path: plot_residuals(curves, path), "learning_curves.png": learning}
    else:
        trading = (results.trading, spec.data.strategy) if results.trading is not None else None
        others = {f"{name} ({'control' if name in spec.controls else 'baseline'})": c
                  for name, c in results.baseline_curves().items()}
        figures = _class_figures(curves, data.classes, results.confusion(), len(results.rows), others, trading)
        figures["learning_curves.png"] = learning
    with figure_output(tuple(spec.plots.formats), spec.plots.dpi, caption(spec, data, len(results.rows))):
        _write_plots(out, figures)


def caption(spec, data, n_folds: int) -> str:
    """What every figure of the run shows: "g6 on iris_binary (stratified_kfold, 5 folds)"."""
    seeds = f" x {spec.repeats} split seeds" if spec.repeats > 1 else ""
    return f"{spec.model.name} on {data.name} ({spec.cv.name}{seeds}, {n_folds} fold{'s' if n_folds != 1 else ''})"


def conditions(noise: Optional[dict], shots: Optional[int]) -> str:
    """A circuit's conditions in words: "fake_manila's noise, 1000 shots", "noiseless"."""
    parts = []
    if noise and noise.get("from"):  # a fake backend's name, or a calibration file's without .json
        source = str(noise["from"])
        parts.append(f"{Path(source).stem if source.lower().endswith('.json') else source}'s noise")
    elif noise:
        parts.append(", ".join(f"{name} {value:g}" for name, value in noise.items()))
    if shots:
        parts.append(f"{shots} shots")
    return ", ".join(parts) or "noiseless"


def evaluation_record(rows: list[dict], names: list[str], trained: dict, tested: dict) -> dict[str, Any]:
    """metrics.json's "evaluation": the test metrics under eval_noise / eval_shots beside the
    test metrics as trained, and their differences (mean over folds)."""
    under, as_trained = summarize([r.get("evaluation", {}) for r in rows], names), summarize(rows, names)
    trained_words = conditions(trained.get("noise"), trained.get("shots"))
    tested_words = conditions(tested["noise"], tested["shots"])
    return {"label": f"trained {trained_words}, tested under {tested_words}", "tested_under": tested_words,
            "noise": tested["noise"], "shots": tested["shots"], "seed": tested["seed"],
            "summary": under, "as_trained_summary": as_trained,
            "difference": {n: (under[n]["mean"] - as_trained[n]["mean"]
                               if under[n]["mean"] is not None and as_trained[n]["mean"] is not None else None)
                           for n in names if n in under}}


def print_run_summary(spec, data, metrics: dict[str, Any], out: Path) -> None:
    evaluation = metrics.get("evaluation")
    others = {f"{name} (control)": c for name, c in metrics.get("controls", {}).items()}
    others.update({f"{name} (baseline)": b for name, b in metrics["baselines"].items()})
    repeats = metrics["cv"].get("repeats", 1)
    print_summary(metrics["summary"], metrics["cv"]["n_folds"], str(out),
                  title=f"{spec.model.name} on {data.name} ({spec.cv.name}"
                        f"{f', {repeats} split seeds' if repeats > 1 else ''})", model=spec.model.name,
                  baselines={name: b["summary"] for name, b in others.items()},
                  beside={f"tested under {evaluation['tested_under']}": evaluation["summary"]} if evaluation else None,
                  parameters={spec.model.name: _hybrid_parameters(metrics),
                              **{name: b["n_parameters"] for name, b in others.items()}},
                  notes=verdict_lines(metrics.get("comparisons")))


def _hybrid_parameters(metrics: dict[str, Any]) -> int:
    """The hybrid's parameters; with search.budget its folds' models differ: their median."""
    tuned = [r["tuned"]["n_parameters"] for r in metrics["folds"] if "n_parameters" in r.get("tuned", {})]
    return int(np.median(tuned)) if tuned else metrics["parameters"]["total"]


def _class_figures(curves, classes: list[str], confusion: np.ndarray, n_folds: int, baselines: dict[str, list],
                   trading: Optional[tuple[list, str]]) -> dict[str, Any]:
    figures = {"roc.png": lambda path: plots.plot_roc(curves, classes, path, baselines),
               "pr.png": lambda path: plots.plot_pr(curves, classes, path, baselines),
               "confusion_matrix.png": lambda path: plots.plot_confusion(confusion, classes, path, n_folds)}
    if trading is not None:
        figures["trading_returns.png"] = lambda path: plots.plot_trading(*trading, path)
    return figures


def _write_plots(out: Path, figures: dict[str, Any]) -> None:
    """Every figure of the run; one that fails is a warning (its numbers are in metrics.json)."""
    for name, draw in figures.items():
        try:
            draw(out / name)
        except Exception as err:  # noqa: BLE001 - a figure is never worth the run
            log.warning("could not draw %s (%s); the numbers are in metrics.json", name,
                        first_line(err, 200, typed=True))
