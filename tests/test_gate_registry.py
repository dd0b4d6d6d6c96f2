"""The gate registry against PennyLane in float64: every gate's batched matrix equals
qml.matrix of its operation, is unitary, and its shift rule gives the exact derivative."""

from __future__ import annotations

import math

import numpy as np
import pennylane as qml
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qhybrid.quantum.gate_registry import GATES, gate_kind

KINDS = sorted({kind.name: kind for kind in GATES.values()}.values(), key=lambda k: k.name)
ANGLES = st.lists(st.floats(-2 * math.pi, 2 * math.pi, allow_nan=False), min_size=3, max_size=3)
REQUIRED = ("RX RY RZ Rot PhaseShift U3 H S T X Y Z CNOT CZ CY SWAP CRX CRY CRZ CRot ControlledPhaseShift "
            "IsingXX IsingYY IsingZZ").split()


def test_the_registry_has_every_gate_the_circuits_need():
    assert set(REQUIRED) <= {k.name for k in KINDS}
    assert gate_kind("ROT") is gate_kind("Rot") and gate_kind("CPHASE") is gate_kind("ControlledPhaseShift")
    with pytest.raises(ValueError, match="unknown gate 'RW'"):
        gate_kind("RW")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_the_operation_has_the_registered_wires_and_parameters(kind):
    op = kind.operation()
    assert op.num_wires == kind.n_wires and op.num_params == kind.n_params
    assert bool(kind.recipe) == (kind.n_params > 0)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@settings(max_examples=10, deadline=None)
@given(angles=ANGLES)
def test_the_batched_matrix_is_pennylanes(kind, angles):
    # a batch of three parameter sets: the given one, its negation, and a shifted copy
    batch = np.array([angles, [-a for a in angles], [a + 0.3 for a in angles]])[:, :kind.n_params]
    params = tuple(torch.tensor(batch[:, p], dtype=torch.float64) for p in range(kind.n_params))
    ours = kind.matrix(params, torch.complex128).numpy()
    op = kind.operation()(*[batch[:, p] for p in range(kind.n_params)], wires=range(kind.n_wires))
    theirs = np.broadcast_to(qml.matrix(op), (len(ours), 2**kind.n_wires, 2**kind.n_wires)) if kind.n_params \
        else qml.matrix(op)[None]
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    eye = np.eye(2**kind.n_wires)
    np.testing.assert_allclose(ours @ ours.conj().transpose(0, 2, 1), np.broadcast_to(eye, ours.shape), atol=1e-12)


def _expectation(kind, params: list[torch.Tensor], state: torch.Tensor, observable: torch.Tensor) -> torch.Tensor:
    u = kind.matrix(tuple(p.reshape(1) for p in params), torch.complex128)[0]
    out = u @ state
    return (out.conj() @ observable @ out).real


@pytest.mark.parametrize("kind", [k for k in KINDS if k.n_params], ids=lambda k: k.name)
@settings(max_examples=10, deadline=None)
@given(angles=ANGLES, seed=st.integers(0, 2**16))
def test_the_shift_rule_gives_the_exact_derivative(kind, angles, seed):
    rng = np.random.default_rng(seed)
    d = 2**kind.n_wires
    state = torch.tensor(rng.normal(size=d) + 1j * rng.normal(size=d))
    state = state / torch.linalg.vector_norm(state)
    a = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    observable = torch.tensor(a + a.conj().T)
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in angles[:kind.n_params]]
    exact = torch.autograd.grad(_expectation(kind, params, state, observable), params)
    for p in range(kind.n_params):
        shifted = sum(c * _expectation(kind, [x.detach() + (s if q == p else 0.0) for q, x in enumerate(params)],
                                       state, observable) for c, s in kind.recipe)
        assert float(shifted) == pytest.approx(float(exact[p]), abs=1e-10)
