"""The native executor against PennyLane's default.qubit: outputs and gradients of random
circuits, both strategies, float64, within 1e-10."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qhybrid.quantum.layer import QuantumLayer
from qhybrid.quantum.native import NativeExecutor, choose_strategy
from qhybrid.schema import QuantumSpec

from test_quantum import make_layer


@st.composite
def circuits(draw):
    n = draw(st.integers(1, 10))
    embedding = draw(st.sampled_from(["angle", "angle", "amplitude"]))
    gating = "none" if embedding == "amplitude" else draw(st.sampled_from(["none", "hard", "soft"]))
    ansatz = draw(st.sampled_from(["none", "basic_entangler", "strongly_entangling"]))
    spec = QuantumSpec(
        n_qubits=n, embedding=embedding, rotation=draw(st.sampled_from("XYZ")),
        amplitude_features=draw(st.integers(1, 2**n)) if embedding == "amplitude" else None,
        gating=gating, threshold=draw(st.floats(0.0, 0.6)), soft_alpha=draw(st.floats(1.0, 20.0)),
        soft_tau_trainable=draw(st.booleans()), ansatz=ansatz, n_layers=draw(st.integers(1, 3)),
        entangler_rotation=draw(st.sampled_from("XYZ")), reupload=embedding == "angle" and draw(st.booleans()),
        trainable=True)
    batch = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**31 - 1))
    return spec, batch, seed


def _run(layer: QuantumLayer, x: torch.Tensor, weights: torch.Tensor):
    """Outputs and the gradients of a fixed random projection of them."""
    x = x.clone().requires_grad_(True)
    out = layer(x)
    (out * weights).sum().backward()
    grads = {name: p.grad.clone() for name, p in layer.named_parameters() if p.grad is not None}
    return out.detach(), x.grad.clone(), grads


@pytest.mark.parametrize("strategy", ["fused", "gates"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=circuits())
def test_native_equals_default_qubit(strategy, case):
    spec, batch, seed = case
    gen = torch.Generator().manual_seed(seed)
    reference = make_layer(spec)  # PennyLane default.qubit, broadcast, backprop
    native = QuantumLayer(spec, lambda program, cols: NativeExecutor(program, strategy))
    native.load_state_dict(reference.state_dict())
    x = torch.rand(batch, native.n_inputs, generator=gen, dtype=torch.float64) * 3 - 1.5
    if spec.embedding == "amplitude":
        x = x + 0.1 * torch.sign(x)  # away from the zero vector PennyLane cannot normalise
    weights = torch.randn(batch, spec.n_qubits, generator=gen, dtype=torch.float64)
    out_ref, dx_ref, grads_ref = _run(reference, x, weights)
    out, dx, grads = _run(native, x, weights)
    np.testing.assert_allclose(out.numpy(), out_ref.numpy(), atol=1e-10, rtol=0)
    np.testing.assert_allclose(dx.numpy(), dx_ref.numpy(), atol=1e-10, rtol=0)
    assert grads.keys() == grads_ref.keys()
    for name in grads:
        np.testing.assert_allclose(grads[name].numpy(), grads_ref[name].numpy(), atol=1e-10, rtol=0, err_msg=name)


def test_batch_of_one_and_float32():
    spec = QuantumSpec(n_qubits=3, n_layers=2, gating="soft")
    reference = make_layer(spec, dtype="float32")
    native = QuantumLayer(spec, lambda program, cols: NativeExecutor(program), dtype="float32")
    native.load_state_dict(reference.state_dict())
    x = torch.tensor([[0.3, -0.2, 0.9]], dtype=torch.float32)
    out = native.executor(native.program.angles(x, native.weights, native.gate_values(x)))
    assert out.dtype == torch.float32 and out.shape == (1, 3)
    np.testing.assert_allclose(native(x).detach().numpy(), reference(x).detach().numpy(), atol=1e-5)


def test_gates_strategy_builds_no_full_matrix(monkeypatch):
    """With strategy=gates nothing of size 2^n x 2^n is created (n=10: 1M amplitudes)."""
    spec = QuantumSpec(n_qubits=10, n_layers=2)
    native = QuantumLayer(spec, lambda program, cols: NativeExecutor(program, "gates"))
    calls = []
    original = torch.eye

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "eye", spy)
    x = torch.rand(4, 10, dtype=torch.float64, requires_grad=True)
    native(x).sum().backward()
    assert calls == [] and native.executor.last_strategy == "gates"


@pytest.mark.parametrize("n,batch,blocks,expected", [(4, 1024, 2, "fused"), (12, 256, 6, "gates"), (14, 64, 8, "gates"),
                                                     (4, 1024, 1, "gates")])
def test_cost_model_picks_the_cheaper_strategy(n, batch, blocks, expected):
    # one fixed block is one product per step either way: fused would only add building it
    assert choose_strategy(n, batch, fixed_blocks=blocks) == expected
