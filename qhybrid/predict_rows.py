"""Where predict's rows come from: a CSV read as the run read its training file, a prices
file for a finance run, or input=fold_<k>: that fold's test rows re-read from the run's
recorded data files (refused when those files changed since training)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

import numpy as np

from qhybrid.errors import DataError


def fold_test_rows(predictor: Any, fold: int):
    """The test rows of a fold of the run, with their labels: the run's own data (the files
    it read, by the absolute paths its checkpoint recorded) and the fold's rows
    (predictions.csv), so the fold's metrics can be reproduced. Indexed by data row."""
    # lazy: `qhybrid predict --help` imports this module (no pandas, omegaconf or torch there)
    import pandas as pd
    from omegaconf import OmegaConf

    from qhybrid.data import load_dataset
    from qhybrid.data.dataset import category_names
    from qhybrid.schema import validate

    rows, recorded = _fold_rows_of(predictor.run, fold)
    _check_unchanged(predictor.run, fold)
    config = OmegaConf.create(_with_recorded_files(predictor.payloads[0], fold))
    config.init_from, config.resume = None, None
    spec = validate(config)
    data = load_dataset(spec.data, spec.task)
    changed = "the data changed since training"
    if rows.max() >= len(data.X):
        raise DataError(f"fold {fold} names row {rows.max()} but the run's data now has {len(data.X)} rows ({changed})",
                        "predict from a CSV with input=<file>")
    labels = data.y[rows] if data.regression else np.asarray(data.classes, dtype=object)[data.y[rows]]
    if recorded is not None and not (np.array_equal(recorded.astype(np.float64), labels) if data.regression
                                     else (recorded == labels.astype(str)).all()):
        raise DataError(f"the labels of fold {fold}'s rows differ from the run's predictions.csv ({changed})",
                        "predict from a CSV with input=<file>")
    table = pd.DataFrame(data.X[rows], columns=data.feature_names, index=pd.Index(rows, name="row"))
    for column, names in (data.categories or {}).items():  # as a file writes them: predict encodes them again
        table[column] = category_names(table[column].to_numpy(), names)
    table[predictor.target_column] = labels
    if predictor.id_column and data.meta is not None and predictor.id_column in data.meta.columns:
        table[predictor.id_column] = data.meta[predictor.id_column].to_numpy()[rows]
    return table


def _check_unchanged(run: Path, fold: int) -> None:
    """The data files hash as they did when the run read them (metrics.json's data.sha256;
    runs without it are checked by their rows and labels only)."""
    from qhybrid.summary import file_sha256  # lazy: loads torch; `qhybrid predict --help` imports this module

    try:
        data = json.loads((run / "metrics.json").read_text())["data"]
        recorded, files = dict(data["sha256"]), dict(data["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    for key, digest in recorded.items():
        path = Path(files.get(key, ""))
        if path.is_file() and file_sha256(path) != digest:
            raise DataError(f"input=fold_{fold} reads the run's training data, and {key}={path} has changed since "
                            "the run read it: its rows would not be the rows the fold was tested on",
                            "restore the file as it was, or predict from a CSV with input=<file>")


def _fold_rows_of(run: Path, fold: int) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """The data rows fold ``fold`` tested (predictions.csv) and their recorded labels."""
    import pandas as pd  # lazy: `qhybrid predict --help` imports this module

    shown = run / "predictions.csv"
    try:
        predictions = pd.read_csv(shown)
        chosen = predictions.loc[predictions["fold"] == fold]
        rows = chosen["row"].to_numpy(dtype=np.int64)
    except (OSError, ValueError, KeyError, TypeError):
        raise DataError(f"input=fold_{fold} needs the run's predictions.csv (the rows each fold tested), and {shown} "
                        "is missing or unreadable",
                        "point run= at a finished run folder, or predict from a CSV with input=<file>") from None
    if len(rows) == 0:
        known = ", ".join(str(k) for k in sorted(set(predictions["fold"].tolist())))
        raise DataError(f"the run has no fold {fold}", f"use input=fold_<k> with k one of {known}")
    recorded = chosen["y_true"].astype(str).to_numpy() if "y_true" in chosen else None
    return rows, recorded


def _with_recorded_files(payload: dict, fold: int) -> dict:
    """The run's config with its data files at the absolute paths it read them from (older
    checkpoints did not record them: their paths are read as given, from here)."""
    config = json.loads(json.dumps(payload["config"]))  # a deep copy of plain data
    for key, path in (payload.get("data_files") or {}).items():
        if not Path(path).is_file():
            raise DataError(f"input=fold_{fold} reads the run's training data, and {key}={path} is gone",
                            "restore the file there, or predict from a CSV with input=<file>")
        config["data"][key.removeprefix("data.")] = path
    return config


def input_table(predictor: Any, value: str):
    """(table, known columns to put before the predictions or None, how rows are named)."""
    # lazy: loads pandas; `qhybrid predict --help` imports this module
    from qhybrid.inputs import RowNames, csv_rows

    source = Path(value)
    fold = re.fullmatch(r"fold_(\d+)", value)
    if fold and not source.exists():
        import pandas as pd

        table = fold_test_rows(predictor, int(fold.group(1)))
        # each prediction names its data row, as predictions.csv does
        return table, pd.DataFrame({"row": table.index.to_numpy()}), RowNames("row", "of the run's data")
    data = predictor.data_config
    if data.get("name") == "finance":
        # lazy: loads pandas; `qhybrid predict --help` imports this module
        from qhybrid.data.finance import prediction_table

        if not source.exists():
            raise DataError(f"input file not found: {source.resolve()}", "give input=<prices CSV file or folder>")
        # a prices file: the run's indicator windows are built from it, one row per ticker and day
        days = prediction_table(data, str(source))
        days.index = days["ticker"].astype(str) + " " + days["date"].astype(str)
        return days[predictor.feature_names], days[["date", "ticker", "next_return"]], RowNames("day")
    if not source.is_file() and not source.is_dir():
        raise DataError(f"input file not found: {source.resolve()}",
                        "give input=<path to a CSV file>, or input=fold_<k> for that fold's test rows")
    return _csv_rows(source, data), None, csv_rows(source.resolve())


def _csv_rows(source: Path, data: dict):
    """The input file read as the run read its training file (the same reader, separator and
    header), indexed by each row's line in the file."""
    # lazy: `qhybrid predict --help` imports this module (no pandas there)
    import pandas as pd

    from qhybrid.data.table import read_table, separator

    # identifiers and categories as written: 007 stays 007
    ids = (*([data["id_column"]] if data.get("id_column") else []), *(data.get("categorical") or []))
    table = read_table(str(source), "input", header=data.get("header", True) is not False,
                       sep=separator(str(data.get("sep") or ",")), sep_key=None, text_columns=ids)
    frame = table.frame
    frame.index = pd.Index(table.lines(np.arange(len(frame))), name="line")
    return frame
