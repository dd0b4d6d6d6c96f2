"""The gate registry: each gate once — its name, wires, parameters, batched matrix, PennyLane
operation and parameter-shift rule — for every executor and the parameter-shift path.

Conventions are PennyLane's: the first wire is the most significant bit of a gate's matrix
(a controlled gate's control comes first), and ``Rot(phi, theta, omega) = RZ(omega) RY(theta)
RZ(phi)``. ``matrix(params, ctype)`` takes one tensor of shape (B,) per parameter and returns
(B, 2^w, 2^w); a fixed gate returns (1, 2^w, 2^w).

Shift rules (Wierichs et al. 2022, "General parameter-shift rules for quantum gradients"):
a parameter whose generator has eigenvalue differences {1} (a rotation, PhaseShift, an Ising
coupling, ControlledPhaseShift) needs two evaluations, ``(f(x + pi/2) - f(x - pi/2)) / 2``; a
controlled rotation's generator has differences {1/2, 1} and needs four.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

# (coefficient, shift) terms: df/dx = sum_k c_k f(x + s_k)
TWO_TERM = ((0.5, math.pi / 2), (-0.5, -math.pi / 2))
_C1, _C2 = (math.sqrt(2) + 1) / (4 * math.sqrt(2)), (math.sqrt(2) - 1) / (4 * math.sqrt(2))
FOUR_TERM = ((_C1, math.pi / 2), (-_C1, -math.pi / 2), (-_C2, 3 * math.pi / 2), (_C2, -3 * math.pi / 2))


@dataclass(frozen=True)
class GateKind:
    name: str
    n_wires: int
    n_params: int
    matrix: Callable[..., torch.Tensor]
    pennylane: str  # the qml operation's class name
    recipe: tuple[tuple[float, float], ...] = ()  # the shift rule of each parameter
    aliases: tuple[str, ...] = ()  # the names compiled programs use (qhybrid.quantum.circuit)

    def operation(self):
        """The PennyLane operation class."""
        import pennylane as qml  # lazy: backend=torch runs never load PennyLane (a 3 s import)

        return getattr(qml, self.pennylane)


def _stack(rows: list[list[torch.Tensor]]) -> torch.Tensor:
    """A (B, d, d) matrix from d x d entries, each a (B,) tensor."""
    return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)


def _fixed(values: list[list[complex]]) -> Callable[..., torch.Tensor]:
    def matrix(params: tuple = (), ctype: torch.dtype = torch.complex128) -> torch.Tensor:
        return torch.tensor(values, dtype=ctype).unsqueeze(0)
    return matrix


def _half(theta: torch.Tensor, ctype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    half = theta.to(torch.float64 if ctype == torch.complex128 else torch.float32) / 2
    return torch.cos(half).to(ctype), torch.sin(half).to(ctype)


def _phase(angle: torch.Tensor, ctype: torch.dtype) -> torch.Tensor:
    """exp(i angle) as ``ctype``."""
    real = angle.to(torch.float64 if ctype == torch.complex128 else torch.float32)
    return torch.polar(torch.ones_like(real), real).to(ctype)


def rx(params, ctype=torch.complex128) -> torch.Tensor:
    c, s = _half(params[0], ctype)
    return _stack([[c, -1j * s], [-1j * s, c]])


def ry(params, ctype=torch.complex128) -> torch.Tensor:
    c, s = _half(params[0], ctype)
    return _stack([[c, -s], [s, c]])


def rz(params, ctype=torch.complex128) -> torch.Tensor:
    zero = torch.zeros_like(_phase(params[0], ctype))
    return _stack([[_phase(-params[0] / 2, ctype), zero], [zero, _phase(params[0] / 2, ctype)]])


def phase_shift(params, ctype=torch.complex128) -> torch.Tensor:
    one = torch.ones_like(_phase(params[0], ctype))
    return _stack([[one, 0 * one], [0 * one, _phase(params[0], ctype)]])


def rot(params, ctype=torch.complex128) -> torch.Tensor:
    phi, theta, omega = params
    return rz((omega,), ctype) @ ry((theta,), ctype) @ rz((phi,), ctype)


def u3(params, ctype=torch.complex128) -> torch.Tensor:
    theta, phi, delta = params
    c, s = _half(theta, ctype)
    return _stack([[c, -_phase(delta, ctype) * s], [_phase(phi, ctype) * s, _phase(phi + delta, ctype) * c]])


def controlled(single: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """|0><0| x I + |1><1| x U for a one-wire gate U (the control is the first wire)."""
    def matrix(params=(), ctype=torch.complex128) -> torch.Tensor:
        u = single(params, ctype)
        out = torch.zeros(u.shape[0], 4, 4, dtype=ctype, device=u.device)
        out[:, 0, 0] = out[:, 1, 1] = 1
        out[:, 2:, 2:] = u
        return out
    return matrix


def ising(pauli: list[list[complex]]) -> Callable[..., torch.Tensor]:
    """exp(-i phi/2 P x P) = cos(phi/2) I - i sin(phi/2) P x P."""
    def matrix(params, ctype=torch.complex128) -> torch.Tensor:
        c, s = _half(params[0], ctype)
        p = torch.tensor(pauli, dtype=ctype, device=c.device)
        return c[:, None, None] * torch.eye(4, dtype=ctype, device=c.device) - 1j * s[:, None, None] * torch.kron(p, p)
    return matrix


def ising_zz(params, ctype=torch.complex128) -> torch.Tensor:
    minus, plus = _phase(-params[0] / 2, ctype), _phase(params[0] / 2, ctype)
    return torch.diag_embed(torch.stack([minus, plus, plus, minus], dim=-1))


_X, _Y, _Z = [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]
_R2 = 1 / math.sqrt(2)
_KINDS = [
    GateKind("RX", 1, 1, rx, "RX", TWO_TERM),
    GateKind("RY", 1, 1, ry, "RY", TWO_TERM),
    GateKind("RZ", 1, 1, rz, "RZ", TWO_TERM),
    GateKind("PhaseShift", 1, 1, phase_shift, "PhaseShift", TWO_TERM),
    GateKind("Rot", 1, 3, rot, "Rot", TWO_TERM, aliases=("ROT",)),
    GateKind("U3", 1, 3, u3, "U3", TWO_TERM),
    GateKind("H", 1, 0, _fixed([[_R2, _R2], [_R2, -_R2]]), "Hadamard"),
    GateKind("S", 1, 0, _fixed([[1, 0], [0, 1j]]), "S"),
    GateKind("T", 1, 0, _fixed([[1, 0], [0, complex(_R2, _R2)]]), "T"),
    GateKind("X", 1, 0, _fixed(_X), "PauliX"),
    GateKind("Y", 1, 0, _fixed(_Y), "PauliY"),
    GateKind("Z", 1, 0, _fixed(_Z), "PauliZ"),
    GateKind("CNOT", 2, 0, controlled(_fixed(_X)), "CNOT"),
    GateKind("CZ", 2, 0, controlled(_fixed(_Z)), "CZ"),
    GateKind("CY", 2, 0, controlled(_fixed(_Y)), "CY"),
    GateKind("SWAP", 2, 0, _fixed([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]), "SWAP"),
    GateKind("CRX", 2, 1, controlled(rx), "CRX", FOUR_TERM),
    GateKind("CRY", 2, 1, controlled(ry), "CRY", FOUR_TERM),
    GateKind("CRZ", 2, 1, controlled(rz), "CRZ", FOUR_TERM),
    GateKind("CRot", 2, 3, controlled(rot), "CRot", FOUR_TERM),
    GateKind("ControlledPhaseShift", 2, 1, controlled(phase_shift), "ControlledPhaseShift", TWO_TERM,
             aliases=("CPHASE",)),
    GateKind("IsingXX", 2, 1, ising(_X), "IsingXX", TWO_TERM),
    GateKind("IsingYY", 2, 1, ising(_Y), "IsingYY", TWO_TERM),
    GateKind("IsingZZ", 2, 1, ising_zz, "IsingZZ", TWO_TERM),
]
GATES: dict[str, GateKind] = {**{k.name: k for k in _KINDS}, **{a: k for k in _KINDS for a in k.aliases}}


def gate_kind(name: str) -> GateKind:
    if name not in GATES:
        raise ValueError(f"unknown gate {name!r}; the registry has {', '.join(k.name for k in _KINDS)}")
    return GATES[name]
