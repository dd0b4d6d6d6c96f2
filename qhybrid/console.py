"""What the user sees on the terminal: log lines, training progress, the final table.

Rich output when stdout is a terminal; plain, grep-able lines otherwise (clusters, CI,
pipes). Errors go to stderr as one line (see qhybrid.cli).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

_console: Console | None = None

PLAIN_FORMAT = "[%(asctime)s][%(levelname)s] %(message)s"


def get_console() -> Console:
    global _console
    if _console is None or _console.file is not sys.stdout:
        _console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
        if not _console.is_terminal and "COLUMNS" not in os.environ:
            _console.width = 160  # logs and pipes: do not fold tables at 80 columns
    return _console


def is_interactive() -> bool:
    return get_console().is_terminal


def make_console_handler() -> logging.Handler:
    """Factory used by conf/hydra/job_logging/qhybrid.yaml."""
    if is_interactive():
        return RichHandler(console=get_console(), show_path=False, rich_tracebacks=False, markup=False)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(PLAIN_FORMAT, datefmt="%H:%M:%S"))
    return handler


def log_to_file_only(logger: logging.Logger, level: int, message: str, exc_info: BaseException | None = None) -> None:
    """Record a line in train.log without echoing it on the console (errors are printed once,
    on stderr; a traceback, when given, is kept in the log only)."""
    info = (type(exc_info), exc_info, exc_info.__traceback__) if exc_info is not None else None
    record = logger.makeRecord(logger.name, level, __file__, 0, message, None, info)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def fold_label(index: int, n_folds: int) -> str:
    """"fold 0 (1 of 5)": the fold's number as every file has it (fold_0.pt, folds.csv, the
    figures' legends), and where the run is."""
    return f"fold {index} ({index + 1} of {n_folds})"


class FoldProgress:
    """Progress over folds and epochs. Rich bar on a terminal, periodic log lines otherwise."""

    def __init__(self, n_folds: int, max_epochs: int, log: logging.Logger, every: int):
        self.n_folds, self.max_epochs, self.log, self.every = n_folds, max_epochs, log, every
        self._progress = None
        self._task = None

    def __enter__(self) -> FoldProgress:
        if is_interactive():
            self._progress = Progress(
                TextColumn("[bold]fold {task.fields[fold]} ({task.fields[place]} of {task.fields[n_folds]})"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("epochs · {task.fields[status]}"),
                TimeElapsedColumn(),
                console=get_console(),
                transient=True,
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def start_fold(self, fold: int) -> None:
        if self._progress is not None:
            if self._task is not None:
                self._progress.remove_task(self._task)
            self._task = self._progress.add_task(
                "fold", total=self.max_epochs, fold=fold, place=fold + 1, n_folds=self.n_folds, status="starting"
            )

    def epoch(self, fold: int, epoch: int, logs: Mapping[str, float], monitor: str) -> None:
        status = " ".join(f"{k}={v:.4f}" for k, v in logs.items() if k in ("train_loss", monitor))
        if self._progress is not None:
            self._progress.update(self._task, completed=epoch, status=status)
        elif epoch == 1 or epoch % self.every == 0:
            self.log.info("%s epoch %d/%d %s", fold_label(fold, self.n_folds), epoch, self.max_epochs, status)


@contextmanager
def fold_progress(n_folds: int, max_epochs: int, log: logging.Logger, every: int) -> Iterator[FoldProgress]:
    with FoldProgress(n_folds, max_epochs, log, every) as progress:
        yield progress


def _fmt(stat: Mapping[str, Any], with_std: bool) -> str:
    mean, std = stat.get("mean"), stat.get("std")
    if mean is None:
        return "n/a"
    return f"{mean:.4f} ± {std:.4f}" if with_std and std is not None else f"{mean:.4f}"


def print_summary(summary: Mapping[str, Mapping[str, Any]], n_folds: int, run_dir: str, title: str,
                  model: str = "model", baselines: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
                  parameters: Mapping[str, int] | None = None,
                  beside: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
                  notes: list[str] | None = None) -> None:
    """The run's metrics, mean ± std over folds, with the classical baselines' beside them;
    ``parameters``: each column's parameter count (the model's under ``model``); ``beside``:
    the same model's metrics under other conditions (eval_noise), next to its own column;
    ``baselines``' names are shown as given when they say what they are ("logreg (baseline)");
    ``notes``: lines printed under the table (the paired comparisons' verdicts)."""
    baselines, beside = baselines or {}, beside or {}
    over = f"mean ± std over {n_folds} folds" if n_folds > 1 else "test set (1 fold)"
    table = Table(title=f"{title}: {over}", title_justify="left")
    table.add_column("metric")
    table.add_column(model, justify="right")
    for name in beside:
        table.add_column(f"{model} {name}", justify="right")
    for name in baselines:
        table.add_column(name if name.endswith(")") else f"{name} (baseline)", justify="right")
    columns = [*beside.values(), *baselines.values()]
    for name, stat in summary.items():
        table.add_row(name, _fmt(stat, with_std=n_folds > 1),
                      *(_fmt(b.get(name, {}), with_std=n_folds > 1) for b in columns))
    if parameters:
        table.add_row("parameters", *(str(parameters.get(name, "")) for name in (model, *beside, *baselines)))
    console = get_console()
    console.print(table)
    for line in notes or ():
        console.print(line)
    console.print(f"run folder: {run_dir}")
