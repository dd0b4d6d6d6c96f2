"""Noise channels for the native executor's density-matrix mode (qhybrid.quantum.native_density).

``backend.noise`` puts channels after every gate, on the wires the gate acts on, in this
order: depolarizing (a two-qubit gate's two wires together with ``depolarizing_2q``, else
each wire alone with ``depolarizing``), amplitude damping (T1), phase damping (T2), bit
flip, phase flip; and a readout error on every wire at measurement. The channels are
PennyLane's (DepolarizingChannel, AmplitudeDamping, PhaseDamping, BitFlip, PhaseFlip;
default.mixed's ``readout_prob`` for a symmetric readout error), and a two-qubit
depolarizing channel keeps the state with 1 - p and applies each of the 15 other Pauli
pairs with p / 15.

A channel acts on a wire's (row, column) index pair of the density matrix as one 4 x 4
superoperator (16 x 16 for two wires): S = sum_k K_k (x) conj(K_k) for Kraus operators K_k;
a gate's channels on one wire are multiplied into one.
"""

from __future__ import annotations

import itertools
import math
from typing import Optional

import torch

from qhybrid.quantum.spec import NoiseSpec

_I = torch.eye(2, dtype=torch.complex128)
_PAULIS = [_I, torch.tensor([[0, 1], [1, 0]], dtype=torch.complex128),
           torch.tensor([[0, -1j], [1j, 0]], dtype=torch.complex128),
           torch.tensor([[1, 0], [0, -1]], dtype=torch.complex128)]
def superoperator(kraus: list[torch.Tensor]) -> torch.Tensor:
    """sum_k K_k (x) conj(K_k): the channel on vec(rho) over (rows, columns), row-major."""
    return sum(torch.kron(k, k.conj()) for k in kraus)


def one_wire_kraus(spec: NoiseSpec, depolarizing: bool) -> list[list[torch.Tensor]]:
    """The Kraus sets a gate leaves on each wire it acts on, in order (empty sets left out)."""
    X, Y, Z = _PAULIS[1:]
    p, g1, g2 = spec.depolarizing if depolarizing else 0.0, spec.amplitude_damping, spec.phase_damping
    sets = [
        [math.sqrt(1 - p) * _I, *(math.sqrt(p / 3) * P for P in (X, Y, Z))] if p else [],
        [torch.tensor([[1, 0], [0, math.sqrt(1 - g1)]], dtype=torch.complex128),
         torch.tensor([[0, math.sqrt(g1)], [0, 0]], dtype=torch.complex128)] if g1 else [],
        [torch.tensor([[1, 0], [0, math.sqrt(1 - g2)]], dtype=torch.complex128),
         torch.tensor([[0, 0], [0, math.sqrt(g2)]], dtype=torch.complex128)] if g2 else [],
        [math.sqrt(1 - spec.bit_flip) * _I, math.sqrt(spec.bit_flip) * X] if spec.bit_flip else [],
        [math.sqrt(1 - spec.phase_flip) * _I, math.sqrt(spec.phase_flip) * Z] if spec.phase_flip else [],
    ]
    return [s for s in sets if s]


def two_wire_depolarizing(p: float) -> list[torch.Tensor]:
    pairs = [torch.kron(a, b) for a, b in itertools.product(_PAULIS, repeat=2)]
    return [math.sqrt(1 - p) * pairs[0], *(math.sqrt(p / 15) * P for P in pairs[1:])]


def wire_channel(spec: NoiseSpec, depolarizing: bool) -> Optional[torch.Tensor]:
    """The product of a gate's one-wire channels on one of its wires (4 x 4), None for none."""
    sets = one_wire_kraus(spec, depolarizing)
    if not sets:
        return None
    total = torch.eye(4, dtype=torch.complex128)
    for kraus in sets:
        total = superoperator(kraus) @ total
    return total


def readout_confusion(spec: NoiseSpec) -> Optional[torch.Tensor]:
    """(2, 2): column = the bit in the state, row = the bit read; None without readout error."""
    p01, p10 = spec.readout_errors
    if not (p01 or p10):
        return None
    return torch.tensor([[1 - p10, p01], [p10, 1 - p01]], dtype=torch.float64)
