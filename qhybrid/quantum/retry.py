"""Retries with exponential backoff for transient execution errors (remote QPUs, networks).

Programming errors (a wrong argument, an unsupported operation) are never retried: they
would fail the same way again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from qhybrid.errors import QHybridError, first_line

T = TypeVar("T")

NOT_TRANSIENT: tuple[type[BaseException], ...] = (
    ValueError, TypeError, KeyError, IndexError, AttributeError, NotImplementedError, AssertionError,
    ZeroDivisionError, QHybridError,
)


def _not_transient() -> tuple[type[BaseException], ...]:
    # lazy: qhybrid.build imports this module, and backend=torch runs never load PennyLane
    try:
        from pennylane.exceptions import DeviceError
    except ImportError:  # older PennyLane
        from pennylane import DeviceError
    return NOT_TRANSIENT + (DeviceError,)


@dataclass
class RetryPolicy:
    max_retries: int = 3
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def call(self, fn: Callable[[], T], what: str, log: logging.Logger) -> T:
        attempt = 0
        while True:
            try:
                return fn()
            except _not_transient():
                raise
            except Exception as err:  # a device's own transient error types are many
                if attempt >= self.max_retries:
                    raise QHybridError(
                        f"{what} failed {attempt + 1} time(s); last error: {first_line(err, 200, typed=True)}",
                        "check the device or network, raise backend.max_retries, or choose another backend",
                    ) from err
                delay = self.backoff * 2**attempt
                attempt += 1
                log.warning("%s failed (%s); retry %d/%d in %.1fs", what, first_line(err, 200, typed=True), attempt,
                            self.max_retries, delay)
                self.sleep(delay)
