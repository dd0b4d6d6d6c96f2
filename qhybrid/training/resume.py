"""Resuming an interrupted run: each finished fold is recorded atomically, as plain JSON
(never a pickle: a run folder someone hands you cannot run code), and a resumed run
reloads those folds instead of training them again.

Folds are seeded independently (qhybrid.training.seeding), so the folds a resumed run
trains give what they would have given in one uninterrupted run, and its final metrics
are the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from qhybrid import digest, io
from qhybrid.errors import ConfigError, DataError, first_line
from qhybrid.run_folder import alive
from qhybrid.training.checkpoints import load_weights_only
from qhybrid.training.outcome import FoldOutcome
from qhybrid.training.plots import FoldCurves

RECORD_KEYS = frozenset({"row", "predictions", "curves", "daily", "baselines"})
CONFIG_FILE = "run_config.json"  # the settings a run started with (resume compares against them)


def _record_path(out: Path, fold: int) -> Path:
    return out / "folds" / f"fold_{fold}.json"


def epoch_state_path(out: Path, fold: int) -> Path:
    """An unfinished fold's last-epoch state (qhybrid.training.epoch_state)."""
    return out / "folds" / f"fold_{fold}.epoch.pt"


def _curves(curves) -> Optional[dict[str, Any]]:
    if curves is None:
        return None
    return {"y_true": curves.y_true.tolist(), "proba": np.asarray(curves.proba).tolist(), "history": curves.history,
            "best_epoch": curves.best_epoch}


def _frame(frame: Optional[pd.DataFrame], index: bool = False) -> Optional[dict[str, list]]:
    if frame is None:
        return None
    if index:
        frame = frame.reset_index()
    return {str(c): [v.isoformat() if isinstance(v, pd.Timestamp) else v for v in frame[c].tolist()]
            for c in frame.columns}


def save_fold(out: Path, fold: int, outcome) -> None:
    """Record a finished fold (its row, predictions, curves, finance days, baselines)."""
    record = {"row": outcome.row, "predictions": _frame(outcome.predictions), "curves": _curves(outcome.curves),
              "daily": _frame(outcome.daily, index=True),
              "baselines": {name: [row, _curves(curves)] for name, (row, curves) in outcome.baselines.items()}}
    plain = json.loads(json.dumps(io._json_safe(record)))  # as it will read back (NaN as null)
    io.write_json(_record_path(out, fold), digest.sign(plain))


def load_fold(out: Path, fold: int):
    """A finished fold's outcome, or None when the fold did not finish."""
    path = _record_path(out, fold)
    if not path.is_file():
        return None
    record = _read_record(path)
    try:
        return _outcome(record)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise DataError(f"resume: {path} is not a readable fold record ({type(err).__name__}: {first_line(err, 120)})",
                        f"delete {path} to train that fold again (the other folds are kept)") from None


def _outcome(record: dict[str, Any]):
    def row(values: dict[str, Any]) -> dict[str, Any]:
        return {k: float("nan") if v is None else v for k, v in values.items()}  # JSON wrote NaN as null

    def curves(data):
        if data is None:
            return None
        y_true = np.asarray(data["y_true"])  # JSON keeps class indices whole and a regression's values real
        y_true = y_true.astype(np.int64 if y_true.dtype.kind in "iu" else np.float64)
        return FoldCurves(y_true, np.asarray(data["proba"], dtype=np.float64),
                          [row(epoch) for epoch in data["history"]], data["best_epoch"])

    daily = None
    if record["daily"] is not None:
        daily = pd.DataFrame(record["daily"])
        daily = daily.set_index(pd.to_datetime(daily.pop(daily.columns[0])).rename("date"))
    baselines = {name: (row(base_row), curves(base_curves))
                 for name, (base_row, base_curves) in record["baselines"].items()}
    return FoldOutcome(row(record["row"]), curves(record["curves"]), pd.DataFrame(record["predictions"]), daily,
                       baselines)


