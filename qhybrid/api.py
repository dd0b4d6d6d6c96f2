"""The one-liner Python API: the CLI's code path without the shell.

    import qhybrid
    result = qhybrid.train(model="g6", data="iris", overrides=["trainer.max_epochs=50"])
    result.metrics["summary"]["roc_auc"], result.run_dir
    predictor = qhybrid.load(result.run_dir)          # or any run folder
    predictor.predict(X), predictor.predict_proba(X)   # X: a DataFrame (columns by name) or
                                                       # rows x features in the run's order

``train`` composes the config with Hydra exactly as ``qhybrid train`` does (the same
config tree, defaults and overrides, the same validation), writes the same run folder
(``.hydra/config.yaml`` and ``overrides.yaml``, ``train.log``, metrics, plots,
checkpoints) and returns what ``metrics.json`` holds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from omegaconf import OmegaConf

from qhybrid import run_folder
from qhybrid.data.memory import register
from qhybrid.errors import ConfigError, QHybridError
from qhybrid.io import write_text
from qhybrid.predict import Predictor
from qhybrid.preflight import Composer, check_resume, job_config, refuse_repeats
from qhybrid.run import train as run_train
from qhybrid.schema import validate


@dataclass
class TrainResult:
    metrics: dict[str, Any]
    run_dir: Path

    @property
    def summary(self) -> dict[str, dict[str, Optional[float]]]:
        return self.metrics["summary"]


def compose(overrides: Sequence[str] = ()):
    """The config ``qhybrid train <overrides>`` would run with (Hydra's own loader, the same
    config tree); a mistake in the overrides is one ConfigError line."""
    return Composer().compose(list(overrides))


def train(model: Optional[str] = None, data: Any = None, overrides: Sequence[str] = (),
          run_dir: Optional[str | Path] = None, *, X: Any = None, y: Any = None,
          target: Optional[str] = None) -> TrainResult:
    """Train like ``qhybrid train model=<model> data=<data> <overrides>``; the run folder is
    ``run_dir`` or, as on the command line, a new one under ./outputs/. As on the command
    line, everything is checked before the folder is touched: a new run needs a new or
    empty folder, ``resume=`` an unfinished run with the same settings.

    Data in memory, no file: ``X`` (array or DataFrame) and ``y``, or ``data=<DataFrame>`` and
    ``target=<its label column>``; such a run refits a final model on every row after CV
    (``refit=true``, unless the overrides say otherwise), which ``qhybrid.load`` predicts with."""
    if isinstance(overrides, str) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(f"overrides={overrides!r} is not a list of strings",
                          "pass a list, e.g. overrides=['trainer.max_epochs=50']")
    frame = in_memory_table(X, y, data, target)
    if frame is not None:
        _refuse_file_only_keys(overrides)
        key = register(*frame)
        data = None
        overrides = ["data=memory", f"data.key={key}",
                     *([] if any(o.split("=")[0].lstrip("+~") == "refit" for o in overrides) else ["refit=true"]),
                     *overrides]
    elif data is not None and not isinstance(data, str):
        raise ConfigError(f"data={type(data).__name__} is neither a data set's name nor a DataFrame",
                          "pass data='iris' (an option), or a DataFrame with target=<its label column>")
    given = [*([f"model={model}"] if model else []), *([f"data={data}"] if data else []), *overrides]
    refuse_repeats(given)
    cfg = compose(given)
    job_cfg = job_config(cfg)  # what a Hydra job sees: the config without its hydra node
    spec = validate(job_cfg)
    if spec.resume is not None:
        out = Path(spec.resume)
        check_resume(out, job_cfg)
    else:
        out = Path(run_dir) if run_dir is not None else Path(str(cfg.hydra.run.dir))
        run_folder.check_new(out, "run_dir")
        run_folder.remember_new(out)
        write_text(out / ".hydra" / "config.yaml", OmegaConf.to_yaml(job_cfg))
        write_text(out / ".hydra" / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(given)))
    handler = _file_log(out)
    try:
        metrics = run_train(job_cfg, out)
    except QHybridError:
        handler.close()
        run_folder.discard_unused(out)  # a run refused before it finished anything leaves no folder
        raise
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    return TrainResult(metrics=metrics, run_dir=out)


def in_memory_table(X: Any, y: Any, data: Any, target: Optional[str]):
    """(the table, its label column) from X and y, or a DataFrame and its target; None when
    the data is a data set's name."""
    import numpy as np
    import pandas as pd

    if X is None and y is None and not isinstance(data, pd.DataFrame):
        if target is not None:
            raise ConfigError(f"target={target!r} is given without a table to name a column of",
                              "pass data=<DataFrame> with target=<its label column>, or drop target")
        return None
    if data is not None and not isinstance(data, pd.DataFrame):
        raise ConfigError(f"both data={data!r} and X, y are given", "pass one of them")
    if isinstance(data, pd.DataFrame):
        if X is not None or y is not None:
            raise ConfigError("both data=<DataFrame> and X, y are given", "pass one of them")
        if target not in data.columns:
            raise ConfigError(f"target={target!r} is not a column of the DataFrame (columns: "
                              f"{', '.join(map(str, data.columns[:8]))})", "name its label column: target=<name>")
        table = data.reset_index(drop=True).rename(columns=str)
        _check_columns(table)
        return table, str(target)
    if X is None or y is None:
        raise ConfigError("X and y go together", "pass both X=<features> and y=<labels or values>")
    if isinstance(X, pd.DataFrame):
        table = X.reset_index(drop=True).copy()
    else:
        values = np.asarray(X)
        if values.ndim != 2:
            raise ConfigError(f"X has shape {values.shape}, not rows x features", "pass a 2-d array or DataFrame")
        table = pd.DataFrame(values, columns=[f"x{i}" for i in range(values.shape[1])])
    labels = np.asarray(y)
    if labels.ndim != 1 or len(labels) != len(table):
        raise ConfigError(f"y has shape {labels.shape} for {len(table)} rows of X", "pass one label or value per row")
    table = table.rename(columns=str)
    _check_columns(table)
    name = str(target or (y.name if isinstance(y, pd.Series) and y.name is not None else "target"))
    if name in table.columns:
        raise ConfigError(f"X already has a column {name!r}, the name y would take", "pass target=<another name>")
    table[name] = labels
    return table, name


