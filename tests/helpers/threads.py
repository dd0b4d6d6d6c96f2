"""One compute thread pool per core, not per process.

``pytest -n auto`` starts a worker per core, and torch, OpenMP and BLAS each start a pool of
a thread per core in every process: in every worker and in every ``qhybrid`` process a test
starts. On a 2-core machine that is 4 to 6 spinning threads per core, and a training run
takes three to four times as long as it does alone. So each worker (and everything it
starts, which inherits its environment) computes on its share of the cores, as qhybrid's own
parallel sweeps do (qhybrid.cli._limit_threads). A value set in the environment is kept.

This module imports nothing heavy: it must run before numpy or torch load their thread pools.
"""

from __future__ import annotations

import os

VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def threads_per_worker() -> int | None:
    """The cores per xdist worker; None outside xdist (one process has every core)."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not workers or "PYTEST_XDIST_WORKER" not in os.environ:
        return None
    return max(1, (os.cpu_count() or 1) // max(1, int(workers)))


def share_the_cores() -> None:
    threads = threads_per_worker()
    if threads is None:
        return
    for name in VARIABLES:
        os.environ.setdefault(name, str(threads))
