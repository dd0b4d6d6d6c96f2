"""Keep freed memory in the process (glibc on Linux).

A training step allocates and frees the same few megabytes of state tensors over and over.
glibc serves blocks above its mmap threshold with fresh mappings and trims the heap when its
top is free, so every step pays the kernel's page faults again: on a 2-core machine that was
40% of a native-executor step at n=8, B=1024 (docs/benchmarks.md). Raising the mmap
threshold to its maximum and switching trimming off keeps those pages in the heap, the
effect PyTorch's CPU tuning guide gets from preloading jemalloc or tcmalloc.

The process then holds on to its peak heap until it exits, which is what a training or
benchmark process wants. `qhybrid train` and every `qhybrid bench` worker (all
implementations alike) call ``retain_freed_memory`` once at start; QHYBRID_MALLOC=default
leaves glibc's behaviour alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling on 64-bit systems (4 MiB * sizeof(long))
_TRIM_THRESHOLD = 2**30

_applied: bool | None = None


def retain_freed_memory() -> bool:
    """Apply the setting once; True when glibc accepted it."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if not sys.platform.startswith("linux") or os.environ.get("QHYBRID_MALLOC", "") == "default":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    return _applied
