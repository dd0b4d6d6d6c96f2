"""`qhybrid report <run or sweep folder> [metrics=roc_auc,accuracy,f1] [sort=<metric>]`.

One table for a run or a whole sweep: each run's overrides, its data set, the backend it
used, mean ± std of the chosen metrics over its folds, training time and parameter counts,
with its classical baselines as rows of their own right below it. Runs are compared only
with runs on the same data set: per data set, the best run by the first metric (or sort=)
is marked when that data set has at least two runs with a value of it, and the report says
so in words when a classical baseline scores better than the best hybrid. Jobs that failed
are listed with their error line; folders whose metrics.json qhybrid did not write are
skipped with a warning. Written to the terminal (rich), ``report.csv``, ``report.md`` and
a self-contained ``report.html`` (images embedded: a comparison plot with error bars, each
run's ROC, PR and learning curves).
"""

from __future__ import annotations

import errno
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from qhybrid.errors import QHybridError, first_line

USAGE = "usage: qhybrid report <run or sweep folder> [metrics=roc_auc,accuracy,f1] [sort=<metric>]"
DEFAULT_METRICS = ("roc_auc", "accuracy", "f1")
IMAGES = ("roc.png", "pr.png", "learning_curves.png", "trading_returns.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# the data config keys that say which rows and labels a run used (not how it preprocessed them):
# runs that differ in one of them ran on different data sets and are not compared
SOURCE_KEYS = ("path", "test_path", "target", "positive_class", "tickers", "prices_csv", "start", "end",
               "interval", "n_populations", "n_samples", "n_snps", "fst")
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
        from omegaconf import ListConfig, OmegaConf

        loaded = OmegaConf.load(folder / ".hydra" / "overrides.yaml")
        return [str(o) for o in loaded] if isinstance(loaded, ListConfig) else []
    except Exception:  # noqa: BLE001 - a missing or damaged overrides.yaml only loses the overrides column
        return []


def _drop_common_overrides(records: list[RunRecord]) -> list[str]:
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
        from omegaconf import DictConfig, OmegaConf

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
        for base, result in (m.get("baselines") or {}).items():
            folds = [f for f in result.get("folds") or [] if isinstance(f, dict)]
            seconds = [_number(f.get("train_seconds")) for f in folds]
            row = {**common, "model": str(base), "baseline": True, "backend": "",
                   "parameters": _number(result.get("n_parameters")),
                   "train_seconds": sum(s for s in seconds if s is not None) if folds else None}
            for name in metrics:
                row[f"{name}_mean"], row[f"{name}_std"] = _stat(result["summary"], name)
            record.rows.append(row)
        rows.extend(record.rows)
    return rows


def _lower_is_better(metric: str) -> bool:
    from qhybrid.schema import LOSS_LIKE

    return metric in LOSS_LIKE


def _scored(rows: list[dict[str, Any]], metric: str, baseline: bool) -> list[dict[str, Any]]:
    return [r for r in rows if r["baseline"] == baseline and r.get(f"{metric}_mean") is not None]


def _top(rows: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    pick = min if _lower_is_better(metric) else max
    return pick(rows, key=lambda r: r[f"{metric}_mean"])


def _by_data(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["data"], []).append(row)
    return groups


def mark_best(rows: list[dict[str, Any]], metric: str) -> dict[str, list[dict[str, Any]]]:
    """Per data set, the hybrid rows with the best mean of ``metric`` (lowest for a loss),
    marked ``best``. Only runs on the same data set are compared, and only when at least two
    of them have a value: a lone run is not the best of anything. Ties are all marked, unless
    every run ties (then none is better than another)."""
    best = {}
    for data, group in _by_data(rows).items():
        hybrids = _scored(group, metric, baseline=False)
        value = _top(hybrids, metric)[f"{metric}_mean"] if hybrids else None
        tied = [r for r in hybrids if r[f"{metric}_mean"] == value]
        if len(hybrids) < 2 or len(tied) == len(hybrids):
            continue
        best[data] = tied
        for row in tied:
            row["best"] = True
    return best


def _cell(row: dict[str, Any], name: str) -> str:
    mean, std = row.get(f"{name}_mean"), row.get(f"{name}_std")
    if mean is None:
        return "n/a"
    return f"{mean:.4f} ± {std:.4f}" if std is not None else f"{mean:.4f} ± n/a"


def _who(row: dict[str, Any]) -> str:
    return f"{row['model']} (run {row['run']})"


def _baselines_ahead(group: list[dict[str, Any]], top: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    """The baselines (each name once, its best row) whose mean beats the best hybrid's, best first."""
    lower = _lower_is_better(metric)
    ahead: dict[str, dict[str, Any]] = {}
    for row in _scored(group, metric, baseline=True):
        value = row[f"{metric}_mean"]
        if (value < top[f"{metric}_mean"]) if lower else (value > top[f"{metric}_mean"]):
            kept = ahead.get(row["model"])
            if kept is None or _top([kept, row], metric) is row:
                ahead[row["model"]] = row
    return sorted(ahead.values(), key=lambda r: r[f"{metric}_mean"], reverse=not lower)


def findings(rows: list[dict[str, Any]], metric: str, best: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What the table means, in words, one line per data set: its best run, a classical
    baseline that beats its best (or only) hybrid, a metric no run has, a missing baseline."""
    lines = []
    for data, group in _by_data(rows).items():
        hybrids = _scored(group, metric, baseline=False)
        if not hybrids:
            lines.append(f"{data}: no hybrid run has a value of {metric} (undefined on every fold, or not "
                         f"computed for this task): no run is compared by it")
            continue
        top = _top(hybrids, metric)
        if data in best:
            tied = best[data]
            lines.append(f"best run by {metric} on {data}: " + ", ".join(_who(r) for r in tied)
                         + f" {_cell(top, metric)} ({'tied, ' if len(tied) > 1 else ''}of {len(hybrids)} runs)")
        ahead = _baselines_ahead(group, top, metric)
        if ahead:
            how = "lower (better)" if _lower_is_better(metric) else "higher"
            lines.append(f"{data}: classical baselines score {how} than the best hybrid by {metric}: "
                         + ", ".join(f"{r['model']} {_cell(r, metric)}" for r in ahead)
                         + f" vs {_who(top)} {_cell(top, metric)}")
        elif not any(r["baseline"] for r in group):
            lines.append(f"{data}: no classical baseline ran beside the hybrid, so nothing shows whether its "
                         f"{metric} is good (train with baselines=[logreg,svc])")
    if not best and len(_scored(rows, metric, baseline=False)) > 1:
        lines.append(f"no run is marked best by {metric}: no data set has two runs with a value of it "
                     f"(runs on different data sets are not compared)")
    return lines


# -- the table's cells ----------------------------------------------------------------------------

COLUMNS = ("run", "model", "data", "overrides", "backend")


def _display(row: dict[str, Any], metrics: list[str]) -> list[str]:
    model = f"{row['model']} (baseline)" if row["baseline"] else row["model"] + (" ★ best" if row.get("best") else "")
    own = not row["baseline"]  # a baseline's row sits under its run's: run and overrides are not repeated
    seconds, parameters = row["train_seconds"], row["parameters"]
    return [row["run"] if own else "", model, row["data"], row["overrides"] if own else "",
            row["backend"], *(_cell(row, m) for m in metrics), f"{seconds:.1f}" if seconds is not None else "",
            f"{parameters:.0f}" if parameters is not None else ""]


def headers(metrics: list[str]) -> list[str]:
    return [*COLUMNS, *(f"{m} (mean ± std)" for m in metrics), "train s", "parameters"]


# -- command --------------------------------------------------------------------------------------

def _parse(args: list[str]) -> tuple[Path, list[str], Optional[str]]:
    folder, metrics, sort = None, list(DEFAULT_METRICS), None
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and key == "metrics":
            metrics = list(dict.fromkeys(m.strip() for m in value.split(",") if m.strip()))
            if not metrics:
                raise QHybridError("metrics= names no metric", "e.g. metrics=roc_auc,accuracy,f1")
        elif sep and key == "sort":
            sort = value.strip()
            if not sort:
                raise QHybridError("sort= names no metric", "e.g. sort=accuracy")
        elif not sep and folder is None:
            folder = Path(arg)
        else:
            raise QHybridError(f"unknown argument {arg!r}", USAGE.removeprefix("usage: "))
    if folder is None:
        raise QHybridError("a run or sweep folder is required", USAGE.removeprefix("usage: "))
    if folder.exists() and not folder.is_dir():
        raise QHybridError(f"{folder.resolve()} is a file, not a folder", "give the run or sweep folder that holds it")
    if not folder.is_dir():
        raise QHybridError(f"no such folder: {folder.resolve()}", "give a run folder or a sweep folder under outputs/")
    from qhybrid.schema import METRICS

    for name in metrics + ([sort] if sort else []):
        if name not in METRICS:
            raise QHybridError(f"metric {name!r} is not one qhybrid computes", f"use some of {', '.join(METRICS)}")
    return folder, metrics, sort


def _usable(root: Path, records: list[RunRecord]) -> list[RunRecord]:
    """The runs and failed jobs to report; one line of error when there are none."""
    if not records:
        raise QHybridError(f"{root} holds no run folders (no metrics.json, no .hydra/)",
                           "point at a folder written by qhybrid train (or train -m)")
    usable = [r for r in records if r.skipped is None]
    if not usable:
        others = f" (and {len(records) - 1} more like it)" if len(records) > 1 else ""
        raise QHybridError(records[0].skipped + others, NOT_QHYBRID_FIX)
    return usable


def _cannot_write(path: Path, err: OSError) -> QHybridError:
    reason = err.strerror or first_line(err)
    if err.errno == errno.EISDIR:
        fix = f"move the folder named {path.name} out of the way, or copy the sweep elsewhere and report the copy"
    elif err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        fix = "free disk space, or copy the sweep to another disk and report the copy"
    else:
        fix = "make the folder writable, or copy the sweep elsewhere (cp -r) and report the copy"
    return QHybridError(f"cannot write {path} ({reason})", fix)


# how each file the report writes begins: one that begins otherwise is the user's, and is kept
OWN_PREFIXES = {"report.csv": b"run,model,baseline,", "report.md": b"# qhybrid report",
                "report.html": b'<!DOCTYPE html><html><head><meta charset="utf-8"><title>qhybrid report'}


def _check_not_users(root: Path) -> None:
    for name, prefix in OWN_PREFIXES.items():
        path = root / name
        try:
            with open(path, "rb") as fh:
                start = fh.read(len(prefix))
        except (FileNotFoundError, IsADirectoryError):
            continue  # nothing to keep (a folder in the way fails at the write, with its own line)
        except OSError as err:
            raise _cannot_write(path, err) from err
        if start != prefix:
            raise QHybridError(f"{path} exists and was not written by qhybrid report: it is not overwritten",
                               f"move or rename your {name}, then run qhybrid report again")


def _write_all(root: Path, texts: dict[str, str]) -> None:
    from qhybrid import io

    _check_not_users(root)
    for name, text in texts.items():
        try:
            io.write_text(root / name, text)
        except OSError as err:
            raise _cannot_write(root / name, err) from err


def _print_table(title: str, rows: list[dict[str, Any]], metrics: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from qhybrid.console import get_console

    # Text, not str: a folder or override such as "[red]" or "[/]" is printed as written
    table = Table(title=Text(title), title_justify="left")
    for h in headers(metrics):
        table.add_column(Text(h), overflow="fold")
    for r in rows:
        style = "dim" if r["baseline"] else ("bold" if r.get("best") else None)
        table.add_row(*(Text(c) for c in _display(r, metrics)), style=style)
    console = get_console()
    if console.is_terminal:
        console.print(table)  # folded to the terminal's width
    else:  # a pipe or a log file gets the table whole, one line a row
        Console(file=sys.stdout, width=1000, highlight=False).print(table)


def _say(line: str) -> None:
    from rich.text import Text

    from qhybrid.console import get_console

    get_console().print(Text(line))  # literal: no markup, no emoji codes


def _warn(line: str) -> None:
    print(f"qhybrid: warning: {' '.join(line.split())}", file=sys.stderr)


def main(args: list[str]) -> int:
    if args and args[0] in ("-h", "--help"):
        print(USAGE + "\n\n" + __doc__.split("\n\n", 1)[1])
        return 0
    root, metrics, sort = _parse(args)
    key = sort or metrics[0]
    if key not in metrics:
        metrics.append(key)  # the column the best runs are chosen by is shown
    records = find_runs(root)
    usable = _usable(root, records)
    skipped = [r for r in records if r.skipped is not None]
    for record in skipped:
        _warn(f"skipped {record.skipped}")
    common = _drop_common_overrides(usable)
    rows = table_rows(usable, metrics)
    failures = [r for r in usable if r.metrics is None]
    notes = findings(rows, key, mark_best(rows, key))
    title = f"qhybrid report: {root}" + (f" (every run: {' '.join(common)})" if common else "")
    _print_table(title, rows, metrics)
    for line in notes:
        _say(line)
    for failure in failures:
        _say(f"failed: {failure.label} ({' '.join(failure.overrides)}): {failure.error}")
    from qhybrid.report_pages import csv_text, html_page, markdown

    texts = {"report.csv": csv_text(rows, failures + skipped, metrics),
             "report.md": markdown(rows, failures, metrics, title, notes, skipped),
             "report.html": html_page(usable, rows, failures, metrics, title, notes, skipped, warn=_warn)}
    _write_all(root, texts)
    _say(f"wrote {root / 'report.html'}, report.csv, report.md")
    return 0


def run(args: list[str]) -> int:
    """CLI entry: errors as one line."""
    from qhybrid.errors import exit_code_of

    return exit_code_of(main, args)
