"""The backend group's registry: each backend's name, what runs it, and one line about it.

qhybrid's backends register themselves in ``qhybrid/quantum/devices/`` (found on first use).
A PennyLane device of your own is a YAML (``conf/backend/<name>.yaml`` in a ``--config-dir``,
``defaults: [_defaults, _self_]`` for the shared keys) whose ``module:`` names a file calling
``pennylane_device(...)``. Every backend shares one schema (qhybrid.quantum.spec.BackendSpec).
"""

from __future__ import annotations

from typing import Optional

from qhybrid.registry import Option, Registry

BACKENDS = Registry("backend", "backend", package="qhybrid.quantum.devices")


def pennylane_device(name: str, device: Optional[str], summary: str, install: str = "",
                     batched: bool = False) -> Option:
    """Register a PennyLane device as backend ``name``. ``device``: its PennyLane name (None:
    the YAML's backend.device names it); ``install``: how to get its plugin; ``batched``: it
    runs a broadcast batch as one circuit (the memory estimate counts every sample's state)."""
    return BACKENDS.add(name, None, "qhybrid.quantum.backends:resolve_pennylane", summary, device=device,
                        install=install, batched=batched, native=False)


def is_native(name: str) -> bool:
    """Runs on qhybrid's own executor (exact, autograd, batched)."""
    return bool(BACKENDS.get(name).extra.get("native"))


def is_batched(name: str) -> bool:
    extra = BACKENDS.get(name).extra
    return bool(extra.get("native") or extra.get("batched"))


def device_of(name: str) -> Optional[str]:
    return BACKENDS.get(name).extra.get("device")


def fallback_names() -> list[str]:
    """The backends a fallback chain can name: PennyLane devices with a fixed name, and the
    native executor (torch)."""
    return ["torch", *[o.name for o in BACKENDS.options() if o.extra.get("device")]]
