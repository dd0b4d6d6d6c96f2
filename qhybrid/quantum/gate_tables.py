"""Single-wire registry gates as tables, for the compact strategy's kernels
(qhybrid.quantum.native_kernels). Conventions are the registry's (PennyLane's).

Every entry of these matrices is a product of at most two of cos(A_m), sin(A_m) and 1, where
A = params @ C are linear combinations of the parameters; so each gate kind is a table and
one compiled loop builds every kind.

Derivatives come from the same loop, evaluated with each parameter moved by pi:
* a parameter that enters as a half angle (RX, RY, RZ, Rot's three, U3's theta) makes each
  entry a cos(t/2) + b sin(t/2), and then dU/dt = U(t + pi) / 2;
* one that enters as a full phase (PhaseShift, U3's phi and delta) leaves each entry either
  unchanged or times e^{it}, and then dU/dt = i (U(t) - U(t + pi)) / 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qhybrid.quantum.gate_registry import gate_kind

HALF, FULL = 0, 1  # the two derivative rules above
MAX_PARAMS, MAX_ANGLES = 3, 4  # every table is padded to these, so the kernels read all kinds alike


@dataclass(frozen=True)
class GateTable:
    """A gate kind as a table: ``combos`` (MAX_PARAMS, MAX_ANGLES) maps parameters to angles A; ``first`` and
    ``second`` (8,) index [cos A, sin A, 1] for the two factors of each real entry (Re, Im of
    the (0,0), (0,1), (1,0), (1,1) entries in that order) and ``sign`` (8,) scales it;
    ``rules`` (p,) is each parameter's derivative rule."""

    name: str
    combos: np.ndarray
    shift_cos: np.ndarray  # cos(pi combos), sin(pi combos): how a parameter's pi shift moves each angle
    shift_sin: np.ndarray
    first: np.ndarray
    second: np.ndarray
    sign: np.ndarray
    rules: np.ndarray  # padded to MAX_PARAMS
    n_params: int


def _table(name: str, combos: list[list[float]], entries: list[tuple], rules: tuple[int, ...]) -> GateTable:
    """``entries``: 8 terms (sign, first, second) over the factor names c0.., s0.., 1."""
    a = MAX_ANGLES
    names = {**{f"c{m}": m for m in range(a)}, **{f"s{m}": a + m for m in range(a)}, "1": 2 * a}
    padded = np.zeros((MAX_PARAMS, a))
    padded[: len(combos), : len(combos[0])] = combos
    return GateTable(name, padded, np.cos(np.pi * padded), np.sin(np.pi * padded),
                     np.array([names[e[1]] for e in entries]), np.array([names[e[2]] for e in entries]), np.array([float(e[0]) for e in entries]),
                     np.array(list(rules) + [HALF] * (MAX_PARAMS - len(rules)), dtype=np.int64), len(rules))


_ZERO = (0, "1", "1")
_TABLES = {
    # half angle t = theta / 2: c0 = cos t, s0 = sin t
    "RX": _table("RX", [[0.5]], [(1, "c0", "1"), _ZERO, _ZERO, (-1, "s0", "1"),
                                 _ZERO, (-1, "s0", "1"), (1, "c0", "1"), _ZERO], (HALF,)),
    "RY": _table("RY", [[0.5]], [(1, "c0", "1"), _ZERO, (-1, "s0", "1"), _ZERO,
                                 (1, "s0", "1"), _ZERO, (1, "c0", "1"), _ZERO], (HALF,)),
    "RZ": _table("RZ", [[0.5]], [(1, "c0", "1"), (-1, "s0", "1"), _ZERO, _ZERO,
                                 _ZERO, _ZERO, (1, "c0", "1"), (1, "s0", "1")], (HALF,)),
    "PhaseShift": _table("PhaseShift", [[1.0]], [(1, "1", "1"), _ZERO, _ZERO, _ZERO,
                                                 _ZERO, _ZERO, (1, "c0", "1"), (1, "s0", "1")], (FULL,)),
    # Rot(phi, theta, omega): a = e^{i alpha} cos t, b = e^{i beta} sin t; [[a, -b], [b*, a*]]
    # with alpha = -(phi + omega) / 2, beta = (phi - omega) / 2, t = theta / 2 (angles 0, 1, 2)
    "Rot": _table("Rot", [[-0.5, 0.5, 0.0], [0.0, 0.0, 0.5], [-0.5, -0.5, 0.0]],
                  [(1, "c0", "c2"), (1, "s0", "c2"), (-1, "c1", "s2"), (-1, "s1", "s2"),
                   (1, "c1", "s2"), (-1, "s1", "s2"), (1, "c0", "c2"), (-1, "s0", "c2")], (HALF, HALF, HALF)),
    # U3(theta, phi, delta) = [[c, -e^{i delta} s], [e^{i phi} s, e^{i (phi + delta)} c]]
    # with angles t = theta / 2, phi, delta, phi + delta (0..3)
    "U3": _table("U3", [[0.5, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]],
                 [(1, "c0", "1"), _ZERO, (-1, "c2", "s0"), (-1, "s2", "s0"),
                  (1, "c1", "s0"), (1, "s1", "s0"), (1, "c3", "c0"), (1, "s3", "c0")], (HALF, FULL, FULL)),
}


def gate_table(name: str):
    """The table of a single-wire registry gate with parameters, None when it has none or
    is not tabulated here (the compact strategy then leaves the circuit to the torch plans)."""
    return _TABLES.get(gate_kind(name).name)


def fixed_matrix(name: str) -> np.ndarray:
    """A single-wire gate without parameters, (2, 2) complex128, from the registry."""
    return gate_kind(name).matrix(()).numpy()[0]
