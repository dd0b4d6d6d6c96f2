"""One description of a circuit, as data.

``QuantumSpec`` (qhybrid.schema) says what the circuit is: embedding, gating, ansatz,
re-uploading. ``compile_program`` turns it into a ``Program``: a flat list of gates, each
reading its angle from one column of an angle matrix ``A`` of shape (batch, n_columns).
``Program.angles`` builds ``A`` from a batch of inputs and the trainable weights in a few
tensor operations (one gather), so every executor sees the same gates and the same numbers:

* the PennyLane executor turns each gate into a ``qml`` operation with a broadcast angle;
* the parameter-shift path shifts columns of ``A`` (each column feeds exactly one gate);
* the native simulator (qhybrid.quantum.native) applies them to a batched state vector.

Gates and their conventions are PennyLane's: RX/RY/RZ, Rot(phi, theta, omega) =
RZ(omega) RY(theta) RZ(phi), CNOT, Hadamard, ControlledPhaseShift.

Gating (angle embedding only), for the circuit's input ``x`` (already scaled to angles):

* ``none``: one rotation per wire (PennyLane's AngleEmbedding).
* ``hard``: the seeds' rule. For wire i in order: if ``|x_i| > threshold``, apply the
  rotation and a CNOT from wire i to wire i+1 (a ring); otherwise apply neither. Per sample,
  without branching: the angle is ``x_i * m_i`` and the CNOT is
  ``H(t) CPhase(pi * m_i) H(t)`` with ``m_i`` in {0, 1} -- the identity when ``m_i = 0``.
* ``soft``: ``g_i = sigmoid(alpha * (|x_i| - tau))`` scales the angle and is the power of the
  CNOT (``CPhase(pi * g_i)``): a differentiable relaxation that becomes the hard rule as
  alpha grows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import torch

from qhybrid.quantum.ansatze import ANSATZE, ansatz_weight_shape
from qhybrid.quantum.gates import Gate
from qhybrid.quantum.polynomial import PolyMap

ROTATIONS = ("X", "Y", "Z")
EMBEDDINGS = ("angle", "amplitude")
GATINGS = ("none", "hard", "soft")


# where a column of the angle matrix comes from
SOURCE_INPUT, SOURCE_GATE, SOURCE_WEIGHT = "input", "gate", "weight"


@dataclass
class Program:
    n_qubits: int
    gates: list[Gate]
    # one entry per column: (source, index) with index into the wire (input, gate) or the
    # flattened weight tensor (weight)
    columns: list[tuple[str, int]] = field(default_factory=list)
    embedding: str = "angle"
    gating: str = "none"
    weight_shape: Optional[tuple[int, ...]] = None
    # user circuits (qhybrid.quantum.circuit_ops): gate parameters that are polynomials of the
    # inputs and weights read derived blocks, made by these maps from the raw ones
    input_map: Optional[PolyMap] = None  # (B, n_inputs [+ weights]) -> the input block
    input_map_reads_weights: bool = False
    weight_map: Optional[PolyMap] = None  # (1, weights) -> the shared block (weights, constants)
    observables: Optional[list] = None  # qhybrid.quantum.observables; None: <Z> on every wire
    n_inputs: Optional[int] = None  # the numbers a sample gives the circuit (user circuits)
    opaque: dict = field(default_factory=dict)  # operations outside the gate registry (name -> qml class): PennyLane runs them
    # columns whose parameter reads no input and no weight: nothing to differentiate or shift
    constant_columns: frozenset = field(default_factory=frozenset)
    _index_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def angles(self, x: torch.Tensor, weights: Optional[torch.Tensor], gate: Optional[torch.Tensor]) -> "Angles":
        """The angles of a batch of inputs ``x`` (B, n_inputs).

        ``gate`` is the per-sample gate value (B, n_inputs): the mask for hard gating, the
        sigmoid for soft gating, None without gating.
        """
        if self.input_map is not None:
            z = x
            if self.input_map_reads_weights:
                z = torch.cat([x, weights.reshape(1, -1).expand(x.shape[0], -1)], dim=1)
            x = self.input_map(z)
        if self.weight_map is not None:
            weights = self.weight_map(x.new_zeros(1, 0) if weights is None else weights.reshape(1, -1))
        if gate is None:
            return Angles(self, x, None, weights)
        return Angles(self, x * gate, math.pi * gate, weights)

    def _gather_index(self, n_inputs: int, device: torch.device) -> torch.Tensor:
        key = (n_inputs, str(device))
        if key not in self._index_cache:
            offsets = {SOURCE_INPUT: 0, SOURCE_GATE: n_inputs, SOURCE_WEIGHT: 2 * n_inputs}
            self._index_cache[key] = torch.tensor([offsets[src] + i for src, i in self.columns], dtype=torch.long,
                                                  device=device)
        return self._index_cache[key]


@dataclass
class Angles:
    """A batch's angle matrix A (B, n_columns), kept as its sources until an executor asks
    for the matrix: column c is ``source(src)[:, i]`` for ``(src, i) = program.columns[c]``.
    Executors that read columns from the sources skip building A (a copy of the weights
    for every sample) and its backward."""

    program: Program
    inputs: torch.Tensor  # (B, n_inputs): x, or x * gate
    gates: Optional[torch.Tensor]  # (B, n_inputs): pi * gate; None without gating
    weights: Optional[torch.Tensor]

    @property
    def batch(self) -> int:
        return self.inputs.shape[0]

    def source(self, name: str) -> torch.Tensor:
        """(B, k) per-sample source, or (1, k) for the weights."""
        if name == SOURCE_INPUT:
            return self.inputs
        if name == SOURCE_GATE:
            return self.gates
        return self.weights.reshape(1, -1)

    def matrix(self) -> torch.Tensor:
        x = self.inputs
        # without gating no column reads the gate block: x stands in for it (no allocation)
        blocks = [x, x if self.gates is None else self.gates]
        if self.weights is not None:
            blocks.append(self.weights.reshape(1, -1).expand(x.shape[0], -1))
        return torch.cat(blocks, dim=1).index_select(1, self.program._gather_index(x.shape[1], x.device))


def compile_program(spec) -> Program:
    """Flatten a validated QuantumSpec into gates reading columns of the angle matrix."""
    n = spec.n_qubits
    gates: list[Gate] = []
    columns: list[tuple[str, int]] = []

    def column(source: str, index: int) -> int:
        columns.append((source, index))
        return len(columns) - 1

    def embed() -> None:
        if spec.embedding == "amplitude":
            gates.append(Gate("AMPLITUDE", tuple(range(n))))
            return
        rot = "R" + spec.rotation
        for i in range(n):
            gates.append(Gate(rot, (i,), (column(SOURCE_INPUT, i),)))
            if spec.gating != "none" and n > 1:
                target = (i + 1) % n
                gates.append(Gate("H", (target,)))
                gates.append(Gate("CPHASE", (i, target), (column(SOURCE_GATE, i),)))
                gates.append(Gate("H", (target,)))

    ansatz = ANSATZE.get(spec.ansatz, key="model.quantum.ansatz")
    shape = ansatz_weight_shape(spec.ansatz, spec.n_layers, n)
    layers = spec.n_layers if shape is not None else 1
    for layer in range(layers):
        if layer == 0 or spec.reupload:
            embed()
        ansatz.build(gates, layer, spec, lambda k: column(SOURCE_WEIGHT, k))
    n_inputs = (spec.amplitude_features or 2**n) if spec.embedding == "amplitude" else n
    return Program(n_qubits=n, gates=gates, columns=columns, embedding=spec.embedding, gating=spec.gating,
                   weight_shape=shape, n_inputs=n_inputs)
