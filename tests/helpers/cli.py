"""Running ``qhybrid <command>``: in a subprocess, or in this process.

A new interpreter pays a few seconds just to import torch, PennyLane and scikit-learn, so
tests run the command in this process (``run_in_process``: ``qhybrid.cli.main``, the function
the console script calls) unless the process boundary is what they test: the installed console
script, what the interpreter prints when it dies, signals, resuming a killed run, a fresh
process reproducing stored numbers. Those use ``run_cli``.

Both return a ``CliResult`` (``returncode``, ``stdout``, ``stderr``; it also unpacks as a tuple).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import signal
import subprocess
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import NamedTuple

import pytest

# never on in tests: both turn one-line errors into tracebacks
DEBUG_VARIABLES = ("HYDRA_FULL_ERROR", "QHYBRID_DEBUG")


class CliResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def qhybrid_executable() -> str:
    beside = Path(sys.executable).with_name("qhybrid")
    found = str(beside) if beside.exists() else shutil.which("qhybrid")
    if not found:
        pytest.fail("the qhybrid console script is not installed: run `make test` (it installs the package)")
    return found


def subprocess_env(env: dict | None = None) -> dict[str, str]:
    full = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    for key in DEBUG_VARIABLES:
        full.pop(key, None)
    return full


def run_cli(args: list[str], cwd: Path, env: dict | None = None, timeout: float = 900) -> CliResult:
    """The installed console script in a new process. The timeout only stops a hung test run
    from hanging CI: it is far above what any command here needs, even on a loaded machine."""
    done = subprocess.run([qhybrid_executable(), *args], cwd=cwd, env=subprocess_env(env), capture_output=True,
                          text=True, timeout=timeout)
    return CliResult(done.returncode, done.stdout, done.stderr)


def run_in_process(args: list[str], cwd: Path | None = None, env: dict | None = None) -> CliResult:
    """``qhybrid <args>`` in this process, as the console script runs it: the exit code is what
    the process would exit with (an uncaught exception is 1, its traceback on stderr), stdout
    and stderr are what it would print. Everything the command changes for the process (cwd,
    environment, logging, the SIGTERM handler, Hydra's global state, torch's thread count and
    determinism flag) is put back afterwards."""
    from hydra.core.global_hydra import GlobalHydra

    from qhybrid.cli import main

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    sigterm = signal.getsignal(signal.SIGTERM)
    environ, here, argv = dict(os.environ), os.getcwd(), list(sys.argv)
    torch = sys.modules.get("torch")
    torch_state = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) if torch else None
    out, err = io.StringIO(), io.StringIO()
    try:
        for key in DEBUG_VARIABLES:
            os.environ.pop(key, None)
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as stop:
                code = stop.code
            except Exception:  # noqa: BLE001 - what the interpreter does with an uncaught exception
                traceback.print_exc()
                code = 1
    finally:
        # Hydra configured logging (dictConfig drops the handlers that were there) and a
        # SIGTERM handler for the job: back to what the test had
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        signal.signal(signal.SIGTERM, sigterm)
        GlobalHydra.instance().clear()
        os.chdir(here)
        os.environ.clear()
        os.environ.update(environ)
        sys.argv[:] = argv
        torch = sys.modules.get("torch")
        if torch is not None and torch_state is not None:
            torch.set_num_threads(torch_state[0])
            torch.use_deterministic_algorithms(torch_state[1])
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): printed, exit status 1
        err.write(f"{code}\n")
        code = 1
    return CliResult(code, out.getvalue(), err.getvalue())


def one_line(result: CliResult | tuple[int, str, str], *named: str) -> str:
    """Assert the command failed with exactly one line on stderr (no traceback) that names
    each of ``named``; returns the line."""
    code, out, err = result
    assert code not in (0, None), (out, err)
    assert "Traceback" not in out + err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for name in named:
        assert name in lines[0], (name, lines[0])
    return lines[0]
