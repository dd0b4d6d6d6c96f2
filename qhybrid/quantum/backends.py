"""Backends: which PennyLane device runs a circuit, with which gradient method, and what
happens when it cannot start (a fallback chain, or an error with backend.strict=true).

The choice is explicit and recorded: ``ResolvedBackend.record()`` goes into metrics.json
and environment.json.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any, Optional

import numpy as np
import torch

from qhybrid import __version__
from qhybrid.environment import package_version
from qhybrid.errors import ConfigError, QHybridError, first_line
from qhybrid.quantum.backend_options import BACKENDS, device_of, is_native
from qhybrid.quantum.noise import NoiseModel
from qhybrid.training.seeding import fold_seed

log = logging.getLogger("qhybrid")

class ShotSampler:
    """The native executor's stream of shots (qhybrid.quantum.native_shots): a NumPy
    Generator as ``_rng``, where the epoch state reads a shot-drawing device's stream and
    replaces it on resume (as PennyLane's default.qubit keeps its own)."""

    def __init__(self, seed: int):
        self.seed = seed
        self._rng = np.random.default_rng(seed)


@dataclass
class ResolvedBackend:
    requested: str
    name: str
    device_name: str
    device: Any = field(repr=False)
    diff_method: str
    shots: Optional[int]
    dtype: str
    plugin: Optional[str]
    plugin_version: Optional[str]
    fallback_reason: Optional[str] = None
    strategy: Optional[str] = None  # native executor only
    seed: Optional[int] = None  # the device's sampling seed (default.qubit with shots)
    n_wires: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    noise: Any = None  # the native executor's channels (qhybrid.quantum.noise.NoiseModel), None: noiseless

    @property
    def seeded(self) -> bool:
        """Whether the shots are drawn from ``seed``: the native executor's and default.qubit's
        are; other devices (lightning, Aer) draw from streams of their own."""
        return isinstance(self.device, ShotSampler) or self.device_name == "default.qubit"

    def for_fold(self, fold: int) -> "ResolvedBackend":
        """A device that draws seeded shots gets its own stream per fold, so a fold's shots
        do not depend on the folds run before it (a resumed run draws the same)."""
        if isinstance(self.device, ShotSampler) and self.seed is not None:
            return replace(self, device=ShotSampler(fold_seed(self.seed, fold)))
        if self.device is None or self.shots is None or self.seed is None or self.device_name != "default.qubit":
            return self

        device = create_device(self.device_name, self.n_wires, self.dtype, self.shots, fold_seed(self.seed, fold),
                               self.options)
        return replace(self, device=device)

    def record(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "name": self.name,
            "device": self.device_name,
            "plugin": self.plugin,
            "plugin_version": self.plugin_version,
            "diff_method": self.diff_method,
            "shots": self.shots,
            "dtype": self.dtype,
            "fallback_reason": self.fallback_reason,
            "strategy": self.strategy,
            # the shots' seed; fold k draws from qhybrid.training.seeding.fold_seed(seed, k)
            "seed": self.seed if self.shots is not None and self.seeded else None,
            "noise": self.noise.record() if self.noise is not None else None,
        }


def plugin_of(device_name: str) -> tuple[Optional[str], Optional[str]]:
    """The distribution providing a device, and its version (from the plugins' entry points)."""
    if device_name.startswith("default."):
        return "pennylane", package_version("pennylane")
    for ep in metadata.entry_points(group="pennylane.plugins"):
        if ep.name == device_name and ep.dist is not None:
            return ep.dist.name, ep.dist.version
    return None, None


def _one_line(err: BaseException) -> str:
    return first_line(err, 240, typed=True)


def create_device(device_name: str, n_wires: int, dtype: str, shots: Optional[int], seed: Optional[int],
                  options: dict[str, Any]):
    import pennylane as qml  # lazy: backend=torch runs never load PennyLane (a 3 s import)

    kwargs = dict(options)
    if device_name.startswith("lightning.") and "c_dtype" not in kwargs:
        kwargs["c_dtype"] = np.complex128 if dtype == "float64" else np.complex64
    if device_name == "default.qubit" and seed is not None and "seed" not in kwargs:
        kwargs["seed"] = seed
    if device_name == "qiskit.aer" and shots is None and not {"method", "backend"} & set(kwargs):
        kwargs["method"] = "statevector"  # exact expectation values; with shots Aer samples
    return qml.device(device_name, wires=n_wires, **kwargs)


def _supports(device, method: str) -> bool:
    from pennylane.devices import ExecutionConfig  # lazy: backend=torch runs never load PennyLane

    try:
        return bool(device.supports_derivatives(ExecutionConfig(gradient_method=method)))
    except Exception:  # a plugin without the capability query: assume it can't
        return False


def choose_diff_method(device, device_name: str, requested: str, shots: Optional[int], amplitude: bool) -> str:
    """The gradient method to use on ``device``; ConfigError when the request cannot work there."""
    exact = shots is None
    if requested == "best":
        if exact and _supports(device, "backprop"):
            return "backprop"
        if amplitude:
            raise ConfigError(f"amplitude embedding needs backprop, which {device_name} does not offer"
                              + ("" if exact else " with shots"),
                              "use backend=default_qubit with backend.shots=null, or embedding=angle")
        if exact and _supports(device, "adjoint"):
            return "adjoint"
        return "parameter-shift"
    if requested in ("backprop", "adjoint") and not _supports(device, requested):
        raise ConfigError(f"backend.diff_method={requested} is not supported by {device_name}",
                          "use backend.diff_method=best (or parameter-shift)")
    return requested


def resolve_backend(spec, n_wires: int, amplitude: bool, run_seed: int) -> ResolvedBackend:
    """The backend ``spec`` names, built by its registered builder."""
    resolved = BACKENDS.get(spec.name, spec.module).build(spec, n_wires, amplitude, run_seed)
    if spec.seed is not None and resolved.shots is not None and not resolved.seeded:
        log.warning("backend.seed=%s is not used: %s draws its shots from a stream of its own (the native "
                    "executor and default.qubit take the seed)", spec.seed, resolved.device_name)
    return resolved


def resolve_native(spec, n_wires: int, amplitude: bool, run_seed: int) -> ResolvedBackend:
    """Autograd through the exact simulation; the parameter shift with shots or when asked
    for (qhybrid.quantum.native_shots). Runs on the model's device (trainer.device)."""
    sampled = spec.shots is not None
    seed = (spec.seed if spec.seed is not None else run_seed) if sampled else None
    return ResolvedBackend(requested=spec.name, name="torch", device_name="qhybrid.native",
                           device=ShotSampler(seed) if sampled else None,
                           diff_method="parameter-shift" if sampled or spec.diff_method == "parameter-shift" else
                           "backprop", shots=spec.shots, dtype=spec.dtype, plugin="qhybrid",
                           plugin_version=__version__, seed=seed,
                           # under noise the density-matrix mode runs, whatever the state-vector strategy
                           strategy="density_matrix" if spec.noise.active else spec.strategy,
                           noise=NoiseModel.of(spec.noise, n_wires) if spec.noise.active else None)


def resolve_pennylane(spec, n_wires: int, amplitude: bool, run_seed: int) -> ResolvedBackend:
    """Create the requested device, falling back along ``spec.fallbacks`` when it cannot start."""
    primary = spec.name
    chain = [primary, *[f for f in spec.fallbacks if f != primary]]
    seed = spec.seed if spec.seed is not None else run_seed
    reasons: list[str] = []
    for i, name in enumerate(chain):
        if i > 0 and is_native(name):
            return _native_fallback(spec, chain[0], "; ".join(reasons), n_wires, amplitude, run_seed)
        device_name = spec.device if (i == 0 and spec.device) else device_of(name)
        options = dict(spec.options) if i == 0 else {}
        try:
            device = create_device(device_name, n_wires, spec.dtype, spec.shots, seed, options)
            method = choose_diff_method(device, device_name, spec.diff_method, spec.shots, amplitude)
        except ConfigError as err:
            if i == 0 or spec.strict:
                raise
            reasons.append(f"{name}: {err.problem}")
            continue
        except Exception as err:  # plugin missing, no CUDA, a library that fails to load, ...
            if spec.strict:
                raise QHybridError(f"backend {name} ({device_name}) cannot start: {_one_line(err)}",
                                   f"{_install_hint(name)}, or set backend.strict=false to use its "
                                   "fallbacks") from None
            reasons.append(f"{name} ({device_name}) cannot start: {_one_line(err)}")
            continue
        plugin, version = plugin_of(device_name)
        reason = "; ".join(reasons) or None
        if reason:
            log.warning("backend %s is not available here (%s); using %s (%s)", chain[0], reason, name, device_name)
        return ResolvedBackend(requested=spec.name, name=name, device_name=device_name, device=device,
                               diff_method=method, shots=spec.shots, dtype=spec.dtype, plugin=plugin,
                               plugin_version=version, fallback_reason=reason, seed=seed, n_wires=n_wires,
                               options=options)
    raise QHybridError(f"no backend could start: {'; '.join(reasons)}",
                       f"{_install_hint(chain[0])}, or use backend=torch (qhybrid's own, exact)")


def _install_hint(name: str) -> str:
    """How to get a backend's plugin, as its registration says (qhybrid backends lists it)."""
    install = BACKENDS.get(name).extra.get("install") if name in BACKENDS.names() else None
    return install or "install its PennyLane plugin"


def _native_fallback(spec, asked: str, reason: str, n_wires: int, amplitude: bool, run_seed: int) -> ResolvedBackend:
    """The native executor in place of a simulator that cannot start: the same state-vector
    mathematics (on CUDA when trainer.device finds a GPU), exact or with the shots asked for."""
    log.warning("backend %s is not available here (%s); using qhybrid's native executor (backend=torch: the same "
                "mathematics%s; backend.strict=true refuses instead)", asked, reason,
                f", {spec.shots} shots" if spec.shots is not None else ", exact")
    return replace(resolve_native(spec, n_wires, amplitude, run_seed), fallback_reason=reason)


def survey() -> list[dict[str, Any]]:
    """Every known backend and every installed PennyLane device: can it start here, and why not."""
    gpu = torch.cuda.is_available()
    names = {"torch": "qhybrid.native"}
    names.update({o.name: o.extra["device"] for o in BACKENDS.options() if o.extra.get("device")})
    for ep in metadata.entry_points(group="pennylane.plugins"):
        if ep.name not in names.values():
            names[f"pennylane ({ep.name})"] = ep.name
    rows = []
    for name, device_name in names.items():
        plugin, version = plugin_of(device_name)
        row = {"backend": name, "device": device_name, "plugin": plugin, "version": version, "gpu_visible": gpu}
        if name == "torch":
            row.update(plugin="qhybrid", version=__version__, available=True, why_not="",
                       diff_methods=["backprop (autograd)", "CUDA" if gpu else "CPU"])
            rows.append(row)
            continue
        try:
            device = create_device(device_name, 2, "float64", None, None, {})
            row["available"] = True
            row["diff_methods"] = [m for m in ("backprop", "adjoint") if _supports(device, m)] + ["parameter-shift"]
            row["why_not"] = ""
        except Exception as err:
            why = _one_line(err).split(". ")[0]
            hint = BACKENDS.get(name).extra.get("install") if name in BACKENDS else None
            row.update(available=False, diff_methods=[], why_not=f"{why}; fix: {hint}" if hint else why)
        rows.append(row)
    return rows
