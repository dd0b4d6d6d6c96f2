"""Run a compiled Program on any PennyLane device, one call per batch.

The QNode takes the angle matrix A (B, n_columns) and applies every gate with a broadcast
angle ``A[:, column]``: PennyLane's parameter broadcasting, never a per-sample loop.

Gradients:

* ``backprop`` (default.qubit) and ``adjoint`` (lightning) go through the QNode itself.
* ``parameter-shift``: PennyLane's transform refuses broadcast tapes with respect to
  broadcast parameters, so the shifts are done here, exactly, with the shift rule the gate
  registry gives the gate each column feeds (qhybrid.quantum.gate_registry: two terms for a
  rotation, dE/dA[:, c] = (E(A + pi/2 e_c) - E(A - pi/2 e_c)) / 2; four for a controlled
  rotation). All shifted copies of the batch form one larger broadcast, which the device
  executes as one batch (this is also how hardware and shot-based simulators are
  differentiated).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Optional

import torch
from torch import nn

from qhybrid.quantum.backends import ResolvedBackend
from qhybrid.quantum.circuit import Angles, Program
from qhybrid.errors import ConfigError
from qhybrid.quantum.gate_registry import GATES, gate_kind
from qhybrid.quantum.observables import default_observables, pennylane_measurements
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
    unbatched = _unbroadcastable(program)
    operations = {name: _operation(name, program, name in unbatched)
                  for name in dict.fromkeys(g.name for g in program.gates) if name != "AMPLITUDE"}
    observables = program.observables or default_observables(n)

    def circuit(A, amplitudes=None):
        # one unbind (a single backward op) instead of a slice per gate
        col = A.unbind(-1)
        for gate in program.gates:
            if gate.name == "AMPLITUDE":
                qml.AmplitudeEmbedding(amplitudes, wires=range(n), pad_with=0.0, normalize=True)
            else:
                operations[gate.name](*(col[c] for c in gate.columns), wires=list(gate.wires))
        return pennylane_measurements(observables)

    qnode = qml.QNode(circuit, device, interface="torch", diff_method=diff_method)
    if unbatched:
        qnode = qml.transforms.broadcast_expand(qnode)
    if shots is not None:
        qnode = qml.set_shots(qnode, shots=shots)
    return qnode


def _unbroadcastable(program: Program) -> list[str]:
    """Operations outside the registry that PennyLane does not list as taking a batch of
    parameters: a user's class may build a wrong matrix from one (its batch axis last, say)."""
    from pennylane.ops.qubit.attributes import supports_broadcasting  # lazy: as build_qnode

    return [name for name in program.opaque if name not in supports_broadcasting]


def _operation(name: str, program: Program, unbatched: bool = False):
    """The qml class of a registry gate, or of an operation only PennyLane runs (Program.opaque).
    An operation that cannot take a batch is told its parameters are scalars (they are: each is
    one polynomial), so PennyLane sees the batch axis and broadcast_expand gives it one sample
    per tape: slower, but right."""
    if name in GATES:
        return gate_kind(name).operation()
    cls = program.opaque[name]
    if not unbatched:
        return cls
    return type(cls.__name__, (cls,), {"ndim_params": property(lambda op: (0,) * len(op.data)),
                                        "__module__": cls.__module__})


def _columns(result, batch: int, broadcast: bool) -> torch.Tensor:
    """The QNode's measurements, each (B,) or (B, 2^k), as one (B, width) tensor; a circuit
    without parameters is not broadcast: its one result stands for every sample."""
    parts = [result] if isinstance(result, torch.Tensor) else list(result)
    if broadcast:
        return torch.cat([torch.as_tensor(p).reshape(batch, -1) for p in parts], dim=1)
    return torch.cat([torch.as_tensor(p).reshape(1, -1) for p in parts], dim=1).expand(batch, -1)


class PennyLaneExecutor(nn.Module):
    """(A, amplitudes) -> the program's observables, shape (B, width), in the backend's dtype."""

    def __init__(self, program: Program, backend: ResolvedBackend, shift_columns: list[int],
                 retry: Optional[RetryPolicy] = None):
        super().__init__()
        self.program = program
        self.backend = backend
        self.dtype = DTYPES[backend.dtype]
        self.shift_columns = list(shift_columns)
        # only the parameter shift needs the registry's rules (an operation outside it has none)
        self.shift_terms = shift_terms(program, self.shift_columns) if backend.diff_method == "parameter-shift" else None
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
        out = _columns(result, A.shape[0], broadcast=A.shape[1] > 0 or amplitudes is not None)
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
        owner, coefficients, shifts = executor.shift_terms
        (B, P), T = A.shape, len(owner)
        shift = torch.zeros(T, P, dtype=A.dtype, device=A.device)
        shift[torch.arange(T), torch.tensor([cols[k] for k in owner])] = torch.tensor(shifts, dtype=A.dtype)
        with torch.no_grad():  # (T, B, n): every shifted copy of the batch in one broadcast
            values = executor.evaluate((A.unsqueeze(0) + shift.unsqueeze(1)).reshape(T * B, P)).reshape(T, B, -1)
        weighted = values * torch.tensor(coefficients, dtype=values.dtype, device=values.device)[:, None, None]
        jac = torch.zeros(len(cols), *values.shape[1:], dtype=values.dtype, device=values.device)
        jac.index_add_(0, torch.tensor(owner, device=values.device), weighted)  # (k, B, n): dE_i / dA[:, col]
        grad_A[:, cols] = (jac * grad_out.unsqueeze(0)).sum(-1).transpose(0, 1).to(A.dtype)
        return grad_A, None


def shift_terms(program: Program, columns: list[int]) -> tuple[list[int], list[float], list[float]]:
    """The parameter-shift terms of ``columns``: for each term, the index in ``columns`` it
    belongs to, its coefficient and its shift (the rule of the gate the column feeds)."""
    recipe = {c: (gate_kind(g.name).recipe, g.name) for g in program.gates if g.name in GATES for c in g.columns}
    owner, coefficients, shifts = [], [], []
    for k, column in enumerate(columns):
        if column not in recipe:
            name = next(g.name for g in program.gates if column in g.columns)
            raise ConfigError(f"{name} is not in qhybrid's gate registry, so qhybrid has no parameter-shift rule for it",
                              "use backend.diff_method=backprop (default.qubit) or adjoint (lightning)")
        for coefficient, shift in recipe[column][0]:
            owner.append(k)
            coefficients.append(coefficient)
            shifts.append(shift)
    return owner, coefficients, shifts
