"""How many intra-op threads a run computes with (trainer.threads).

A small circuit's step is a few hundred tensor operations on kilobytes: torch's thread pool
only adds hand-offs, and when another process competes for the cores its spinning workers
wait for each other — a (4 qubits, batch 64) step fell 55x with 2 threads on a busy 2-core
machine, and not at all with one (docs/benchmarks.md, "Threads"). So ``auto`` computes on
one thread below ``SMALL_STATE`` amplitudes per batch, and leaves torch's own count
(``OMP_NUM_THREADS`` or the cores) above it, less the cores other processes keep busy (the
last minute's load average). An explicit count, QHYBRID_THREADS, or a parallel launcher's one
thread per job (qhybrid.cli) come first.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional

import torch
from threadpoolctl import threadpool_limits

log = logging.getLogger("qhybrid")

# amplitudes per batch (batch_size x 2^n_qubits) below which one thread is faster: measured
# with `python scripts/thread_threshold.py` (docs/benchmarks.md, "Threads")
SMALL_STATE = 2**16
# a classical model's widest layer x batch below which one thread is faster (same script)
SMALL_CLASSICAL = 2**16

# (threads, why) when the launcher or QHYBRID_THREADS fixed the count for this job (qhybrid.cli)
_fixed: Optional[tuple[int, str]] = None
# torch's own count (OMP_NUM_THREADS or the cores), read before any run of this process sets one:
# a large run after a small one (a sweep's jobs, the Python API) gets it back
_torch_default = torch.get_num_threads()


def fix(threads: Optional[int], why: str = "") -> None:
    """The count a job was given before its config was read (None: nothing fixed)."""
    global _fixed
    _fixed = None if threads is None else (threads, why)
    if threads is not None:
        apply(threads)


def apply(threads: int) -> None:
    torch.set_num_threads(threads)
    threadpool_limits(threads)  # numpy's and scikit-learn's BLAS / OpenMP pools


def work_size(batch_size: int, n_qubits: Optional[int], widest_layer: int) -> int:
    """The numbers one step computes with, per layer: amplitudes for a circuit, else activations."""
    return batch_size * (2**n_qubits if n_qubits is not None else widest_layer)


def choose(wanted: Any, work: int, quantum: bool) -> tuple[int, str]:
    """(threads, why) for trainer.threads=``wanted`` and a step of ``work`` numbers."""
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        return wanted, "trainer.threads"
    if _fixed is not None:
        return _fixed
    small = SMALL_STATE if quantum else SMALL_CLASSICAL
    if work < small:
        return 1, f"trainer.threads=auto: {work:,} numbers per step is overhead-bound (< {small:,})"
    idle = _idle_cores()
    if idle < _torch_default:
        return idle, (f"trainer.threads=auto: {work:,} numbers per step, but other processes keep "
                      f"{os.cpu_count() - idle} of {os.cpu_count()} cores busy")
    return _torch_default, f"trainer.threads=auto: {work:,} numbers per step"


def _idle_cores() -> int:
    """Cores the last minute's load leaves free (at least one): a thread pool wider than that
    waits on its busiest thread, and a step ran 2-3x slower on 2 threads than on 1 beside one
    CPU-bound process, at every size measured."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return cores
    return max(1, min(cores, cores - round(load)))


def use(wanted: Any, work: int, quantum: bool) -> int:
    """Set and log the run's thread count; returns it (metrics.json records it)."""
    threads, why = choose(wanted, work, quantum)
    apply(threads)
    log.info("threads: %d (%s)", threads, why)
    return threads