def _check_columns(table) -> None:
    if table.columns.duplicated().any():
        twice = sorted(set(table.columns[table.columns.duplicated()]))
        raise ConfigError(f"the table names more than one column {', '.join(map(repr, twice[:5]))}",
                          "give every column its own name")
    if len(table) == 0:
        raise ConfigError("the table has no rows", "pass at least a few rows per class")


def _refuse_file_only_keys(overrides: Sequence[str]) -> None:
    """A data.* key a table in memory has not (data.categorical, data.id_column, ...): Hydra's
    own message would say to pick data=csv, which a table in memory cannot."""
    from dataclasses import fields

    from qhybrid.data.memory import MemoryDataSpec

    known = {f.name for f in fields(MemoryDataSpec)}
    for override in overrides:
        key = override.split("=")[0].lstrip("+~")
        if key.startswith("data.") and key.split(".")[1] not in known:
            raise ConfigError(f"{key} is a key of data files, not of a table in memory",
                              "prepare the table in pandas first (e.g. pandas.get_dummies for categories, "
                              "drop the columns that are no features), then pass it")


def _file_log(out: Path) -> logging.Handler:
    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "train.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def load(run_dir: str | Path, checkpoint: str = "best", ensemble: bool = False):
    """A predictor for a run folder (qhybrid.predict.Predictor): ``predict(X)``,
    ``predict_proba(X)``, ``frame(X)``; ``checkpoint`` and ``ensemble`` as in ``qhybrid predict``.

    X is checked as ``qhybrid predict`` checks a CSV file: a DataFrame's columns are matched
    by name (the target column may be present), any other 2-D array-like must have the run's
    features in order (``predictor.feature_names``); text, NaN (unless the run imputes), inf
    or values float32 cannot hold are one QHybridError naming the column and row."""
    return Predictor(Path(run_dir), checkpoint, ensemble)
