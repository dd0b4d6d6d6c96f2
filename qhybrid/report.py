"""`qhybrid report <run or sweep folder> [metrics=roc_auc,accuracy,f1] [sort=<metric>]`.

One table for a run or a whole sweep: each run's overrides, its data set, the backend it
used, mean ± std of the chosen metrics over its folds (by default the runs' own: roc_auc,
accuracy, f1 for classification, r2, rmse, mae for regression, both for a mixed sweep),
training time and parameter counts,
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
import sys
from pathlib import Path
from typing import Any, Optional

from rich.console import Console
from rich.table import Table
from rich.text import Text

from qhybrid import io
from qhybrid.console import get_console
from qhybrid.errors import QHybridError, exit_code_of, first_line
from qhybrid.report_pages import csv_text, html_page, markdown
from qhybrid.report_runs import NOT_QHYBRID_FIX, RunRecord, drop_common_overrides, find_runs, table_rows
from qhybrid.report_table import comparison_notes, display, findings, headers, mark_best
from qhybrid.training.metrics import METRICS

USAGE = "usage: qhybrid report <run or sweep folder> [metrics=roc_auc,accuracy,f1] [sort=<metric>]"
DEFAULT_METRICS = ("roc_auc", "accuracy", "f1")
REGRESSION_DEFAULTS = ("r2", "rmse", "mae")


def _parse(args: list[str]) -> tuple[Path, Optional[list[str]], Optional[str]]:
    folder, metrics, sort = None, None, None
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
    for name in (metrics or []) + ([sort] if sort else []):
        if name not in METRICS:
            raise QHybridError(f"metric {name!r} is not one qhybrid computes", f"use some of {', '.join(METRICS)}")
    return folder, metrics, sort


def _default_metrics(records: list[RunRecord]) -> list[str]:
    """The metrics of the runs' tasks: a regression run has no roc_auc, a classifier no r2."""
    tasks = {str(r.metrics.get("task")) for r in records if r.metrics is not None}
    regression = "regression" in tasks
    classes = bool(tasks - {"regression"}) or not regression
    return [*(DEFAULT_METRICS if classes else ()), *(REGRESSION_DEFAULTS if regression else ())]


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
    _check_not_users(root)
    for name, text in texts.items():
        try:
            io.write_text(root / name, text)
        except OSError as err:
            raise _cannot_write(root / name, err) from err


def _print_table(title: str, rows: list[dict[str, Any]], metrics: list[str]) -> None:
    # Text, not str: a folder or override such as "[red]" or "[/]" is printed as written
    table = Table(title=Text(title), title_justify="left")
    for h in headers(metrics):
        table.add_column(Text(h), overflow="fold")
    for r in rows:
        style = "dim" if r["baseline"] else ("bold" if r.get("best") else None)
        table.add_row(*(Text(c) for c in display(r, metrics)), style=style)
    console = get_console()
    if console.is_terminal:
        console.print(table)  # folded to the terminal's width
    else:  # a pipe or a log file gets the table whole, one line a row
        Console(file=sys.stdout, width=1000, highlight=False).print(table)


def _say(line: str) -> None:
    get_console().print(Text(line))  # literal: no markup, no emoji codes


def _warn(line: str) -> None:
    print(f"qhybrid: warning: {' '.join(line.split())}", file=sys.stderr)


def main(args: list[str]) -> int:
    if args and args[0] in ("-h", "--help"):
        print(USAGE + "\n\n" + __doc__.split("\n\n", 1)[1])
        return 0
    root, metrics, sort = _parse(args)
    records = find_runs(root)
    usable = _usable(root, records)
    metrics = metrics or _default_metrics(usable)
    key = sort or metrics[0]
    if key not in metrics:
        metrics.append(key)  # the column the best runs are chosen by is shown
    skipped = [r for r in records if r.skipped is not None]
    for record in skipped:
        _warn(f"skipped {record.skipped}")
    common = drop_common_overrides(usable)
    rows = table_rows(usable, metrics)
    failures = [r for r in usable if r.metrics is None]
    notes = findings(rows, key, mark_best(rows, key)) + comparison_notes(usable)
    title = f"qhybrid report: {root}" + (f" (every run: {' '.join(common)})" if common else "")
    _print_table(title, rows, metrics)
    for line in notes:
        _say(line)
    for failure in failures:
        _say(f"failed: {failure.label} ({' '.join(failure.overrides)}): {failure.error}")
    texts = {"report.csv": csv_text(rows, failures + skipped, metrics),
             "report.md": markdown(rows, failures, metrics, title, notes, skipped),
             "report.html": html_page(usable, rows, failures, metrics, title, notes, skipped, warn=_warn)}
    _write_all(root, texts)
    _say(f"wrote {root / 'report.html'}, report.csv, report.md")
    return 0


def run(args: list[str]) -> int:
    """CLI entry: errors as one line."""
    return exit_code_of(main, args)
