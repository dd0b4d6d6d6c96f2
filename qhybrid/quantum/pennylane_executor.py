"""Run a compiled Program on any PennyLane device, one call per batch.

The QNode takes the angle matrix A (B, n_columns) and applies every gate with a broadcast
angle ``A[:, column]``: PennyLane's parameter broadcasting, never a per-sample loop.

Gradients:

* ``backprop`` (default.qubit) and ``adjoint`` (lightning) go through the QNode itself.
* ``parameter-shift``: PennyLane's transform refuses broadcast tapes with respect to
  broadcast parameters, so the shifts are done here, exactly: every gate in a Program has a
  two-term shift rule (RX/RY/RZ, the angles of Rot, ControlledPhaseShift), so
  dE/dA[:, c] = (E(A + pi/2 e_c) - E(A - pi/2 e_c)) / 2. All shifted copies of the batch
  form one larger broadcast, which the device executes as one batch (this is also how
  hardware and shot-based simulators are differentiated).
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from typing import Optional

import torch
from torch import nn

from qhybrid.quantum.backends import ResolvedBackend
from qhybrid.quantum.circuit import Angles, Program
from qhybrid.quantum.layer import DTYPES
from qhybrid.quantum.retry import RetryPolicy

log = logging.getLogger("qhybrid")

@contextmanager
def default_dtype(dtype: torch.dtype):
    """Some devices build their torch results in torch's default dtype (lightning's adjoint
    returns float32 even from a complex128 simulation): pin it for the call."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(saved)


def build_qnode(program: Program, device, diff_method: Optional[str], shots: Optional[int]):
    # lazy: qhybrid.build imports this module, and backend=torch runs never load PennyLane
    import pennylane as qml

    n = program.n_qubits
    rotations = {"RX": qml.RX, "RY": qml.RY, "RZ": qml.RZ}

    def circuit(A, amplitudes=None):
        # one unbind (a single backward op) instead of a slice per gate
        col = A.unbind(-1)
        for gate in program.gates:
            if gate.name in rotations:
                rotations[gate.name](col[gate.columns[0]], wires=gate.wires[0])
            elif gate.name == "ROT":
                c = gate.columns
                qml.Rot(col[c[0]], col[c[1]], col[c[2]], wires=gate.wires[0])
            elif gate.name == "CNOT":
                qml.CNOT(wires=list(gate.wires))
            elif gate.name == "H":
                qml.Hadamard(wires=gate.wires[0])
            elif gate.name == "CPHASE":
                qml.ControlledPhaseShift(col[gate.columns[0]], wires=list(gate.wires))
            elif gate.name == "AMPLITUDE":
                qml.AmplitudeEmbedding(amplitudes, wires=range(n), pad_with=0.0, normalize=True)
            else:
                raise ValueError(f"unknown gate {gate.name!r}")
        return [qml.expval(qml.PauliZ(w)) for w in range(n)]

    qnode = qml.QNode(circuit, device, interface="torch", diff_method=diff_method)
    if shots is not None:
        qnode = qml.set_shots(qnode, shots=shots)
    return qnode


class PennyLaneExecutor(nn.Module):
    """(A, amplitudes) -> expectation values <Z_i>, shape (B, n_qubits), in the backend's dtype."""

    def __init__(self, program: Program, backend: ResolvedBackend, shift_columns: list[int],
                 retry: Optional[RetryPolicy] = None):
        super().__init__()
        self.program = program
        self.backend = backend
        self.dtype = DTYPES[backend.dtype]
        self.shift_columns = list(shift_columns)
        self.retry = retry or RetryPolicy()
        through_qnode = backend.diff_method in ("backprop", "adjoint")
        self.qnode = build_qnode(program, backend.device, backend.diff_method if through_qnode else None,
                                 backend.shots)
        self._warned_dtype = False
        # bound the memory of one broadcast (the parameter shift multiplies the batch)
        self.max_batch = max(1, 2**24 // 2**program.n_qubits)

    def extra_repr(self) -> str:
        b = self.backend
        return f"device={b.device_name}, diff_method={b.diff_method}, shots={b.shots}, dtype={b.dtype}"

    def evaluate(self, A: torch.Tensor, amplitudes: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Device calls of at most ``max_batch`` circuits each (one call for a usual batch),
        with retries for transient failures."""
        if A.shape[0] > self.max_batch:
            chunks = [self.evaluate(A[i : i + self.max_batch],
                                    None if amplitudes is None else amplitudes[i : i + self.max_batch])
                      for i in range(0, A.shape[0], self.max_batch)]
            return torch.cat(chunks)

        def call():
            with default_dtype(self.dtype):
                return self.qnode(A, amplitudes)

        result = self.retry.call(call, f"{self.backend.device_name} execution", log)
        out = torch.stack(list(result), dim=-1) if isinstance(result, (list, tuple)) else result
        if out.dim() == 1:
            out = out.unsqueeze(0)
        if out.dtype != self.dtype:
            if not self._warned_dtype:
                log.warning("%s returned %s results for a %s simulation; converting", self.backend.device_name,
                            out.dtype, self.dtype)
                self._warned_dtype = True
            out = out.to(self.dtype)
        return out

    def forward(self, angles: Angles, amplitudes: Optional[torch.Tensor] = None) -> torch.Tensor:
        A = angles.matrix()
        if self.backend.diff_method == "parameter-shift":
            return _BroadcastShift.apply(A, self)
        return self.evaluate(A, amplitudes)


class _BroadcastShift(torch.autograd.Function):
    """Exact parameter-shift gradients of a broadcast circuit, as one larger broadcast."""

    @staticmethod
    def forward(ctx, A: torch.Tensor, executor: PennyLaneExecutor) -> torch.Tensor:
        ctx.executor = executor
        ctx.save_for_backward(A)
        with torch.no_grad():
            return executor.evaluate(A.detach())

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (A,) = ctx.saved_tensors
        executor: PennyLaneExecutor = ctx.executor
        cols = executor.shift_columns
        grad_A = torch.zeros_like(A)
        if not cols or not ctx.needs_input_grad[0]:
            return grad_A, None
        k, (B, P) = len(cols), A.shape
        shift = torch.zeros(k, P, dtype=A.dtype, device=A.device)
        shift[torch.arange(k), torch.tensor(cols)] = math.pi / 2
        # (2k, B, P): first the +pi/2 copies of the batch, then the -pi/2 copies
        shifted = torch.cat([A.unsqueeze(0) + shift.unsqueeze(1), A.unsqueeze(0) - shift.unsqueeze(1)])
        with torch.no_grad():
            values = executor.evaluate(shifted.reshape(2 * k * B, P)).reshape(2 * k, B, -1)
        jac = (values[:k] - values[k:]) / 2  # (k, B, n): dE_i / dA[:, col]
        grad_A[:, cols] = (jac * grad_out.unsqueeze(0)).sum(-1).transpose(0, 1).to(A.dtype)
        return grad_A, None
