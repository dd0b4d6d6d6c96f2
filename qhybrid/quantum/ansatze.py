"""The ansatz registry (model.quantum.ansatz): each trainable block's name, the gates of one
of its layers, its weight shape and one line about it. compile_program (qhybrid.quantum.circuit)
repeats the block ``n_layers`` times; a builder appends one layer's gates, reading weight ``k``
of the flattened weight tensor as ``weight_column(k)``. The weight shapes are the PennyLane
templates' own (tests/test_quantum.py compares them with ``shape()``), written here because asking
PennyLane would load it (seconds) in every native run.
"""

from __future__ import annotations

from typing import Optional

from qhybrid.quantum.gates import Gate
from qhybrid.registry import Registry

ANSATZE = Registry("model.quantum.ansatz", "ansatz")


def ansatz_weight_shape(ansatz: str, n_layers: int, n_qubits: int) -> Optional[tuple[int, ...]]:
    """The weight tensor's shape; None for a block without weights."""
    shape = ANSATZE.get(ansatz, key="model.quantum.ansatz").extra["shape"]
    return None if shape is None else tuple(shape(n_layers, n_qubits))


def no_layer(gates: list[Gate], layer: int, spec, weight_column) -> None:
    """ansatz=none: the embedding alone, read out as it is."""


def basic_entangler_layer(gates: list[Gate], layer: int, spec, weight_column) -> None:
    """PennyLane's BasicEntanglerLayers, one layer: a rotation per wire, then a CNOT ring
    (one CNOT for two wires, none for one)."""
    n = spec.n_qubits
    for i in range(n):
        gates.append(Gate("R" + spec.entangler_rotation, (i,), (weight_column(layer * n + i),)))
    if n == 2:
        gates.append(Gate("CNOT", (0, 1)))
    elif n > 2:
        for i in range(n):
            gates.append(Gate("CNOT", (i, (i + 1) % n)))


def strongly_entangling_layer(gates: list[Gate], layer: int, spec, weight_column) -> None:
    """PennyLane's StronglyEntanglingLayers, one layer: Rot on every wire, then CNOTs (or the
    template's ``imprimitive``) from wire i to i + r (mod n) with the default range
    r = (layer mod (n - 1)) + 1."""
    n, imprimitive = spec.n_qubits, getattr(spec, "imprimitive", "CNOT")
    for i in range(n):
        base = (layer * n + i) * 3
        gates.append(Gate("ROT", (i,), tuple(weight_column(base + k) for k in range(3))))
    if n > 1:
        r = layer % (n - 1) + 1
        for i in range(n):
            gates.append(Gate(imprimitive, (i, (i + r) % n)))


ANSATZE.add("none", None, no_layer, "no trainable circuit: the embedding read out as it is", shape=None)
ANSATZE.add("basic_entangler", None, basic_entangler_layer,
            "PennyLane's BasicEntanglerLayers: one rotation per wire, a CNOT ring",
            shape=lambda n_layers, n_qubits: (n_layers, n_qubits))
ANSATZE.add("strongly_entangling", None, strongly_entangling_layer,
            "PennyLane's StronglyEntanglingLayers: Rot per wire, CNOTs of growing range",
            shape=lambda n_layers, n_qubits: (n_layers, n_qubits, 3))
