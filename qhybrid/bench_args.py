"""`qhybrid bench`'s options checked before anything is timed: a bad value is one line, and
where the tables go is settled first, so a finished bench never fails on its folder or
replaces an earlier one's."""

from __future__ import annotations

import math
import os
from datetime import datetime
from pathlib import Path

from qhybrid.errors import QHybridError


def check_numbers(args) -> None:
    """--rounds, --threads (QHYBRID_THREADS when not given), --min-seconds, --cap-seconds, --timeout."""
    from qhybrid.training.spec import MAX_THREADS, env_threads

    if args.rounds < 1:
        raise QHybridError("--rounds must be at least 1", "e.g. --rounds 3")
    if args.threads is None:
        args.threads = env_threads()  # as a training run would: the count this machine's user asked for
    elif not 1 <= args.threads <= MAX_THREADS:
        raise QHybridError(f"--threads {args.threads} is not a count of threads",
                           f"give 1 to {MAX_THREADS}, e.g. --threads 1, or leave it out")
    for flag, value in (("--min-seconds", args.min_seconds), ("--cap-seconds", args.cap_seconds),
                        ("--timeout", args.timeout)):
        if not (math.isfinite(value) and value > 0):
            raise QHybridError(f"{flag} {value:g} is not a positive number of seconds", f"e.g. {flag} 2")


def check_impls(args, asked: list[str], noise_impls: list[str]) -> None:
    """--noise times the noise implementations; and something the user asked for must be left
    to time (pennylane_jax alone, without jax, is not a bench)."""
    if args.noise and (noiseless := [i for i in asked if i not in noise_impls]):
        raise QHybridError(f"--noise times steps under noise, and {', '.join(noiseless)} is noiseless",
                           f"with --noise pick from {', '.join(noise_impls)}, or drop --noise")
    if asked and not any(impl in args.impls for impl in asked):
        raise QHybridError(f"nothing of --impls {' '.join(asked)} can run here", "see the line above for why")


def out_folder(value: str | None) -> Path:
    """The folder for bench.json and bench.md: --out, which must not hold a bench's tables
    already, or a new folder under outputs/bench/ named by the start time."""
    if value is None:
        base = Path("outputs") / "bench" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        out, n = base, 1
        while out.exists():  # two benches started in the same second
            n += 1
            out = base.with_name(f"{base.name}_{n}")
    else:
        out = Path(value).expanduser()
    if out.exists() and not out.is_dir():
        raise QHybridError(f"--out {value}: {out} is a file, not a folder", "name a new folder")
    taken = [name for name in ("bench.json", "bench.md") if (out / name).exists()]
    if taken:
        raise QHybridError(f"--out {value}: {out} already holds {' and '.join(taken)} of an earlier bench",
                           "name a new folder (nothing is overwritten)")
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not (existing.is_dir() and os.access(existing, os.W_OK)):
        raise QHybridError(f"--out {value}: cannot create it under {existing}", "name a folder you can write to")
    return out
