"""`qhybrid predict run=<run folder> input=<csv> [output=<csv>] [checkpoint=best|fold_<k>|int8|fold_<k>_int8]
[ensemble=true]`, and the predictor behind `qhybrid.load`.

A checkpoint carries everything needed (qhybrid.training.checkpoints): the plain model's
weights (or its INT8 components), the fitted preprocessing, the class and feature names and
the run's resolved config, so a prediction rebuilds the model exactly as the run evaluated
it: the same autocast for float models, the same int8 layers for INT8 ones. Input columns
are matched by name; a column the model needs that is missing, or one it does not know, is
one clear error (the run's target column may be present: then the metrics are printed).
For a finance run the input is a prices file (as data.prices_csv): the run's indicator
windows are built from it and every day gets a call for the next one, the last day included.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import numpy as np

from qhybrid.errors import DataError, QHybridError

USAGE = ("usage: qhybrid predict run=<run folder> input=<csv>|fold_<k> [output=<csv>] "
         "[checkpoint=best|fold_<k>|int8|fold_<k>_int8] [ensemble=true]")


class Predictor:
    """One or more fold models of a run (their probabilities averaged)."""

    def __init__(self, run: Path, checkpoint: str = "best", ensemble: bool = False):
        from qhybrid.training.checkpoints import load_checkpoint
        from qhybrid.training.finetune import best_fold

        self.run = Path(run)
        if not (self.run / "checkpoints").is_dir():
            raise QHybridError(f"{self.run} is not a run folder (no checkpoints/)",
                               "point run= at a folder written by qhybrid train")
        int8 = checkpoint == "int8" or checkpoint.endswith("_int8")
        suffix = "_int8" if int8 else ""
        if ensemble:
            paths = sorted(self.run.glob(f"checkpoints/fold_*{suffix}.pt"))
            paths = [p for p in paths if p.stem.endswith("_int8") == int8]
        elif checkpoint in ("best", "int8"):
            paths = [self.run / "checkpoints" / f"fold_{best_fold(self.run)}{suffix}.pt"]
        elif checkpoint.startswith("fold_"):
            paths = [self.run / "checkpoints" / f"{checkpoint}.pt"]
        else:
            raise QHybridError(f"checkpoint={checkpoint} is not a valid choice",
                               "use best, fold_<k>, int8 or fold_<k>_int8")
        if not paths or not all(p.is_file() for p in paths):
            missing = next((p for p in paths if not p.is_file()), self.run / "checkpoints")
            hint = "train with quantization=int8 (e.g. model=g4) to get INT8 checkpoints" if int8 else \
                "list the run's checkpoints/ folder"
            raise QHybridError(f"no checkpoint {missing}", hint)
        self.payloads = [load_checkpoint(p) for p in paths]
        first = self.payloads[0]
        self.classes, self.feature_names = first["classes"], first["feature_names"]
        self.precision_name = self._resolved_precision()
        self.models = [self._build(p, self.precision_name) for p in self.payloads]

    def _resolved_precision(self) -> str:
        """The autocast the run actually trained and scored with (precision=auto is resolved
        at run time); float16 autocast needs CUDA, so on a CPU it becomes fp32."""
        try:
            name = json.loads((self.run / "metrics.json").read_text())["precision"]["name"]
        except (OSError, ValueError, KeyError, TypeError):
            name = "fp32"
        return "fp32" if name == "amp_fp16" else name

    @staticmethod
    def _build(payload: dict, precision_name: str):
        from omegaconf import OmegaConf

        from qhybrid.build import build_backend, build_model
        from qhybrid.data.preprocess import FoldPreprocessor
        from qhybrid.schema import validate
        from qhybrid.training.precision import resolve_precision
        from qhybrid.training.quantize import load_int8_state_dict, unpack

        config = OmegaConf.create(payload["config"])
        if config.get("init_from") is not None:
            config.init_from = None  # the weights are in this checkpoint; the source need not exist here
        spec = validate(config)
        inputs = payload.get("n_model_inputs", payload["n_features"])
        model = build_model(spec.model, inputs, len(payload["classes"]), build_backend(spec))
        precision = None
        if payload.get("quantization", "none") == "int8":
            load_int8_state_dict(model, unpack(payload["state_dict"]))
        else:
            model.load_state_dict(payload["state_dict"])
            precision = resolve_precision(precision_name, "cpu")
        model.eval()
        return model, FoldPreprocessor.from_state_dict(payload["preprocessing"]), precision

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        import torch

        from qhybrid.training.engine import predict_proba

        probas = []
        for model, preprocessor, precision in self.models:
            features = torch.as_tensor(preprocessor.transform(X), dtype=torch.float32)
            probas.append(predict_proba(model, features, precision))
        return np.mean(probas, axis=0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)[self.predict_proba(X).argmax(axis=1)]

    def frame(self, table):
        """Predicted class and per-class probabilities for a DataFrame with the features."""
        import pandas as pd

        X = features_of(table, self.feature_names, self.target_column)
        proba = self.predict_proba(X)
        out = pd.DataFrame({"prediction": np.asarray(self.classes, dtype=object)[proba.argmax(axis=1)]},
                           index=table.index)
        for i, name in enumerate(self.classes):
            out[f"proba_{name}"] = proba[:, i]
        if self.decision_threshold is not None:
            out["prediction_at_threshold"] = np.asarray(self.classes, dtype=object)[
                (proba[:, 1] >= self.decision_threshold).astype(np.int64)]
        return out

    @property
    def decision_threshold(self) -> Optional[float]:
        """The fold's validation-chosen threshold (decision.threshold=target_sensitivity);
        None for an ensemble, whose averaged probabilities no fold's threshold was chosen for."""
        if len(self.payloads) != 1:
            return None
        return self.payloads[0].get("decision_threshold")

    @property
    def data_config(self) -> dict:
        return self.payloads[0]["config"].get("data", {})

    @property
    def target_column(self) -> Optional[str]:
        return self.data_config.get("target") or "target"


