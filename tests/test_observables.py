"""Readouts (model.quantum.observables): random Pauli words with coefficients, sums of them and
probabilities of wire subsets, on random registry-gate circuits (1-6 qubits, up to 30 gates,
batches from 1), read by the native executor
equal PennyLane default.qubit's expval/probs, with input and weight gradients, within 1e-10
in float64; bad labels are one line."""

from __future__ import annotations

import pennylane as qml
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qhybrid.errors import ConfigError
from qhybrid.quantum.circuit import SOURCE_INPUT, SOURCE_WEIGHT, Program
from qhybrid.quantum.gate_registry import GATES
from qhybrid.quantum.gates import Gate
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.observables import output_width, parse_observables
from qhybrid.quantum.pennylane_executor import _columns, build_qnode

NAMES = sorted({kind.name for kind in GATES.values()})


@st.composite
def observable_labels(draw, n: int):
    labels = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 4)) == 0:
            wires = draw(st.permutations(range(n)))[: draw(st.integers(1, n))]
            labels.append("probs(" + ", ".join(map(str, wires)) + ")" if draw(st.booleans()) or len(wires) < n
                          else "probs")
            continue
        terms = []
        for _ in range(draw(st.integers(1, 3))):
            wires = draw(st.permutations(range(n)))[: draw(st.integers(1, n))]
            word = " ".join(draw(st.sampled_from("XYZ")) + str(w) for w in wires)
            coefficient = draw(st.sampled_from(["", "0.5 ", "-1.5 ", "2*"]))
            terms.append(coefficient + word)
        labels.append(" + ".join(terms))
    return labels


@st.composite
def cases(draw):
    n = draw(st.integers(1, 6))
    gates, columns = [], []
    for _ in range(draw(st.integers(1, 30))):
        kind = GATES[draw(st.sampled_from(NAMES))]
        if kind.n_wires > n:
            continue
        cols = []
        for _ in range(kind.n_params):
            source = draw(st.sampled_from([SOURCE_INPUT, SOURCE_WEIGHT]))
            columns.append((source, draw(st.integers(0, n - 1))))
            cols.append(len(columns) - 1)
        gates.append(Gate(kind.name, tuple(draw(st.permutations(range(n)))[: kind.n_wires]), tuple(cols)))
    program = Program(n_qubits=n, gates=gates, columns=columns, weight_shape=(n,),
                      observables=parse_observables(draw(observable_labels(n)), n))
    return program, draw(st.sampled_from([1, 2, 5])), draw(st.integers(0, 2**31 - 1))


def _run(run, program, x, w, projection):
    x, w = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    out = run(program.angles(x, w, None))
    if out.requires_grad:
        (out * projection).sum().backward()
    grads = [torch.zeros_like(t) if t.grad is None else t.grad for t in (x, w)]
    return [out.detach(), *grads]


@pytest.mark.parametrize("strategy", ["fused", "gates"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_native_readout_equals_pennylane(strategy, case):
    program, batch, seed = case
    generator = torch.Generator().manual_seed(seed)
    n, width = program.n_qubits, output_width(program.observables)
    x = torch.rand(batch, n, generator=generator, dtype=torch.float64) * 4 - 2
    w = torch.rand(n, generator=generator, dtype=torch.float64) * 6
    projection = torch.rand(batch, width, generator=generator, dtype=torch.float64)
    qnode = build_qnode(program, qml.device("default.qubit", wires=n), "backprop", None)
    def reference(angles):
        A = angles.matrix()
        return _columns(qnode(A), batch, broadcast=A.shape[1] > 0)

    ours = _run(NativeExecutor(program, strategy), program, x, w, projection)
    theirs = _run(reference, program, x, w, projection)
    assert ours[0].shape == (batch, width)
    for a, b, what in zip(ours, theirs, ("outputs", "input gradients", "weight gradients")):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0, msg=what)


def test_widths_follow_the_observables():
    observables = parse_observables(["Z0", "Z0 Z1", "0.5 X1 - Y2", "probs", "probs(2, 0)"], 3)
    assert [o.width for o in observables] == [1, 1, 1, 8, 4]
    assert observables[2].terms == ((0.5, (("X", 1),)), (-1.0, (("Y", 2),)))
    assert observables[4].probs == (2, 0)
    assert parse_observables(None, 2) == parse_observables(["Z0", "Z1"], 2)


@pytest.mark.parametrize("label, words", [
    ("Z5", "reads wire 5"), ("Q0", "is not a Pauli operator"), ("Z0 Z0", "acts on wire 0 twice"),
    ("probs(0, 0)", "names a wire twice"), ("0.5", "coefficient without a Pauli word"),
    ("probs(0,)", "does not list wires"),
])
def test_bad_observables_are_one_line(label, words):
    with pytest.raises(ConfigError) as err:
        parse_observables([label], 3)
    assert words in str(err.value) and "Fix:" in str(err.value) and "\n" not in str(err.value)
