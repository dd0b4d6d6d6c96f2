"""`qhybrid predict run=<run folder> input=<csv>|fold_<k> [output=<csv>] [overwrite=true]
[checkpoint=best|final|fold_<k>|int8|fold_<k>_int8] [ensemble=true]`, and the predictor behind `qhybrid.load`.

A checkpoint carries everything needed (qhybrid.training.checkpoints): the plain model's
weights (or its INT8 components), the fitted preprocessing, the class and feature names and
the run's resolved config, so a prediction rebuilds the model exactly as the run evaluated
it: the same autocast for float models, the same int8 layers for INT8 ones. The run folder
is all it needs: the training data is read only for input=fold_<k>.

A classification run writes the predicted class and one probability per class; a regression
run writes the predicted value (`prediction`, in the target's units: each fold's
standardisation of the target undone). Input columns are matched by name; a column the model
needs that is missing, one it does not know, text, a missing or infinite value is one clear
error naming the column and the file's line (the run's target column may be present: then the
metrics are printed). The output never replaces an existing file unless overwrite=true, and
never the input.
For a finance run the input is a prices file (as data.prices_csv): the run's indicator
windows are built from it and every day gets a call for the next one, the last day included.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np

from qhybrid.circuit_copy import with_run_circuit
from qhybrid.errors import DataError, QHybridError, exit_code_of, first_line
from qhybrid.predict_rows import input_table

USAGE = ("usage: qhybrid predict run=<run folder> input=<csv>|fold_<k> [output=<csv>] [overwrite=true] "
         "[checkpoint=best|final|fold_<k>|int8|fold_<k>_int8] [ensemble=true]")
OPTIONS = ("run", "input", "output", "overwrite", "checkpoint", "ensemble")
CHECKPOINT_NAME = re.compile(r"best|final|int8|fold_\d+(_int8)?")
FOLD_FILE = re.compile(r"fold_(\d+)(_int8)?\.pt")


class Predictor:
    """One or more fold models of a run (their probabilities, or a regression's predicted values,
    averaged).

    ``predict``, ``predict_proba`` and ``frame`` take a DataFrame (columns by name) or a 2-D
    array-like (the run's feature order), checked as ``qhybrid predict`` checks a CSV file
    (qhybrid.inputs)."""

    def __init__(self, run: str | Path, checkpoint: str = "best", ensemble: bool = False):
        # lazy: loads torch; `qhybrid predict --help` imports this module
        from qhybrid.training.checkpoints import load_checkpoint

        if not isinstance(ensemble, (bool, np.bool_)):
            raise QHybridError(f"ensemble={ensemble!r} is not true or false", "pass ensemble=True or False")
        self.run = Path(run)
        self.payloads = [load_checkpoint(p) for p in checkpoint_paths(self.run, checkpoint, bool(ensemble))]
        first = self.payloads[0]
        self.classes, self.feature_names = list(first["classes"]), list(first["feature_names"])
        self.regression = first.get("task") == "regression"  # older checkpoints: classification
        self.precision_name = self._resolved_precision()
        # a circuit given as a file is read from the run folder's copy (qhybrid.circuit_files)
        self.models = [self._build({**p, "config": with_run_circuit(p["config"], self.run)}, self.precision_name)
                       for p in self.payloads]

    def _resolved_precision(self) -> str:
        """The autocast the run actually trained and scored with (precision=auto is resolved
        at run time, recorded in metrics.json; without it, the config's); float16 autocast
        needs CUDA and auto means fp32 on a CPU, so here both are fp32."""
        try:
            name = json.loads((self.run / "metrics.json").read_text())["precision"]["name"]
        except (OSError, ValueError, KeyError, TypeError):
            name = (self.payloads[0]["config"].get("precision") or {}).get("name", "fp32")
        return "fp32" if name in ("amp_fp16", "auto") else name

    @staticmethod
    def _build(payload: dict, precision_name: str):
        # lazy: these load torch, and `qhybrid predict --help` imports this module
        from qhybrid.build import build_backend, build_model
        from qhybrid.data.preprocess import FoldPreprocessor
        from qhybrid.data.target import TargetScaler
        from qhybrid.training.precision import resolve_precision
        from qhybrid.training.quantize import load_int8_state_dict, unpack

        spec = model_spec(payload["config"])
        inputs = payload.get("n_model_inputs", payload["n_features"])
        regression = payload.get("task") == "regression"
        model = build_model(spec.model, inputs, 1 if regression else len(payload["classes"]), build_backend(spec))
        precision = None
        try:
            if payload.get("quantization", "none") == "int8":
                load_int8_state_dict(model, unpack(payload["state_dict"]))
            else:
                model.load_state_dict(payload["state_dict"])
                precision = resolve_precision(precision_name, "cpu")
            preprocessor = FoldPreprocessor.from_state_dict(payload["preprocessing"])
            target = TargetScaler.from_state_dict(payload["target_scaling"]) if regression else None
        except (RuntimeError, KeyError, ValueError, TypeError, AttributeError) as err:
            # a checkpoint edited or written by something else: its parts do not fit together
            raise QHybridError(f"the checkpoint of fold {payload.get('fold')} does not fit the model its config "
                               f"describes ({first_line(err, 120)})", "re-run training to write it again") from None
        model.eval()
        return model, preprocessor, precision, target

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, (rows, classes), averaged over the models."""
        if self.regression:
            raise QHybridError(f"{self.run} is a regression run: it predicts values, not class probabilities",
                               "use predict(X)")
        return self._scored(X)[0]

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class of each row, or a regression run's predicted value (float64, in
        the target's units)."""
        outputs = self._scored(X)[0]
        return outputs if self.regression else np.asarray(self.classes, dtype=object)[outputs.argmax(axis=1)]

    def frame(self, table: Any, rows=None):
        """Predicted class and per-class probabilities (a regression run: the predicted value),
        one row per input row (a DataFrame keeps its index). ``rows``: how errors name rows
        (qhybrid.inputs.RowNames)."""
        import pandas as pd  # lazy: `qhybrid predict --help` imports this module

        proba, index = self._scored(table, rows)
        ids = {self.id_column: table[self.id_column].to_numpy()} if isinstance(table, pd.DataFrame) and \
            self.id_column in table.columns else {}
        if self.id_column and not ids:
            warnings.warn(f"the input has no column {self.id_column!r} (the run's data.id_column): the "
                          "predictions are in the input's row order, without ids", UserWarning, stacklevel=2)
        if self.regression:
            return pd.DataFrame({**ids, "prediction": proba}, index=index)
        labels = np.asarray(self.classes, dtype=object)
        out = pd.DataFrame({**ids, "prediction": labels[proba.argmax(axis=1)]}, index=index)
        for i, name in enumerate(self.classes):
            out[f"proba_{name}"] = proba[:, i]
        if self.decision_threshold is not None:
            out["prediction_at_threshold"] = labels[(proba[:, 1] >= self.decision_threshold).astype(np.int64)]
        return out

    def _scored(self, X: Any, rows=None):
        """(probabilities or predicted values, the rows' index): the input checked once, then
        every model."""
        # lazy: `qhybrid predict --help` imports this module (no pandas or torch there)
        import pandas as pd
        import torch

        from qhybrid.inputs import ARRAY_ROWS, DATAFRAME_ROWS, feature_matrix
        from qhybrid.predict_categories import encode_categories, refuse_categorical_array
        from qhybrid.training.engine import predict_outputs

        is_frame = isinstance(X, pd.DataFrame)
        rows = rows or (DATAFRAME_ROWS if is_frame else ARRAY_ROWS)
        categories = {self.feature_names[c]: names for c, names in self.models[0][1].categories.items()}
        X = encode_categories(X, categories) if is_frame else refuse_categorical_array(X, categories)
        values = feature_matrix(X, self.feature_names, ignored=self.ignored_columns,
                                allow_missing=self.imputes, rows=rows)
        index = X.index if is_frame else pd.RangeIndex(len(values))
        probas = []
        for model, preprocessor, precision, target in self.models:
            with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, by row
                scaled = preprocessor.transform(values).astype(np.float32)
            _refuse_rows(~np.isfinite(scaled).all(axis=1), index, rows,
                         "values so far outside the training range in {rows} that the run's scaling takes them "
                         "beyond float32", "check the units of the input columns against the training data")
            probas.append(predict_outputs(model, torch.from_numpy(scaled), precision, target))
        proba = np.mean(probas, axis=0)
        _refuse_rows(~np.isfinite(proba.reshape(len(proba), -1)).all(axis=1), index, rows,
                     "the model's output overflows for {rows}",
                     "check those rows' values against the training data's range")
        return proba, index

    @property
    def imputes(self) -> bool:
        """The run fills missing values with each fold's medians (data.nan_policy=impute)."""
        return all("fill" in preprocessor.params for _, preprocessor, _, _ in self.models)

    @property
    def decision_threshold(self) -> Optional[float]:
        """The fold's validation-chosen threshold (decision.threshold=target_sensitivity);
        None for an ensemble, whose averaged probabilities no fold's threshold was chosen for."""
        if len(self.payloads) != 1:
            return None
        return self.payloads[0].get("decision_threshold")

    @property
    def data_config(self) -> dict:
        return self.payloads[0]["config"].get("data") or {}

    @property
    def target_column(self) -> Optional[str]:
        return self.data_config.get("target") or "target"

    @property
    def ignored_columns(self) -> list[str]:
        """Columns of the run's data layout an input may carry besides the features."""
        layout = [self.target_column, self.data_config.get("time_column"), self.id_column]
        return [c for c in layout + list(self.data_config.get("drop_columns") or []) if c]

    @property
    def id_column(self) -> Optional[str]:
        """data.id_column: an input's identifiers, passed through to its predictions."""
        return self.data_config.get("id_column")


def _refuse_rows(bad: np.ndarray, index, rows, problem: str, fix: str) -> None:
    """One line naming the rows ``bad`` marks (``problem`` says where with ``{rows}``)."""
    if bad.any():
        raise DataError(problem.format(rows=rows(index[bad])), fix)


def model_spec(config: dict):
    """The run's spec, for building its model from the checkpoint alone: the data group is
    swapped for a builtin one and init_from/resume dropped, so neither the training files nor
    the folders they name need exist here (the run folder is self-contained)."""
    # lazy: `qhybrid predict --help` imports this module (no omegaconf or torch there)
    from omegaconf import OmegaConf

    from qhybrid.schema import validate

    return validate(OmegaConf.create({**config, "data": {"name": "iris"}, "init_from": None, "resume": None}))


def checkpoint_paths(run: Path, checkpoint: str, ensemble: bool) -> list[Path]:
    """The checkpoint files ``checkpoint=`` and ``ensemble=`` name, each one existing."""
    from qhybrid.training.finetune import best_fold  # lazy: loads torch; `qhybrid predict --help` imports this module

    if not isinstance(checkpoint, str) or not CHECKPOINT_NAME.fullmatch(checkpoint):
        raise QHybridError(f"checkpoint={checkpoint} is not a valid choice",
                           "use best, final, fold_<k>, int8 or fold_<k>_int8")
    folder = run / "checkpoints"
    if not folder.is_dir():
        raise QHybridError(f"{run} is not a run folder (no checkpoints/)",
                           "point run= at a folder written by qhybrid train")
    int8 = checkpoint.endswith("int8")
    available = sorted((p for p in folder.iterdir() if FOLD_FILE.fullmatch(p.name)),
                       key=lambda p: int(FOLD_FILE.fullmatch(p.name).group(1)))
    kind = [p for p in available if p.stem.endswith("_int8") == int8]
    if ensemble:
        if checkpoint.startswith("fold_"):
            raise QHybridError(f"checkpoint={checkpoint} names one fold and ensemble=true averages every fold",
                               "drop one of them (ensemble=true checkpoint=int8 averages the INT8 models)")
        if not kind:
            raise QHybridError(f"{folder} has no {'INT8 ' if int8 else ''}fold checkpoints",
                               _no_checkpoint_fix(int8, available))
        return kind
    if checkpoint == "final" and ensemble:
        raise QHybridError("checkpoint=final is one model and ensemble=true averages every fold",
                           "drop one of them")
    if checkpoint in ("best", "final") and not ensemble and (folder / "final.pt").is_file():
        return [folder / "final.pt"]  # refit=true: the model trained on every row
    if checkpoint == "final":
        raise QHybridError(f"the run has no final model ({folder / 'final.pt'} not found)",
                           "train with refit=true, or use checkpoint=best")
    name = f"fold_{best_fold(run)}{'_int8' if int8 else ''}" if checkpoint in ("best", "int8") else checkpoint
    path = folder / f"{name}.pt"
    if not path.is_file():
        raise QHybridError(f"the run has no checkpoint {name} ({path} not found)", _no_checkpoint_fix(int8, available))
    return [path]


def _no_checkpoint_fix(int8: bool, available: list[Path]) -> str:
    if int8 and not any(p.stem.endswith("_int8") for p in available):
        return "train with quantization=int8 (e.g. model=g4) to get INT8 checkpoints"
    if available:
        return f"use checkpoint= one of: {', '.join(p.stem for p in available)}"
    return "the run saved no fold: point run= at a finished run, or re-run training"


# ------------------------------------------------------------------------------ input


# ----------------------------------------------------------------------------- output


def output_path(options: dict[str, str], run: Path) -> Path:
    """Where the predictions go, refused when that would replace something: the input always,
    any existing file unless overwrite=true, a file of the run folder always."""
    source = Path(options["input"])
    output = Path(options.get("output") or f"{source.name.removesuffix('.csv')}_predictions.csv")
    shown = output.resolve()
    if source.is_file() and (shown == source.resolve() or (output.exists() and output.samefile(source))):
        raise QHybridError(f"output={output} is the input file", "name another file with output=")
    if output.is_dir():
        raise QHybridError(f"output={shown} is a folder", f"name a file, e.g. output={output / 'predictions.csv'}")
    blocking = next((p for p in shown.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise QHybridError(f"output={shown} goes through {blocking}, which is a file, not a folder",
                           "name another output= path")
    if output.exists() and run.resolve() in shown.parents:
        raise QHybridError(f"output={shown} would replace a file of the run folder", "name a file outside the run")
    if output.exists() and options.get("overwrite", "false").lower() != "true":
        how = "output=" if options.get("output") else "the default output (<input>_predictions.csv)"
        raise QHybridError(f"{how} {shown} already exists", "name another file with output=, or add overwrite=true")
    return output


def write_output(output: Path, text: str) -> None:
    # looked up at call time: tests/test_predict_inputs.py patches qhybrid.io.write_text
    from qhybrid.io import write_text

    try:
        write_text(output, text)
    except OSError as err:
        raise QHybridError(f"cannot write output={output.resolve()} ({err.strerror or type(err).__name__})",
                           "name a path in a folder you can write with output=") from None


# -------------------------------------------------------------------------------- CLI


def _parse(args: list[str]) -> dict[str, str]:
    options = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or key not in OPTIONS:
            raise QHybridError(f"unknown argument {arg!r}", USAGE.removeprefix("usage: "))
        if key in options:
            raise QHybridError(f"{key}= is given twice", "give each argument once")
        options[key] = value
    for key in ("run", "input"):
        if not options.get(key):
            raise QHybridError(f"{key}= is required", USAGE.removeprefix("usage: "))
    for key in ("ensemble", "overwrite"):
        if options.get(key, "false").lower() not in ("true", "false"):
            raise QHybridError(f"{key}={options[key]} is not true or false", f"use {key}=true or leave it out")
    return options


def _print_metrics(predictor: Predictor, table, result) -> None:
    """The metrics, when the input carries the run's target column with known labels."""
    target = predictor.target_column
    if target not in table.columns:
        return
    # lazy: loads sklearn; `qhybrid predict --help` imports this module
    from qhybrid.training.metrics import compute_metrics, regression_metrics

    if predictor.regression:
        import pandas as pd  # lazy: as above

        values = pd.to_numeric(table[target], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(values).all():
            print(f"qhybrid: warning: no metrics: column {target!r} holds text, missing or infinite values "
                  f"({int((~np.isfinite(values)).sum())} rows)", file=sys.stderr)
            return
        scores = regression_metrics(values, result["prediction"].to_numpy(dtype=np.float64))
        print(json.dumps(scores, sort_keys=True))
        return
    index = {name: i for i, name in enumerate(predictor.classes)}
    labels = table[target].astype("string").str.strip()  # read as training reads labels
    unknown = sorted(set(labels[~labels.isin(list(index))].fillna("<empty>")))
    if unknown:
        print(f"qhybrid: warning: no metrics: column {target!r} holds label(s) the model does not know: "
              f"{', '.join(unknown[:5])} (its classes: {', '.join(predictor.classes)})", file=sys.stderr)
        return
    y = labels.map(index).to_numpy(dtype=np.int64)
    scores = compute_metrics(y, result[[f"proba_{c}" for c in predictor.classes]].to_numpy(), len(predictor.classes))
    print(json.dumps({k: v for k, v in scores.items() if isinstance(v, float)}, sort_keys=True))


def main(args: list[str]) -> int:
    if args and args[0] in ("-h", "--help"):
        print(USAGE + "\n\n" + __doc__.split("\n\n", 1)[1])
        return 0
    import pandas as pd  # lazy: `qhybrid predict --help` imports this module

    options = _parse(args)
    # input=fold_<k> reproduces that fold: its own model, unless checkpoint= says otherwise (a refit
    # run's final model has trained on the fold's test rows)
    fold = re.fullmatch(r"fold_(\d+)", options["input"])
    default = f"fold_{fold.group(1)}" if fold and options.get("ensemble", "false").lower() != "true" else "best"
    predictor = Predictor(Path(options["run"]), options.get("checkpoint", default),
                          options.get("ensemble", "false").lower() == "true")
    output = output_path(options, predictor.run)  # before the work: nothing is predicted only to be refused
    table, known, rows = input_table(predictor, options["input"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        result = predictor.frame(table, rows=rows)
    for warning in caught:
        print(f"qhybrid: warning: {warning.message}", file=sys.stderr)
    if known is not None:
        result = pd.concat([known.reset_index(drop=True), result.reset_index(drop=True)], axis=1)
    write_output(output, result.to_csv(index=False))
    print(f"predicted {len(result)} rows with {len(predictor.models)} model(s) from {predictor.run}: {output}")
    _print_metrics(predictor, table, result)
    return 0


def run(args: list[str]) -> int:
    """CLI entry: errors as one line."""
    return exit_code_of(main, args)
