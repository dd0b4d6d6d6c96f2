"""The native executor runs any gate of the registry, mixed with the gates it fuses: random
programs (1-5 qubits, up to 30 gates, angles from the inputs, the weights or none, batches
from 1) give PennyLane default.qubit's outputs and input/weight gradients within 1e-10 in
float64, under both strategies."""

from __future__ import annotations

import pennylane as qml
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qhybrid.quantum.circuit import SOURCE_INPUT, SOURCE_WEIGHT, Program
from qhybrid.quantum.gate_registry import GATES
from qhybrid.quantum.gates import Gate
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.pennylane_executor import build_qnode

# the registry's gates plus the compiled programs' own names (the native executor's fast paths)
NAMES = sorted({kind.name for kind in GATES.values()} | {"ROT"})


@st.composite
def programs(draw):
    n = draw(st.integers(1, 5))
    n_inputs, n_weights = n, draw(st.integers(1, 6))
    gates, columns = [], []
    for _ in range(draw(st.integers(1, 30))):
        kind = GATES[draw(st.sampled_from(NAMES))]
        if kind.n_wires > n:
            continue
        wires = tuple(draw(st.permutations(range(n)))[:kind.n_wires])
        cols = []
        for _ in range(kind.n_params):
            source = draw(st.sampled_from([SOURCE_INPUT, SOURCE_WEIGHT]))
            columns.append((source, draw(st.integers(0, (n_inputs if source == SOURCE_INPUT else n_weights) - 1))))
            cols.append(len(columns) - 1)
        name = kind.name if kind.name != "Rot" or draw(st.booleans()) else "ROT"
        gates.append(Gate(name, wires, tuple(cols)))
    program = Program(n_qubits=n, gates=gates, columns=columns, weight_shape=(n_weights,))
    return program, draw(st.integers(1, 4)), draw(st.integers(0, 2**31 - 1))


def _outputs_and_gradients(run, program: Program, x: torch.Tensor, w: torch.Tensor, projection: torch.Tensor):
    x, w = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    out = run(program.angles(x, w, None))
    if out.requires_grad:  # a circuit whose gates read no angle has nothing to differentiate
        (out * projection).sum().backward()
    zero = torch.zeros_like
    return out.detach(), zero(x) if x.grad is None else x.grad, zero(w) if w.grad is None else w.grad


@pytest.mark.parametrize("strategy", ["fused", "gates"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=programs())
def test_native_runs_any_registry_gate_as_pennylane_does(strategy, case):
    program, batch, seed = case
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, program.n_qubits, generator=generator, dtype=torch.float64) * 4 - 2
    w = torch.rand(program.weight_shape, generator=generator, dtype=torch.float64) * 6
    projection = torch.rand(batch, program.n_qubits, generator=generator, dtype=torch.float64)
    native = NativeExecutor(program, strategy)
    qnode = build_qnode(program, qml.device("default.qubit", wires=program.n_qubits), "backprop", None)

    def reference(angles):
        result = torch.stack(list(qnode(angles.matrix())), dim=-1)
        return result.expand(batch, -1) if result.dim() == 1 else result  # no broadcast angle: one circuit

    ours = _outputs_and_gradients(native, program, x, w, projection)
    theirs = _outputs_and_gradients(reference, program, x, w, projection)
    for a, b, what in zip(ours, theirs, ("outputs", "input gradients", "weight gradients")):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0, msg=what)