def features_of(table, feature_names: list[str], target: Optional[str]) -> np.ndarray:
    columns = [str(c) for c in table.columns]
    missing = [f for f in feature_names if f not in columns]
    extra = [c for c in columns if c not in feature_names and c != target]
    if missing and extra:
        raise DataError(f"the input lacks feature column(s) {', '.join(missing[:8])} and has column(s) the model does "
                        f"not know: {', '.join(extra[:8])}", "rename the columns to the names the model was trained "
                        f"with ({', '.join(feature_names[:8])}{'...' if len(feature_names) > 8 else ''})")
    if missing:
        raise DataError(f"the input lacks {len(missing)} feature column(s) the model needs: {', '.join(missing[:8])}",
                        f"give the columns {', '.join(feature_names[:8])}{'...' if len(feature_names) > 8 else ''} "
                        "by name")
    if extra:
        raise DataError(f"the input has column(s) the model does not know: {', '.join(extra[:8])}",
                        f"drop them; the model reads {', '.join(feature_names[:8])}"
                        f"{'...' if len(feature_names) > 8 else ''}" + (f" (and the target {target})" if target else ""))
    frame = table[feature_names]
    bad = [c for c in feature_names if not np.issubdtype(frame[c].dtype, np.number)]
    if bad:
        raise DataError(f"column {bad[0]} is not numeric", "give numbers in every feature column")
    X = frame.to_numpy(dtype=np.float64)
    if np.isnan(X).any():
        raise DataError("the input has missing values", "fill or drop them before predicting")
    return X


