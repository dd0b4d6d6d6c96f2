"""Shots and the parameter shift on the native executor (qhybrid.quantum.native_shots):
exact shifts equal autograd, sampled values and gradients are unbiased with the spread
their shots give, each fold draws its own stream, and a resumed fold draws what an
uninterrupted one would."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from qhybrid.build import build_fit_parts
from qhybrid.errors import ConfigError
from qhybrid.quantum.backends import ShotSampler, resolve_backend
from qhybrid.quantum.layer import QuantumLayer
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.native_shots import ShotsExecutor
from qhybrid.schema import BackendSpec, EarlyStoppingSpec, QuantumSpec, SchedulerSpec, TrainerSpec
from qhybrid.training.engine import fit
from qhybrid.training.epoch_state import EpochCheckpoint

SPECS = [QuantumSpec(n_qubits=4, n_layers=2),  # g6's circuit
         QuantumSpec(n_qubits=3, n_layers=1, gating="soft", soft_tau_trainable=True),  # gate columns, alpha and tau
         QuantumSpec(n_qubits=3, n_layers=2, reupload=True, rotation="Y",
                     observables=["Z0 Z1", "probs(2)", "0.5 Z2 - Z0"])]


def _shots_layer(spec: QuantumSpec, shots, seed: int = 0) -> QuantumLayer:
    return QuantumLayer(spec, lambda program, cols: ShotsExecutor(program, cols, shots, ShotSampler(seed)))


def _gradients(layer: QuantumLayer, x: torch.Tensor, weights: torch.Tensor):
    inputs = x.detach().requires_grad_(True)
    layer.zero_grad()
    out = layer(inputs)
    (out * weights).sum().backward()
    return out.detach(), inputs.grad, [p.grad.clone() for p in layer.parameters() if p.grad is not None]


@pytest.mark.parametrize("spec", SPECS, ids=["g6", "soft-gating", "reupload-words-probs"])
def test_the_exact_parameter_shift_equals_autograd(spec):
    reference = QuantumLayer(spec, lambda program, cols: NativeExecutor(program))
    shifted = _shots_layer(spec, None)
    shifted.load_state_dict(reference.state_dict())
    x = torch.rand(6, spec.n_qubits, dtype=torch.float64) * 3 - 1.5
    weights = torch.rand(6, reference.n_outputs, dtype=torch.float64)
    for ours, theirs in zip(_gradients(shifted, x, weights), _gradients(reference, x, weights)):
        for a, b in zip(ours if isinstance(ours, list) else [ours], theirs if isinstance(theirs, list) else [theirs]):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_sampled_values_and_gradients_are_unbiased_with_the_spread_of_their_shots():
    """Many copies of one sample: each row is an independent estimate. Their mean is the
    exact value (within 5 standard errors) and their variance is (1 - <Z>^2) / shots."""
    spec, shots, rows = QuantumSpec(n_qubits=3, n_layers=1), 40, 3000
    exact = _shots_layer(spec, None)
    sampled = _shots_layer(spec, shots, seed=11)
    sampled.load_state_dict(exact.state_dict())
    x = (torch.rand(1, 3, dtype=torch.float64) * 2 - 1).expand(rows, 3)
    weights = torch.ones(rows, 3, dtype=torch.float64)
    (value, grad_x, _), (estimates, grad_estimates, grad_w) = _gradients(exact, x[:1], weights[:1]), \
        _gradients(sampled, x, weights)
    for truth, draws in ((value[0], estimates), (grad_x[0], grad_estimates)):
        error = (draws.mean(0) - truth).abs()
        assert (error <= 5 * draws.std(0) / rows**0.5 + 1e-12).all(), (truth, draws.mean(0))
    torch.testing.assert_close(estimates.var(0), (1 - value[0] ** 2) / shots, rtol=0.15, atol=1e-3)
    exact_w = _gradients(exact, x[:1], weights[:1])[2][0]
    assert ((grad_w[0] / rows - exact_w).abs() < 0.05).all()  # the weights' gradient: the rows' mean


def test_each_fold_draws_its_own_shots_and_a_fold_always_the_same():
    backend = resolve_backend(BackendSpec(name="torch", shots=16), n_wires=2, amplitude=False, run_seed=3)
    assert backend.diff_method == "parameter-shift" and backend.record()["seed"] == 3

    def draws(b):
        return b.device._rng.integers(1 << 30, size=4).tolist()

    assert draws(backend.for_fold(0)) == draws(backend.for_fold(0)) != draws(backend.for_fold(1))
    exact = resolve_backend(BackendSpec(name="torch"), n_wires=2, amplitude=False, run_seed=3)
    assert exact.for_fold(1) is exact and exact.record()["seed"] is None and exact.diff_method == "backprop"


def test_readouts_it_cannot_sample_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="X1 is not diagonal"):
        _shots_layer(QuantumSpec(n_qubits=2, n_layers=1, observables=["Z0", "X1"]), 10)
    with pytest.raises(ConfigError, match="amplitude embedding"):
        _shots_layer(QuantumSpec(n_qubits=2, n_layers=1, embedding="amplitude"), 10)


SPEC = TrainerSpec(max_epochs=8, batch_size=16, lr=0.05, early_stopping=EarlyStoppingSpec(patience=4),
                   scheduler=SchedulerSpec(name="plateau", patience=2))


def _train(sampler: ShotSampler, checkpoint=None, on_epoch=None):
    torch.manual_seed(0)
    layer = QuantumLayer(QuantumSpec(n_qubits=2, n_layers=1),
                         lambda program, cols: ShotsExecutor(program, cols, 20, sampler))
    model = nn.Sequential(nn.Linear(3, 2, dtype=torch.float64), nn.Tanh(), layer, nn.Linear(2, 2, dtype=torch.float64))
    g = torch.Generator().manual_seed(5)
    X = torch.randn(80, 3, generator=g, dtype=torch.float64)
    y = (X[:, 0] > 0).long()
    result = fit(model, X[:64], y[:64], X[64:], y[64:], SPEC, build_fit_parts(model, SPEC), n_classes=2,
                 generator=torch.Generator().manual_seed(1), checkpoint=checkpoint, on_epoch=on_epoch)
    return model, result


def test_a_resumed_fold_draws_the_shots_an_uninterrupted_one_would(tmp_path):
    whole_model, whole = _train(ShotSampler(7))
    path, sampler = tmp_path / "fold_0.epoch.pt", ShotSampler(7)

    def stop(epoch, logs):
        if epoch == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(sampler, EpochCheckpoint(path, every_seconds=0, samplers=[sampler]), on_epoch=stop)
    fresh = ShotSampler(99)  # a new process: its stream starts elsewhere until the state is restored
    model, result = _train(fresh, EpochCheckpoint(path, every_seconds=0, resume=True, samplers=[fresh]))
    assert result.history == whole.history
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), whole_model.state_dict().values()))


def test_shifting_the_sources_on_the_compact_kernels_equals_shifting_the_flat_circuits_columns():
    """g6's circuit reads each input and weight once: its shifted copies run with the weights
    shared (compact kernels); the same layer made to shift the flat circuit's columns gives
    the same values and gradients."""
    spec = QuantumSpec(n_qubits=4, n_layers=2, observables=["Z0 Z1", "probs(3)", "Z2"])
    fast = _shots_layer(spec, None)
    slow = _shots_layer(spec, None)
    slow.load_state_dict(fast.state_dict())
    assert fast.executor.sources is not None and fast.executor.probabilities.compact is not None
    slow.executor.probabilities = None  # the flat circuit's columns, every gate read per row
    x = torch.rand(5, 4, dtype=torch.float64) * 3 - 1.5
    weights = torch.rand(5, fast.n_outputs, dtype=torch.float64)
    for ours, theirs in zip(_gradients(fast, x, weights), _gradients(slow, x, weights)):
        for a, b in zip(ours if isinstance(ours, list) else [ours], theirs if isinstance(theirs, list) else [theirs]):
            torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
