"""Finite shots on the native executor, and its parameter-shift gradients.

A batch's exact outcome distributions come from the native executor (the circuit with
every column of the angle matrix read per sample, the full distribution as readout); each
sample's ``shots`` outcomes are drawn from its distribution in one batched multinomial
draw, and every observable is read from the same outcomes, as a device measuring all
wires in the computational basis does (so Z words and probs share their shots, as in
PennyLane's default.qubit). Gradients follow the gate registry's shift rules, each
shifted circuit measured with the same number of shots: an unbiased estimate, computed
as one larger batch (qhybrid.quantum.pennylane_executor's broadcast shift). Without
shots (``backend.diff_method=parameter-shift`` alone) the shifted values are exact.

The draws come from a per-fold NumPy Generator kept as a sampler's ``_rng``: the epoch
state saves and restores it (qhybrid.training.epoch_state), so a resumed fold draws the
shots an uninterrupted one would.

Readouts with an X or Y factor need a rotated measurement basis per group of commuting
words and are refused with shots (one line, naming default.qubit); so is an amplitude
embedding, whose inputs are not gate angles a shift rule applies to.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np
import torch
from torch import nn

from qhybrid.errors import ConfigError
from qhybrid.quantum.backends import ShotSampler
from qhybrid.quantum.circuit import SOURCE_INPUT, Angles, Program
from qhybrid.quantum.gate_registry import GATES, gate_kind
from qhybrid.quantum.gates import Gate
from qhybrid.quantum.memory import eval_chunk
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.native_compact import compact_apply
from qhybrid.quantum.native_density import DensityExecutor
from qhybrid.quantum.observables import Observable, default_observables, readout_values
from qhybrid.quantum.noise import NoiseModel
from qhybrid.quantum.spec import NoiseSpec
from qhybrid.quantum.pennylane_executor import _BroadcastShift, shift_terms


COMPACT_AMPLITUDES = 2**20  # per compact call when sampling: the kernels keep every step's states


def shots_refusal(program: Program) -> Optional[str]:
    """Why the native executor cannot sample this circuit's readout (None: it can)."""
    if program.embedding == "amplitude":
        return "an amplitude embedding's inputs are not gate angles, so they have no shift rule"
    observables = program.observables or default_observables(program.n_qubits)
    words = [o.label for o in observables if any(p in "XY" for _, word in o.terms for p, _ in word)]
    if words:
        return f"the readout {', '.join(words)} is not diagonal in the computational basis"
    return None


def _one_angle_gates(gates: list) -> list:
    """Rot(phi, theta, omega) as RZ(phi), RY(theta), RZ(omega) (the same matrix): one angle a
    gate, which the compact kernels read per sample."""
    out = []
    for gate in gates:
        if gate.name in GATES and gate_kind(gate.name).name == "Rot":
            out += [Gate(name, gate.wires, (column,)) for name, column in zip(("RZ", "RY", "RZ"), gate.columns)]
        else:
            out.append(gate)
    return out


def flat_program(program: Program, one_angle: bool = False) -> Program:
    """The circuit with column c of the angle matrix as its input c (so each row may shift
    any parameter, weights included) and the whole distribution as its readout; with
    ``one_angle`` a Rot as its three rotations, so that the compact kernels run it (every gate
    reads a row's number; never under noise, whose channels follow each gate)."""
    n = program.n_qubits
    return replace(program, gates=_one_angle_gates(program.gates) if one_angle else program.gates,
                   columns=[(SOURCE_INPUT, c) for c in range(program.n_columns)], n_inputs=program.n_columns,
                   gating="none", input_map=None, input_map_reads_weights=False, weight_map=None, weight_shape=None,
                   observables=[Observable("probs", probs=tuple(range(n)))], _index_cache={})


