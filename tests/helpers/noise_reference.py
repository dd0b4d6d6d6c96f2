"""PennyLane's default.mixed with the channels a NoiseModel (or backend.noise's probabilities)
puts after each gate, one sample and one observable at a time: the reference the native
density-matrix mode is tested against. It reads the model's probabilities per wire and pair,
never its superoperators."""

from __future__ import annotations

import math
from dataclasses import replace

import pennylane as qml
import torch

from qhybrid.quantum.gate_registry import gate_kind
from qhybrid.quantum.native_shots import flat_program
from qhybrid.quantum.noise import NoiseModel, two_wire_depolarizing
from qhybrid.quantum.observables import Observable, default_observables, pennylane_measurements
from qhybrid.quantum.programs import program_of
from qhybrid.quantum.spec import NoiseSpec, QuantumSpec


def flat_pair(spec: QuantumSpec):
    """The circuit, and the same circuit reading its angle matrix as inputs (so gradients are
    taken with respect to it)."""
    program = program_of(spec)
    return program, replace(flat_program(program), observables=program.observables)


def _each_wire(gate, model: NoiseModel) -> tuple[float, dict]:
    """A gate's pair depolarizing (0: none) and the one-wire channels' probabilities per wire."""
    if len(gate.wires) == 1:
        return 0.0, {gate.wires[0]: model.single[gate.wires[0]]}
    if model.uniform is None:
        p2, *each = model.pairs[tuple(sorted(gate.wires))]
        return p2, dict(zip(sorted(gate.wires), each))
    p2 = model.uniform.depolarizing_2q or 0.0
    spec = replace(model.uniform, depolarizing=0.0) if p2 else model.uniform
    return p2, {w: spec for w in gate.wires}


def _after(gate, model: NoiseModel) -> None:
    p2, each = _each_wire(gate, model)
    if p2:
        qml.QubitChannel([k.numpy() for k in two_wire_depolarizing(p2)], wires=list(gate.wires))
    for wire in gate.wires:
        spec = each[wire]
        for channel, p in ((qml.DepolarizingChannel, spec.depolarizing), (qml.AmplitudeDamping, spec.amplitude_damping),
                           (qml.PhaseDamping, spec.phase_damping), (qml.BitFlip, spec.bit_flip),
                           (qml.PhaseFlip, spec.phase_flip)):
            if p:
                channel(p, wires=wire)


def _flips(wire: int, p01: float, p10: float) -> None:
    """A readout error on a wire read in the Z basis, as a channel on its populations."""
    kraus = [[[math.sqrt(1 - p10), 0], [0, 0]], [[0, 0], [math.sqrt(p10), 0]],
             [[0, 0], [0, math.sqrt(1 - p01)]], [[0, math.sqrt(p01)], [0, 0]]]
    qml.QubitChannel([torch.tensor(k, dtype=torch.complex128).numpy() for k in kraus], wires=wire)


def _readout(observable, model: NoiseModel) -> None:
    """Each measured wire's readout error before measuring: on the populations where it is read
    in the Z basis, a phase flip (which flips X and Y outcomes; symmetric errors only) where in
    X or Y. (default.mixed's own readout_prob fails in this PennyLane: its measure() iterates a
    float.)"""
    bases = {wire: "Z" for wire in (observable.probs or ())}
    for _, word in observable.terms:
        bases.update({wire: pauli for pauli, wire in word})
    for wire, pauli in bases.items():
        p01, p10 = model.readout_errors(wire)
        if p01 or p10:
            _flips(wire, p01, p10) if pauli == "Z" else qml.PhaseFlip(p01, wires=wire)


def mixed_reference(program, noise: NoiseSpec | NoiseModel, A: torch.Tensor) -> torch.Tensor:
    model = NoiseModel.of(noise, program.n_qubits) if isinstance(noise, NoiseSpec) else noise
    observables = program.observables or default_observables(program.n_qubits)

    @qml.qnode(qml.device("default.mixed", wires=program.n_qubits), interface="torch", diff_method="backprop")
    def circuit(row, observable):
        for gate in program.gates:
            # each gate as PennyLane's own matrix (complex128): default.mixed applies ControlledPhaseShift
            # itself with an error of ~1e-9 (against default.qubit), so it is given the matrix
            operation = gate_kind(gate.name).operation()
            qml.QubitUnitary(qml.matrix(operation(*(row[c] for c in gate.columns), wires=list(gate.wires))),
                             wires=list(gate.wires))
            _after(gate, model)
        _readout(observable, model)
        return pennylane_measurements([observable])

    def measured(row, observable) -> torch.Tensor:
        if observable.probs is not None:
            return torch.as_tensor(circuit(row, observable)[0]).reshape(-1)
        # word by word: each is measured in its own bases, its readout errors on those wires
        return sum(c * torch.as_tensor(circuit(row, Observable(observable.label, terms=((1.0, word),)))[0])
                   for c, word in observable.terms).reshape(-1)

    rows = []
    for row in A:  # a few samples, one observable at a time: the reference's loops, not the executor's
        rows.append(torch.cat([measured(row, o) for o in observables]))
    return torch.stack(rows)
