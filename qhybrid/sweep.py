"""Failed jobs of a sweep, whatever launcher ran them.

A job that fails (one-line error) leaves its folder with its config and log but no
metrics.json. Jobs of a parallel launcher (joblib, submitit) run in other processes, so the
sweep's own process learns about failures by reading the sweep folder when Hydra ends the
multirun (``FailedJobs``, a Hydra callback configured in conf/config.yaml).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from qhybrid.report import find_runs

FAILED: list[str] = []  # "<job folder>: <error line>" of the sweep that just ended


def failed_jobs(sweep_dir: Path) -> list[str]:
    if not sweep_dir.is_dir():
        return []
    return [f"{record.label}: {record.error}" for record in find_runs(sweep_dir) if record.metrics is None]


class FailedJobs(Callback):
    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        FAILED[:] = failed_jobs(Path(config.hydra.sweep.dir))