class ShotsExecutor(nn.Module):
    """(angles) -> the program's observables (B, width), sampled with ``shots`` per sample
    (exact with None), differentiated by the parameter shift; in the angles' dtype."""

    def __init__(self, program: Program, shift_columns: list[int], shots: Optional[int],
                 sampler: Optional[ShotSampler], strategy: str = "auto",
                 noise: Optional[NoiseSpec | NoiseModel] = None):
        super().__init__()
        why = shots_refusal(program)
        if why is not None:
            raise ConfigError(f"the native executor's parameter shift and shots read Z words and probs with an angle "
                              f"embedding, and {why}", "use backend=default_qubit with backend.shots=N")
        self.program, self.shots, self.sampler = program, shots, sampler
        self.shift_columns = list(shift_columns)
        self.shift_terms = shift_terms(program, self.shift_columns)
        # the distribution the shots are drawn from: under noise the density matrix's (readout error included)
        flat = flat_program(program, one_angle=noise is None)
        self.exact = DensityExecutor(flat, noise) if noise is not None else NativeExecutor(flat, strategy)
        self.values = readout_values(program.observables or default_observables(program.n_qubits), program.n_qubits)
        self.chunk = eval_chunk(program.n_qubits * (2 if noise is not None else 1))  # a density matrix: 4^n
        self.sources = _own_sources(program, self.shift_columns) if noise is None and strategy in ("auto", "compact") \
            else None
        # the circuit itself read as its distribution: compact kernels on shared weights, where they run
        self.probabilities = NativeExecutor(replace(program, observables=flat.observables), strategy) \
            if self.sources is not None else None

    def extra_repr(self) -> str:
        return f"n_qubits={self.program.n_qubits}, shots={self.shots}, diff_method=parameter-shift"

    def forward(self, angles: Angles, amplitudes: Optional[torch.Tensor] = None) -> torch.Tensor:
        compact = self.probabilities is not None and self.probabilities.compact is not None and \
            angles.gates is None and angles.weights is not None and angles.inputs.device.type == "cpu"
        if compact:
            return _SourceShift.apply(angles.inputs, angles.weights, self)
        return _BroadcastShift.apply(angles.matrix(), self)

    @torch.no_grad()
    def sample(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The observables of a batch whose weights all rows share, through the compact kernels
        (float64), sampled with the shots or exact."""
        x, w, compact = inputs.to(torch.float64), weights.to(torch.float64), self.probabilities.compact
        rows = max(1, COMPACT_AMPLITUDES >> self.program.n_qubits)  # the kernels keep every step's states
        probs = torch.cat([compact_apply(compact, x[i : i + rows], None, w, torch.float64)
                           for i in range(0, x.shape[0], rows)])
        if self.shots is not None:
            probs = torch.from_numpy(self._draw(probs.numpy()))
        return (probs @ self.values).to(inputs.dtype)

    @torch.no_grad()
    def evaluate(self, A: torch.Tensor) -> torch.Tensor:
        """The observables of each row of the angle matrix (B, columns): sampled with the
        shots, or exact; rows in chunks of a bounded number of amplitudes."""
        parts = [self._estimate(A[i : i + self.chunk]) for i in range(0, A.shape[0], self.chunk)]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _estimate(self, A: torch.Tensor) -> torch.Tensor:
        probs = self.exact(Angles(self.exact.program, A, None, None)).to(torch.float64)
        if self.shots is not None:
            probs = torch.from_numpy(self._draw(probs.cpu().numpy())).to(probs.device)
        return (probs @ self.values.to(probs.device)).to(A.dtype)

    def _draw(self, probs: np.ndarray) -> np.ndarray:
        """Each row's outcome frequencies over ``shots`` draws from its distribution."""
        probs = np.clip(probs, 0.0, None)
        probs /= probs.sum(axis=1, keepdims=True)  # rounding: NumPy wants each row to sum to 1
        return self.sampler._rng.multinomial(self.shots, probs) / self.shots


def _own_sources(program: Program, columns: list[int]) -> Optional[list[tuple[str, int]]]:
    """Each shifted column's source (input or weight, index) where every source a column
    reads is read by that column alone and nothing is gated or mapped: shifting the column is
    then shifting its source. None otherwise (the shifted copies run on the flat program)."""
    if program.gating != "none" or program.input_map is not None or program.weight_map is not None or \
            program.embedding == "amplitude":
        return None
    readers: dict = {}
    for source in program.columns:
        readers[source] = readers.get(source, 0) + 1
    if any(count > 1 for count in readers.values()):
        return None
    return [program.columns[c] for c in columns]


class _SourceShift(torch.autograd.Function):
    """The parameter shift by sources (ShotsExecutor._own_sources): every shifted copy of the
    batch keeps its weights shared, so it runs on the compact kernels -- one call for the
    inputs' shifts together, one per weight term -- instead of every gate read per row."""

    @staticmethod
    def forward(ctx, inputs: torch.Tensor, weights: torch.Tensor, executor: ShotsExecutor) -> torch.Tensor:
        ctx.executor = executor
        ctx.save_for_backward(inputs, weights)
        return executor.sample(inputs.detach(), weights.detach())

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        inputs, weights = (t.detach() for t in ctx.saved_tensors)
        executor: ShotsExecutor = ctx.executor
        owner, coefficients, shifts = executor.shift_terms
        terms = [(executor.sources[k], c, s) for k, c, s in zip(owner, coefficients, shifts)]
        grad_x, grad_w = torch.zeros_like(inputs), torch.zeros_like(weights).reshape(-1)
        read = [t for t in terms if t[0][0] == SOURCE_INPUT]
        if read:  # every input's shifted copy of the batch in one call
            shifted = inputs.repeat(len(read), 1)
            for j, ((_, i), _, shift) in enumerate(read):
                shifted[j * len(inputs) : (j + 1) * len(inputs), i] += shift
            values = executor.sample(shifted, weights).reshape(len(read), *grad_out.shape)
            for j, ((_, i), coefficient, _) in enumerate(read):
                grad_x[:, i] += coefficient * (values[j] * grad_out).sum(-1)
        flat = weights.reshape(-1)
        for (source, i), coefficient, shift in terms:
            if source != SOURCE_INPUT:
                moved = flat.clone()
                moved[i] += shift
                grad_w[i] += coefficient * (executor.sample(inputs, moved) * grad_out).sum()
        return grad_x if ctx.needs_input_grad[0] else None, \
            grad_w.reshape(weights.shape) if ctx.needs_input_grad[1] else None, None
