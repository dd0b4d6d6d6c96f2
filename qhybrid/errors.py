"""The one error type users see: a problem and its fix, printed as a single line."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path


class QHybridError(Exception):
    """A user-facing error: bad config, bad input file, missing plugin, ...

    The CLI prints ``str(error)`` as one line and exits with ``exit_code``; a traceback
    is shown only on request (``--debug``, ``QHYBRID_DEBUG=1`` or ``HYDRA_FULL_ERROR=1``).
    """

    exit_code = 2

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem.rstrip(".")
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        one_line = " ".join(self.problem.split())
        if self.fix:
            return f"{one_line}. Fix: {' '.join(self.fix.split())}"
        return one_line + "."


def first_line(err: BaseException, limit: int = 300, typed: bool = False) -> str:
    """The first line of an exception's text (its type's name when it has none), for the
    parenthesis of a one-line error; ``typed``: as "TypeName: text", for errors of other
    libraries whose type says what happened."""
    text = str(err).strip()
    line = text.splitlines()[0][:limit] if text else ""
    if typed:
        return f"{type(err).__name__}: {line}" if line else type(err).__name__
    return line or type(err).__name__[:limit]


def report(err: QHybridError) -> int:
    """Print the one line every refusal is: "qhybrid: error: <problem>. Fix: <fix>"; returns
    the exit code."""
    print(f"qhybrid: error: {err.message}", file=sys.stderr)
    return err.exit_code


def from_os_error(err: OSError) -> QHybridError:
    """A file-system failure (read-only folder, full disk, a path through a file) as one
    line naming the path."""
    where = err.filename if err.filename is not None else "a file"
    problem = f"cannot use {where} ({err.strerror or first_line(err)})"
    fixes = {errno.EACCES: "choose a folder you can write to, or fix its permissions",
             errno.EPERM: "choose a folder you can write to, or fix its permissions",
             errno.EROFS: "the file system is read-only: choose a folder on a writable one",
             errno.ENOSPC: "free disk space, or choose a folder on another disk",
             errno.EDQUOT: "free space within your disk quota, or choose another folder",
             errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
             errno.EISDIR: "the path is a folder: name a file",
             errno.ENOENT: "check the path"}
    return QHybridError(problem, fixes.get(err.errno, "check the path and its permissions"))


def unexpected(err: BaseException, log: Path | None = None) -> QHybridError:
    """Any other exception: one line that says it is qhybrid's fault and where the traceback is."""
    if isinstance(err, OSError):
        return from_os_error(err)
    where = f"the traceback is in {log}" if log is not None else "run it again with --debug for the traceback"
    error = QHybridError(f"unexpected {type(err).__name__}: {first_line(err, 200)} (a bug in qhybrid, not in "
                         f"your input; {where})", "please report it with the command you ran")
    error.exit_code = 1
    return error


class ConfigError(QHybridError):
    """A config value with the wrong type, out of range or inconsistent with another."""


class DataError(QHybridError):
    """An input file or data set that cannot be used as given."""


def exit_code_of(main: Callable[[list[str]], int], args: list[str]) -> int:
    """Run a command's ``main(args)``; a QHybridError becomes one line on stderr and its exit
    code (a traceback only with QHYBRID_DEBUG=1)."""
    try:
        return main(args)
    except Exception as raised:  # noqa: BLE001 - every failure is one line; --debug shows the traceback
        if os.environ.get("QHYBRID_DEBUG") == "1":
            raise
        return report(raised if isinstance(raised, QHybridError) else unexpected(raised))
