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

A NoiseModel holds the channels per wire: the same on every wire for ``backend.noise``'s
probabilities, or a device's from its calibration (``backend.noise.from``;
qhybrid.quantum.calibration), mapped as Qiskit Aer's device models do: during a gate of
duration t a wire relaxes (amplitude damping 1 - exp(-t/T1), then phase damping
1 - exp(-2t (1/T2 - 1/(2 T1))), the pure dephasing), and a depolarizing channel makes up the
rest of the gate's reported error (average infidelity r: p = 3/2 (r - r_relax) on one
qubit, 5/4 (r - r_relax) on two).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Optional

import torch

from qhybrid.errors import ConfigError
from qhybrid.quantum.calibration import Calibration, load_calibration
from qhybrid.quantum.spec import NoiseSpec

_I = torch.eye(2, dtype=torch.complex128)
_PAULIS = [_I, torch.tensor([[0, 1], [1, 0]], dtype=torch.complex128),
           torch.tensor([[0, -1j], [1j, 0]], dtype=torch.complex128),
           torch.tensor([[1, 0], [0, -1]], dtype=torch.complex128)]
RELAXATION = ("amplitude_damping", "phase_damping")
WIRE_CHANNELS = ("depolarizing", *RELAXATION, "bit_flip", "phase_flip", "readout_01", "readout_10")


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


def _channel(spec: NoiseSpec) -> torch.Tensor:
    channel = wire_channel(spec, False)
    return torch.eye(4, dtype=torch.complex128) if channel is None else channel


def relaxation(seconds: float, t1: float, t2: float) -> NoiseSpec:
    """Amplitude and phase damping of a wire idle for ``seconds`` (T2 above 2 T1, which is
    unphysical, dephases no more than T1 alone does)."""
    dephasing_rate = max(0.0, 1 / t2 - 1 / (2 * t1))
    return NoiseSpec(amplitude_damping=-math.expm1(-seconds / t1),
                     phase_damping=-math.expm1(-2 * seconds * dephasing_rate))


def average_infidelity(S: torch.Tensor) -> float:
    """1 - the average gate fidelity of a channel (superoperator S on d levels, d^2 x d^2):
    the process fidelity with the identity is Tr S / d^2."""
    d = round(math.sqrt(S.shape[0]))
    process = float(torch.trace(S).real) / d**2
    return 1 - (d * process + 1) / (d + 1)


@dataclass
class NoiseModel:
    """The channels after each gate, per wire (``single``: a one-wire gate's on that wire,
    and the wire's readout error) and per pair (``pairs``: a two-wire gate's pair
    depolarizing, None for one per wire, and each wire's other channels)."""

    single: list[NoiseSpec]
    pairs: dict = field(default_factory=dict)  # (a, b) -> (p2 or None, NoiseSpec of a, NoiseSpec of b)
    uniform: Optional[NoiseSpec] = None  # every wire and pair the same: backend.noise's probabilities
    source: Optional[dict] = None  # the calibration it was mapped from

    @classmethod
    def of(cls, spec: NoiseSpec, n: int) -> "NoiseModel":
        if spec.from_:
            return cls.calibrated(load_calibration(spec.from_), n, spec.from_)
        return cls([spec] * n, uniform=spec)

    @classmethod
    def calibrated(cls, cal: Calibration, n: int, source: str) -> "NoiseModel":
        if n > len(cal.qubits):
            raise ConfigError(f"backend.noise.from={source}: {cal.name} has {len(cal.qubits)} qubits, the circuit {n}",
                              "use a larger device's calibration, or fewer qubits")
        single = []
        for q in cal.qubits[:n]:
            relax = relaxation(q.gate_time, q.t1, q.t2)
            rest = q.gate_error - average_infidelity(_channel(relax))
            single.append(replace(relax, depolarizing=min(1.0, 1.5 * max(0.0, rest)), readout_01=q.readout_01,
                                  readout_10=q.readout_10))
        pairs = {}
        for a, b in itertools.combinations(range(n), 2):
            error, seconds = cal.pair(a, b)
            ra, rb = (relaxation(seconds, cal.qubits[w].t1, cal.qubits[w].t2) for w in (a, b))
            # the trace, and so the fidelity, of the two wires' channel does not depend on its index order
            rest = error - average_infidelity(torch.kron(*(_channel(r) for r in (ra, rb))))
            pairs[(a, b)] = (min(1.0, 1.25 * max(0.0, rest)), ra, rb)
        return cls(single, pairs, source={"from": source, **cal.record()})

    @property
    def n(self) -> int:
        return len(self.single)

    @property
    def active(self) -> bool:
        return self.uniform.active if self.uniform is not None else True

    def readout_errors(self, wire: int) -> tuple[float, float]:
        return self.single[wire].readout_errors

    def confusion(self, wire: int) -> Optional[torch.Tensor]:
        return readout_confusion(self.single[wire])

    def gate_channels(self, wires: tuple[int, ...]) -> list[tuple[torch.Tensor, tuple[int, ...]]]:
        """The channels after a gate on ``wires``, in this module's order."""
        if len(wires) == 2 and self.uniform is None:
            p2, *each = self.pairs[tuple(sorted(wires))]
            each = each if wires[0] < wires[1] else each[::-1]
            out = [(superoperator(two_wire_depolarizing(p2)), wires)] if p2 else []
            return out + [(c, (w,)) for w, spec in zip(wires, each) if (c := wire_channel(spec, False)) is not None]
        spec = self.single[wires[0]]
        pair = len(wires) == 2 and bool(spec.depolarizing_2q)
        out = [(superoperator(two_wire_depolarizing(spec.depolarizing_2q)), wires)] if pair else []
        return out + [(c, (w,)) for w in wires if (c := wire_channel(self.single[w], not pair)) is not None]

    def record(self) -> Optional[dict]:
        """What metrics.json records: the probabilities that act, or the calibration and the
        channels per wire and pair it was mapped to."""
        if self.uniform is not None:
            return self.uniform.record()
        per_wire = {k: [round(getattr(s, k) or 0.0, 8) for s in self.single] for k in WIRE_CHANNELS}
        pairs = {f"{a}-{b}": {"depolarizing_2q": round(p2, 8), **{k: [round(getattr(r, k), 8) for r in (ra, rb)]
                                                                   for k in RELAXATION}}
                 for (a, b), (p2, ra, rb) in self.pairs.items()}
        return {**self.source, "per_wire": per_wire, "pairs": pairs}

