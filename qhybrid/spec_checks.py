"""Range and choice checks shared by every config group's schema: each failure is one
ConfigError line naming the key, the value and what would be accepted."""

from __future__ import annotations

from typing import Any

from qhybrid.errors import ConfigError


def choice(key: str, value: Any, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(
            f"{key}={value!r} is not a valid choice", f"use one of {', '.join(options)}"
        )


def positive(key: str, value: float, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{key}={value} is out of range", f"set {key} to a value {bound}")


def fraction(key: str, value: float, *, allow_zero: bool = False) -> None:
    if not ((0 <= value if allow_zero else 0 < value) and value < 1):
        low = "[0" if allow_zero else "(0"
        raise ConfigError(f"{key}={value} is out of range", f"set {key} in {low}, 1)")


def whole_number(key: str, value: Any, minimum: int) -> int:
    """``value`` when it is a whole number >= ``minimum`` (a bool is not one)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{key}={value!r} is not a whole number", f"set {key} to a whole number >= {minimum}")
    if value < minimum:
        raise ConfigError(f"{key}={value} is out of range", f"set {key} to a whole number >= {minimum}")
    return value
