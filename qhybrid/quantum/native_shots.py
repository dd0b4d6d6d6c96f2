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
from qhybrid.quantum.memory import eval_chunk
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.native_density import DensityExecutor
from qhybrid.quantum.observables import Observable, Readout, default_observables
from qhybrid.quantum.spec import NoiseSpec
from qhybrid.quantum.pennylane_executor import _BroadcastShift, shift_terms


def shots_refusal(program: Program) -> Optional[str]:
    """Why the native executor cannot sample this circuit's readout (None: it can)."""
    if program.embedding == "amplitude":
        return "an amplitude embedding's inputs are not gate angles, so they have no shift rule"
    observables = program.observables or default_observables(program.n_qubits)
    words = [o.label for o in observables if any(p in "XY" for _, word in o.terms for p, _ in word)]
    if words:
        return f"the readout {', '.join(words)} is not diagonal in the computational basis"
    return None


def readout_values(observables: list[Observable], n: int) -> torch.Tensor:
    """(2^n, width): what each computational basis state reads as per output column (a Z
    word's sign times its coefficient, a probs column's indicator), in float64."""
    eye = torch.eye(2**n, dtype=torch.float64)
    return Readout(observables, n)(eye.to(torch.complex128), eye)


def flat_program(program: Program) -> Program:
    """The circuit with column c of the angle matrix as its input c (so each row may shift
    any parameter, weights included) and the whole distribution as its readout."""
    n = program.n_qubits
    return replace(program, columns=[(SOURCE_INPUT, c) for c in range(program.n_columns)], n_inputs=program.n_columns,
                   gating="none", input_map=None, input_map_reads_weights=False, weight_map=None, weight_shape=None,
                   observables=[Observable("probs", probs=tuple(range(n)))], _index_cache={})


class ShotsExecutor(nn.Module):
    """(angles) -> the program's observables (B, width), sampled with ``shots`` per sample
    (exact with None), differentiated by the parameter shift; in the angles' dtype."""

    def __init__(self, program: Program, shift_columns: list[int], shots: Optional[int],
                 sampler: Optional[ShotSampler], strategy: str = "auto", noise: Optional[NoiseSpec] = None):
        super().__init__()
        why = shots_refusal(program)
        if why is not None:
            raise ConfigError(f"the native executor's parameter shift and shots read Z words and probs with an angle "
                              f"embedding, and {why}", "use backend=default_qubit with backend.shots=N")
        self.program, self.shots, self.sampler = program, shots, sampler
        self.shift_columns = list(shift_columns)
        self.shift_terms = shift_terms(program, self.shift_columns)
        # the distribution the shots are drawn from: under noise the density matrix's (readout error included)
        flat = flat_program(program)
        self.exact = DensityExecutor(flat, noise) if noise is not None else NativeExecutor(flat, strategy)
        self.values = readout_values(program.observables or default_observables(program.n_qubits), program.n_qubits)
        self.chunk = eval_chunk(program.n_qubits)

    def extra_repr(self) -> str:
        return f"n_qubits={self.program.n_qubits}, shots={self.shots}, diff_method=parameter-shift"

    def forward(self, angles: Angles, amplitudes: Optional[torch.Tensor] = None) -> torch.Tensor:
        return _BroadcastShift.apply(angles.matrix(), self)

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
