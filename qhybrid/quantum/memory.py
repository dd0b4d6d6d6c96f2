"""How much memory a circuit's simulation needs, checked when the config is validated: 40
qubits would otherwise start allocating terabytes and die minutes later, or take the
machine down with it.

The estimate is of the state vectors alive at once: 2^n amplitudes per sample, times the
samples simulated together, times the copies a forward and backward pass keep. The copy
counts were measured with the native executor (peak RSS over the state's size, n = 16,
batch 32: 9x at 2 layers, 24x at 6 layers); PennyLane devices are held to a lower bound
(per-sample devices simulate one state at a time). Refusing means the run cannot fit:
the limit is the machine's (or its cgroup's, or the GPU's) whole memory, not what is free.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch

from qhybrid.errors import ConfigError
from qhybrid.quantum.backend_options import is_batched, is_native

AMPLITUDE_BYTES = {"float64": 16, "float32": 8}  # complex128 / complex64
EVAL_CHUNK_AMPLITUDES = 2**26  # per evaluation chunk: ~1 GiB of complex128 amplitudes


def copies(n_layers: int, native: bool) -> int:
    """State-sized buffers alive during a training step (forward + backward)."""
    return 4 + 3 * n_layers if native else 4


def eval_chunk(n_qubits: int, limit: int = 8192) -> int:
    """Rows evaluated at once: large for small circuits, fewer as the state grows."""
    return max(1, min(limit, EVAL_CHUNK_AMPLITUDES >> min(n_qubits, 62)))


def needed_bytes(n_qubits: int, n_layers: int, batch: int, backend: str, dtype: str) -> int:
    # batched simulators hold the whole batch; the others simulate one sample at a time
    samples = batch if is_batched(backend) else 1
    state = (2**n_qubits) * AMPLITUDE_BYTES[dtype]
    return state * samples * copies(n_layers, is_native(backend))


def machine_bytes(device: str) -> Optional[int]:
    """The memory a run can use: the GPU's for cuda, else RAM within the cgroup's limit."""
    if device.startswith("cuda"):
        try:
            if torch.cuda.is_available():
                index = int(device.split(":")[1]) if ":" in device else 0
                return int(torch.cuda.get_device_properties(index).total_memory)
        except (RuntimeError, ValueError, AssertionError):
            return None
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    limit = _cgroup_limit()
    return min(total, limit) if limit else total


def _cgroup_limit() -> Optional[int]:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"


def _where(device: str) -> str:
    return "the GPU" if device.startswith("cuda") else "this machine"


def _layers(quantum) -> int:
    """The built-in ansatz's layers; for a circuit of your own, as many as it has n_qubits of depth
    (a built-in layer's depth), an estimate of the state-sized buffers its backward pass keeps."""
    if quantum.circuit is None:
        return quantum.n_layers
    # lazy: compiling loads torch, and `qhybrid train --help` imports this module's importers
    from qhybrid.quantum.programs import program_of
    from qhybrid.quantum.resources import depth

    program = program_of(quantum)  # no native plan here: its index tensors are 2^n-sized
    return max(1, -(-depth(program) // max(2, program.n_qubits)))


FUSED_MATRICES = 3  # backend.strategy=fused: the identity it starts from, the run's matrix, its gradient


def fused_bytes(n_qubits: int, dtype: str) -> int:
    """The full 2^n x 2^n matrices the native executor's fused strategy builds."""
    return FUSED_MATRICES * 4**n_qubits * AMPLITUDE_BYTES[dtype]


def density_bytes(n_qubits: int, n_layers: int, batch: int, dtype: str, backward: bool = True) -> int:
    """The density-matrix mode (backend.noise): 4^n amplitudes per sample, and autograd keeps
    a few of them per gate (~3n gates a layer) and per channel; scoring alone (eval_noise)
    holds a few, for an evaluation chunk's rows."""
    if not backward:
        return 4**n_qubits * AMPLITUDE_BYTES[dtype] * min(batch, eval_chunk(2 * n_qubits)) * 4
    return 4**n_qubits * AMPLITUDE_BYTES[dtype] * batch * (4 + 18 * n_qubits * max(n_layers, 1))


def check_fits(quantum, backend: str, dtype: str, batch: int, device: str, strategy: str = "auto",
               noisy: bool = False, noise_key: str = "backend.noise", backward: bool = True) -> None:
    """Refuse a circuit whose simulation cannot fit in this machine's memory (``noise_key``:
    the setting that asks for density matrices; ``backward``: trained through them, or only
    scored)."""
    if quantum is None:
        return
    available = machine_bytes(device)
    if available is None:
        return
    n, layers = quantum.n_qubits, _layers(quantum)
    need = density_bytes(n, layers, max(batch, 1), dtype, backward)
    if noisy and need > available:
        raise ConfigError(f"{noise_key} simulates density matrices: model.quantum.n_qubits={n} needs about "
                          f"{_size(need)} (4^{n} amplitudes x {AMPLITUDE_BYTES[dtype]} B per sample, "
                          f"{'kept per gate for the backward pass' if backward else 'a few copies'}), but "
                          f"{_where(device)} has {_size(available)}",
                          "use fewer qubits or a smaller trainer.batch_size, or no noise")
    if strategy == "fused" and is_native(backend) and fused_bytes(n, dtype) > available:
        # auto takes fused only where these matrices are small (qhybrid.quantum.native_plan.choose_strategy)
        raise ConfigError(f"backend.strategy=fused builds {FUSED_MATRICES} matrices of 2^{n} x 2^{n} amplitudes, about "
                          f"{_size(fused_bytes(n, dtype))} at {n} qubits, but {_where(device)} has {_size(available)}",
                          "use backend.strategy=auto (or gates)")
    rows = max(batch, 1)
    need = max(needed_bytes(n, layers, rows, backend, dtype),
               needed_bytes(n, 0, min(rows, eval_chunk(n)), backend, dtype))
    if need <= available:
        return
    fits = max((k for k in range(1, min(n, 64)) if needed_bytes(k, layers, rows, backend, dtype) <= available), default=0)
    samples = f" x {rows} samples" if is_batched(backend) else ""
    fix = (f"use at most {fits} qubits at this batch size, " if fits else "") + \
        "or lower trainer.batch_size" + (", or backend.dtype=float32" if dtype == "float64" else "")
    raise ConfigError(f"model.quantum.n_qubits={n} needs about {_size(need)} to simulate (2^{n} amplitudes x "
                      f"{AMPLITUDE_BYTES[dtype]} B{samples} x {copies(layers, is_native(backend))} copies "
                      f"for the backward pass), but {_where(device)} has {_size(available)}", fix)
