"""The one error type users see: a problem and its fix, printed as a single line."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


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


def first_line(err: BaseException, limit: int = 300) -> str:
    """The first line of an exception's text (its type's name when it has none), for the
    parenthesis of a one-line error."""
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:limit]


class ConfigError(QHybridError):
    """A config value with the wrong type, out of range or inconsistent with another."""


class DataError(QHybridError):
    """An input file or data set that cannot be used as given."""


def exit_code_of(main: Callable[[list[str]], int], args: list[str]) -> int:
    """Run a command's ``main(args)``; a QHybridError becomes one line on stderr and its exit
    code (a traceback only with QHYBRID_DEBUG=1)."""
    try:
        return main(args)
    except QHybridError as err:
        if os.environ.get("QHYBRID_DEBUG") == "1":
            raise
        print(f"qhybrid: error: {err.message}", file=sys.stderr)
        return err.exit_code