def fold_test_rows(predictor: Predictor, fold: int):
    """The test rows of a fold of the run, with their labels: the run's own data (its
    config) and the fold's rows (predictions.csv), so the fold's metrics can be reproduced."""
    import pandas as pd
    from omegaconf import OmegaConf

    from qhybrid.data import load_dataset
    from qhybrid.schema import validate

    config = OmegaConf.create(predictor.payloads[0]["config"])
    config.init_from = None
    data = load_dataset(validate(config).data)
    predictions = pd.read_csv(predictor.run / "predictions.csv")
    rows = predictions.loc[predictions["fold"] == fold, "row"].to_numpy()
    if rows.size == 0:
        raise DataError(f"the run has no fold {fold}", f"use input=fold_<k> with k < {predictions['fold'].max() + 1}")
    table = pd.DataFrame(data.X[rows], columns=data.feature_names)
    table[predictor.target_column] = np.asarray(data.classes, dtype=object)[data.y[rows]]
    return table


def _parse(args: list[str]) -> dict[str, str]:
    options = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or key not in ("run", "input", "output", "checkpoint", "ensemble"):
            raise QHybridError(f"unknown argument {arg!r}", USAGE.removeprefix("usage: "))
        options[key] = value
    for key in ("run", "input"):
        if not options.get(key):
            raise QHybridError(f"{key}= is required", USAGE.removeprefix("usage: "))
    if options.get("ensemble", "false").lower() not in ("true", "false"):
        raise QHybridError(f"ensemble={options['ensemble']} is not true or false", "use ensemble=true or leave it out")
    return options


def main(args: list[str]) -> int:
    if args and args[0] in ("-h", "--help"):
        print(USAGE + "\n\n" + __doc__.split("\n\n", 1)[1])
        return 0
    import pandas as pd

    from qhybrid.io import write_text

    options = _parse(args)
    predictor = Predictor(Path(options["run"]), options.get("checkpoint", "best"),
                          options.get("ensemble", "false").lower() == "true")
    source = Path(options["input"])
    known = None  # finance: date, ticker and next return of each predicted day
    fold = re.fullmatch(r"fold_(\d+)", options["input"])
    if fold and not source.exists():
        table = fold_test_rows(predictor, int(fold.group(1)))
    elif not source.is_file():
        raise DataError(f"input file not found: {source.resolve()}",
                        "give input=<path to a CSV file>, or input=fold_<k> for that fold's test rows")
    elif predictor.data_config.get("name") == "finance":
        from qhybrid.data.finance import prediction_table

        # a prices file: the run's indicator windows are built from it, one row per ticker and day
        days = prediction_table(predictor.data_config, str(source))
        table, known = days[predictor.feature_names], days[["date", "ticker", "next_return"]]
    else:
        try:
            table = pd.read_csv(source)
        except (ValueError, UnicodeDecodeError) as err:
            raise DataError(f"{source} is not a readable CSV file ({str(err).splitlines()[0][:120]})",
                            "give a comma-separated file with a header row") from None
    result = predictor.frame(table)
    if known is not None:
        result = pd.concat([known, result], axis=1)
    output = Path(options.get("output") or f"{source.name.removesuffix('.csv')}_predictions.csv")
    write_text(output, result.to_csv(index=False))
    print(f"predicted {len(result)} rows with {len(predictor.models)} model(s) from {predictor.run}: {output}")
    target = predictor.target_column
    if target in table.columns:
        from qhybrid.training.metrics import compute_metrics

        index = {name: i for i, name in enumerate(predictor.classes)}
        labels = table[target].astype(str)
        if labels.isin(list(index)).all():
            y = labels.map(index).to_numpy()
            scores = compute_metrics(y, result[[f"proba_{c}" for c in predictor.classes]].to_numpy(),
                                     len(predictor.classes))
            scalars = {k: v for k, v in scores.items() if isinstance(v, float)}
            print(json.dumps(scalars, sort_keys=True))
    return 0


def run(args: list[str]) -> int:
    """CLI entry: errors as one line."""
    from qhybrid.errors import exit_code_of

    return exit_code_of(main, args)
