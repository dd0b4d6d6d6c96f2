"""The runs a report covers: each run folder under a root, its metrics.json (qhybrid's, or
skipped with a reason), the overrides it was started with, the data set it used (by its
source settings and file hashes), and one table row per model (the hybrid, then each
baseline)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from qhybrid.errors import first_line

IMAGES = ("roc.png", "pr.png", "confusion_matrix.png", "predicted_vs_true.png", "residuals.png", "learning_curves.png", "trading_returns.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# the data config keys that say which rows and labels a run used (not how it preprocessed them):
# runs that differ in one of them ran on different data sets and are not compared
SOURCE_KEYS = ("path", "test_path", "target", "positive_class", "tickers", "prices_csv", "start", "end",
               "interval", "n_populations", "n_samples", "n_snps", "fst", "key")
NOT_QHYBRID_FIX = ("point qhybrid report at a run or sweep folder written by qhybrid train (a damaged "
                   "metrics.json: run that job again)")


@dataclass
class RunRecord:
    folder: Path
    label: str  # the folder relative to the report's root
    overrides: list[str]
    metrics: Optional[dict[str, Any]] = None  # metrics.json; None for a failed job (or a skipped folder)
    error: Optional[str] = None
    rows: list[dict[str, Any]] = field(default_factory=list)  # the hybrid's row, then one per baseline
    skipped: Optional[str] = None  # why the folder is not a qhybrid run (its metrics.json is another tool's)
    data: str = ""  # the data set's name as the report shows it


def find_runs(root: Path) -> list[RunRecord]:
    """Every run folder under ``root`` (itself included): a folder with a .hydra/ config or
    a metrics.json. A folder with a config but no metrics.json is a job that failed (or is
    still running): its last error line comes from its log. A metrics.json that qhybrid did
    not write (another tool's, or damaged) leaves ``metrics`` None with ``error`` and
    ``skipped`` saying why."""
    folders = sorted({p.parent for p in root.rglob("metrics.json")} | {p.parent for p in root.rglob(".hydra")},
                     key=_natural)
    records = []
    for folder in folders:
        label = str(folder.relative_to(root)) if folder != root else (folder.resolve().name or str(folder))
        record = RunRecord(folder, label, _overrides(folder))
        path = folder / "metrics.json"
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            record.error = _error_line(folder)
        except (OSError, ValueError) as err:  # ValueError: not JSON, or not UTF-8
            record.error = record.skipped = f"{path} is unreadable ({first_line(err, 120)})"
        else:
            problem = _shape_problem(loaded)
            if problem is None:
                record.metrics = loaded
            else:
                record.error = record.skipped = f"{path} is not a metrics.json written by qhybrid ({problem})"
        records.append(record)
    return records


def _shape_problem(m: Any) -> Optional[str]:
    """Why ``m`` is not the metrics.json of a qhybrid run; None when it is one."""
    if not isinstance(m, dict):
        return f"its top level is a JSON {type(m).__name__}, not an object"
    missing = [key for key in ("summary", "model", "timing") if not isinstance(m.get(key), dict)]
    if missing:
        return "no " + ", ".join(repr(key) for key in missing) + (" section" if len(missing) == 1 else " sections")
    if not isinstance(m["model"].get("name"), str):
        return "no model name"
    if not all(isinstance(stat, dict) or stat is None for stat in m["summary"].values()):
        return "its 'summary' is not {metric: {mean, std}}"
    baselines = m.get("baselines") or {}
    if not isinstance(baselines, dict) or not all(
            isinstance(b, dict) and isinstance(b.get("summary"), dict) for b in baselines.values()):
        return "its 'baselines' is not {name: {summary: ...}}"
    return None


def _natural(path: Path) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.parts)


def _overrides(folder: Path) -> list[str]:
    try:
        from omegaconf import ListConfig, OmegaConf  # lazy: `qhybrid report --help` imports this module

        loaded = OmegaConf.load(folder / ".hydra" / "overrides.yaml")
        return [str(o) for o in loaded] if isinstance(loaded, ListConfig) else []
    except Exception:  # noqa: BLE001 - a missing or damaged overrides.yaml only loses the overrides column
        return []


def drop_common_overrides(records: list[RunRecord]) -> list[str]:
    """Overrides every run shares say nothing about how they differ: keep them out of the
    table (the title names them). Returns the shared ones."""
    if len(records) < 2:
        return []
    common = set(records[0].overrides).intersection(*(r.overrides for r in records[1:]))
    for record in records:
        record.overrides = [o for o in record.overrides if o not in common]
    return sorted(common)


def _error_line(folder: Path) -> str:
    """The last ERROR line of the job's log (qhybrid writes the one-line error there)."""
    for log in sorted(folder.glob("*.log")):
        try:
            text = log.read_text(errors="replace")
        except OSError:
            continue
        errors = [line for line in text.splitlines() if "[ERROR]" in line]
        if errors:
            return errors[-1].split("[ERROR]", 1)[1].strip()
    return "no metrics.json and no error in the log: the job failed before writing, or is still running"


def _number(value: Any) -> Optional[float]:
    """A finite number, else None (null, NaN, a string, a bool in a hand-edited file)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _section(m: dict[str, Any], key: str) -> dict[str, Any]:
    value = m.get(key)
    return value if isinstance(value, dict) else {}


def _stat(summary: dict[str, Any], name: str) -> tuple[Optional[float], Optional[float]]:
    stat = summary.get(name)
    if not isinstance(stat, dict):
        return None, None
    mean = _number(stat.get("mean"))
    return mean, (_number(stat.get("std")) if mean is not None else None)


# -- which data set a run used ------------------------------------------------------------------

def _hydra_data(folder: Path) -> dict[str, Any]:
    """The data section of the run's .hydra/config.yaml ({} when there is none)."""
    try:
        from omegaconf import DictConfig, OmegaConf  # lazy: `qhybrid report --help` imports this module

        data = OmegaConf.load(folder / ".hydra" / "config.yaml").get("data")
        if not isinstance(data, DictConfig):
            return {}
        try:
            return OmegaConf.to_container(data, resolve=True)
        except Exception:  # noqa: BLE001 - e.g. an interpolation to a resolver not registered here
            return OmegaConf.to_container(data, resolve=False)
    except Exception:  # noqa: BLE001 - a run written by the Python API has no .hydra/
        return {}


def _data_source(record: RunRecord) -> dict[str, Any]:
    """The data set's name and the keys that pick its rows and labels: metrics.json's data
    block over the run's Hydra config (a run of the Python API has only the first, an older
    run only the second)."""
    block = record.metrics.get("data")
    block = {"name": block} if isinstance(block, str) else block
    merged = {**_hydra_data(record.folder), **(block if isinstance(block, dict) else {})}
    files = merged.pop("files", None)  # absolute paths: the same relative path from two folders is two files
    if isinstance(files, dict):
        merged.update({str(k).removeprefix("data."): v for k, v in files.items()})
    return {key: value for key, value in merged.items()
            if (key == "name" or key in SOURCE_KEYS) and value is not None and value != "???"}


def _data_key(record: RunRecord, source: dict[str, Any]) -> tuple:
    m = record.metrics
    block = m.get("data")
    if isinstance(block, dict) and isinstance(block.get("key"), str):  # the run's own: files by content
        return str(source.get("name", "")), block["key"], json.dumps(m.get("classes"), default=str)
    classes = m.get("classes")
    key = (str(source.get("name", "")), json.dumps({k: v for k, v in source.items() if k != "name"},
                                                   sort_keys=True, default=str),
           json.dumps(classes if isinstance(classes, list) else None, default=str))
    if not source.get("name"):  # nothing names it: only the same shape counts as the same data set
        key += (m.get("n_samples"), m.get("n_features"))
    return key


def _name_data_sets(records: list[RunRecord]) -> None:
    """Sets each finished record's ``data``: one distinct text per data set, the config's name
    plus what tells apart two data sets of that name (e.g. csv path=a.csv / csv path=b.csv)."""
    finished = [r for r in records if r.metrics is not None]
    sources = {id(r): _data_source(r) for r in finished}
    keys = {id(r): _data_key(r, sources[id(r)]) for r in finished}
    names: dict[tuple, str] = {}
    for record in finished:
        key, source = keys[id(record)], sources[id(record)]
        if key in names:
            record.data = names[key]
            continue
        name = str(source.get("name") or "unnamed data set")
        siblings = [sources[id(r)] for r in finished if keys[id(r)] != key and keys[id(r)][0] == key[0]]
        varying = [k for k in source if k != "name" and any(s.get(k) != source[k] for s in siblings)]
        text = f"{name} ({', '.join(f'{k}={source[k]}' for k in varying)})" if varying else name
        if text in names.values():  # the same config, other labels or rows: still another data set
            text = f"{text} #{sum(1 for t in names.values() if t == text or t.startswith(text + ' #')) + 1}"
        names[key] = record.data = text


# -- rows -----------------------------------------------------------------------------------------

def table_rows(records: list[RunRecord], metrics: list[str]) -> list[dict[str, Any]]:
    """Flat rows: per finished run the hybrid, then its baselines; failed jobs last."""
    _name_data_sets(records)
    rows = []
    for record in records:
        if record.metrics is None:
            continue
        m = record.metrics
        common = {"run": record.label, "overrides": " ".join(record.overrides), "data": record.data,
                  "backend": str(_section(m, "backend").get("name") or ""),
                  "folds": _section(m, "cv").get("n_folds")}
        hybrid = {**common, "model": m["model"]["name"], "baseline": False,
                  "parameters": _number(m["model"].get("n_parameters")),
                  "train_seconds": _number(m["timing"].get("train_seconds"))}
        for name in metrics:
            hybrid[f"{name}_mean"], hybrid[f"{name}_std"] = _stat(m["summary"], name)
        record.rows = [hybrid]
        evaluation = m.get("evaluation")
        if isinstance(evaluation, dict) and isinstance(evaluation.get("summary"), dict):  # eval_noise / eval_shots
            tested = {**hybrid, "model": f"{hybrid['model']} ({evaluation.get('label', 'tested under noise')})",
                      "train_seconds": None, "tested_under": evaluation.get("tested_under", "noise")}
            for name in metrics:
                tested[f"{name}_mean"], tested[f"{name}_std"] = _stat(evaluation["summary"], name)
            record.rows.append(tested)
        for control, result in (m.get("controls") or {}).items():
            record.rows.append(_comparator_row(common, str(control), result, metrics, control=True))
        for base, result in (m.get("baselines") or {}).items():
            record.rows.append(_comparator_row(common, str(base), result, metrics, control=False))
        rows.extend(record.rows)
    return rows


def _comparator_row(common: dict[str, Any], name: str, result: dict[str, Any], metrics: list[str],
                    control: bool) -> dict[str, Any]:
    """A baseline's or a control's row under its run's (never ranked with the runs)."""
    folds = [f for f in result.get("folds") or [] if isinstance(f, dict)]
    seconds = [_number(f.get("train_seconds")) for f in folds]
    row = {**common, "model": name, "baseline": True, "control": control,
           "backend": common["backend"] if control else "", "parameters": _number(result.get("n_parameters")),
           "train_seconds": sum(s for s in seconds if s is not None) if folds else None}
    for metric in metrics:
        row[f"{metric}_mean"], row[f"{metric}_std"] = _stat(result["summary"], metric)
    return row