def check_records(out: Path) -> None:
    """Every finished fold's record and every unfinished fold's epoch state can be read: a
    damaged one refuses the resume before anything in the folder is written."""
    for path in sorted((out / "folds").glob("fold_*.json")):
        if path.stem.removeprefix("fold_").isdigit():
            load_fold(out, int(path.stem.removeprefix("fold_")))
    for path in sorted((out / "folds").glob("fold_*.epoch.pt")):
        load_weights_only(path, "epoch checkpoint", f"delete {path} to train that fold from its first epoch")


def _read_record(path: Path) -> dict[str, Any]:
    """A fold record as written by save_fold; anything else (edited, truncated by a full
    disk, another tool's file) is one line naming it."""
    fix = f"delete {path} to train that fold again (the other folds are kept)"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"resume: {path} is not a readable fold record ({first_line(err, 120)})", fix) from None
    if isinstance(record, dict) and not digest.intact(record):
        raise DataError(f"resume: {path} was changed after qhybrid wrote it (its content no longer matches its "
                        "digest)", fix)
    if not isinstance(record, dict) or not RECORD_KEYS <= set(record):
        raise DataError(f"resume: {path} is not a fold record of qhybrid (it lacks "
                        f"{', '.join(sorted(RECORD_KEYS - set(record) if isinstance(record, dict) else RECORD_KEYS))})",
                        fix)
    return record


def remove_stale_temp_files(out: Path) -> None:
    """A SIGKILL mid-write leaves the temp file of an atomic write (qhybrid.io); the file
    it was replacing is whole. Remove those of processes that are gone."""
    for tmp in out.rglob(".*.tmp"):
        pid = tmp.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not alive(int(pid)):
            tmp.unlink(missing_ok=True)


# settings a resumed run may change: none of them changes a result
NOT_COMPARED = ("resume", "hydra", "logger", "trainer.epoch_checkpoint_seconds", "plots")


def _comparable(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    return {k: _comparable(v, f"{prefix}{k}.") if isinstance(v, dict) else v for k, v in config.items()
            if f"{prefix}{k}" not in NOT_COMPARED}


def save_config(out: Path, config: dict[str, Any]) -> None:
    io.write_json(out / CONFIG_FILE, {**_comparable(config), **_calibrations(config)})


def _calibrations(config: dict[str, Any]) -> dict[str, Any]:
    """The content of the calibration files the noise settings name: a file edited between a
    run's start and its resume would give its folds different noise under one name."""
    from qhybrid.summary import file_sha256  # lazy: the summary module imports the training modules

    found = {}
    for key, node in (("backend.noise.from", (config.get("backend") or {}).get("noise")),
                      ("eval_noise.from", config.get("eval_noise"))):
        source = (node or {}).get("from") if isinstance(node, dict) else None
        if source and Path(str(source)).expanduser().is_file():
            found[key] = file_sha256(Path(str(source)).expanduser())
    return {"calibration_sha256": found} if found else {}


# keys added after runs were made, and the value that does what those runs did
LATER_KEYS = {"controls": lambda v: not v, "repeats": lambda v: v == 1,
              "search": lambda v: not (v or {}).get("budget"), "refit": lambda v: v is False}


def check_same_config(out: Path, config: dict[str, Any]) -> None:
    """A resumed run must have the settings the run started with: name the first difference."""
    path = out / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"resume={out}: the folder has no {CONFIG_FILE} (not a run of this qhybrid version)",
                          "start a new run")
    before = json.loads(path.read_text())
    now = json.loads(json.dumps(io._json_safe({**_comparable(config), **_calibrations(config)})))
    for key, idle in LATER_KEYS.items():  # a run started before a key existed ran as if it were idle
        if key not in before and key in now and idle(now[key]):
            before[key] = now[key]
    difference = _first_difference(before, now)
    if difference:
        key, old, new = difference
        raise ConfigError(f"resume={out}: the run was started with {key}={old!r}, this command has {key}={new!r}",
                          "repeat the run's original overrides (its .hydra/overrides.yaml) with resume=<folder>")


def _first_difference(old: Any, new: Any, prefix: str = "") -> Optional[tuple[str, Any, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            found = _first_difference(old.get(key), new.get(key), f"{prefix}{key}.")
            if found:
                return found
        return None
    return None if old == new else (prefix.rstrip("."), old, new)
