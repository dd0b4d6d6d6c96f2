"""Quantum layers through PennyLane: the circuit description against PennyLane's own
templates, executors against each other, gating, backends, fallback, retries."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pennylane as qml
import pytest
import torch

from helpers import lightning_gpu_starts
from qhybrid.errors import ConfigError, QHybridError
from qhybrid.quantum.backends import choose_diff_method, create_device, resolve_backend
from qhybrid.quantum.layer import QuantumLayer
from qhybrid.quantum.pennylane_executor import PennyLaneExecutor
from qhybrid.quantum.retry import RetryPolicy
from qhybrid.schema import BackendSpec, QuantumSpec

ROT = {"X": qml.RX, "Y": qml.RY, "Z": qml.RZ}


def make_layer(spec: QuantumSpec, device_name="default.qubit", diff_method="best", shots=None, dtype="float64",
               retry=None, device=None) -> QuantumLayer:
    backend = resolve_backend(BackendSpec(name="pennylane", device=device_name, diff_method=diff_method, shots=shots,
                                          dtype=dtype), spec.n_qubits, spec.embedding == "amplitude", run_seed=0)
    if device is not None:
        backend.device = device
    return QuantumLayer(spec, lambda program, cols: PennyLaneExecutor(program, backend, cols, retry), dtype=dtype)


def reference_outputs(spec: QuantumSpec, x: torch.Tensor, weights) -> torch.Tensor:
    """PennyLane's templates on default.qubit, one sample at a time."""
    n = spec.n_qubits
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(sample, w):
        layers = spec.n_layers if spec.ansatz != "none" else 1
        for layer in range(layers):
            if layer == 0 or spec.reupload:
                if spec.embedding == "amplitude":
                    qml.AmplitudeEmbedding(sample, wires=range(n), pad_with=0.0, normalize=True)
                else:
                    qml.AngleEmbedding(sample, wires=range(n), rotation=spec.rotation)
            if spec.ansatz == "strongly_entangling":
                # one layer at a time, with the range the full template gives layer `layer`
                ranges = [layer % (n - 1) + 1] if n > 1 else None
                qml.StronglyEntanglingLayers(w[layer : layer + 1], wires=range(n), ranges=ranges)
            elif spec.ansatz == "basic_entangler":
                qml.BasicEntanglerLayers(w[layer : layer + 1], wires=range(n), rotation=ROT[spec.entangler_rotation])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    return torch.stack([torch.stack(circuit(s, weights)) for s in x])


def hard_gated_reference(x: torch.Tensor, threshold: float, rotation=qml.RY) -> torch.Tensor:
    """The seeds' rule with a Python `if`, one sample at a time."""
    n = x.shape[1]
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch")
    def circuit(sample):
        for i in range(n):
            if abs(float(sample[i])) > threshold:
                rotation(sample[i], wires=i)
                if n > 1:
                    qml.CNOT(wires=[i, (i + 1) % n])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    return torch.stack([torch.stack(circuit(s)) for s in x]).to(torch.float64)


SPECS = [
    QuantumSpec(n_qubits=3, rotation="X", ansatz="strongly_entangling", n_layers=2),
    QuantumSpec(n_qubits=4, rotation="Y", ansatz="strongly_entangling", n_layers=3, reupload=True),
    QuantumSpec(n_qubits=2, rotation="Z", ansatz="basic_entangler", n_layers=2, entangler_rotation="Y"),
    QuantumSpec(n_qubits=3, rotation="X", ansatz="basic_entangler", n_layers=1, reupload=True),
    QuantumSpec(n_qubits=1, rotation="Y", ansatz="strongly_entangling", n_layers=2),
    QuantumSpec(n_qubits=3, embedding="amplitude", amplitude_features=6, ansatz="strongly_entangling", n_layers=1),
]


class TestCircuitDescription:
    @pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.embedding}-{s.rotation}-{s.ansatz}-n{s.n_qubits}"
                                                           f"-L{s.n_layers}-re{int(s.reupload)}")
    def test_matches_pennylane_templates(self, spec):
        torch.manual_seed(0)
        layer = make_layer(spec)
        x = torch.rand(5, layer.n_inputs, dtype=torch.float64) * 2 - 1
        expected = reference_outputs(spec, x, layer.weights.detach())
        np.testing.assert_allclose(layer(x).detach().numpy(), expected.numpy(), atol=1e-10)

    def test_weight_shapes_come_from_the_templates(self):
        layer = make_layer(QuantumSpec(n_qubits=4, ansatz="strongly_entangling", n_layers=3))
        assert tuple(layer.weights.shape) == tuple(qml.StronglyEntanglingLayers.shape(n_layers=3, n_wires=4))
        layer = make_layer(QuantumSpec(n_qubits=4, ansatz="basic_entangler", n_layers=2))
        assert tuple(layer.weights.shape) == tuple(qml.BasicEntanglerLayers.shape(n_layers=2, n_wires=4))

    def test_wrong_input_shape_is_refused(self):
        layer = make_layer(QuantumSpec(n_qubits=3))
        with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 3\), got \(2, 4\)"):
            layer(torch.zeros(2, 4, dtype=torch.float64))

    @pytest.mark.parametrize("override,message", [
        (dict(n_qubits=0), "n_qubits=0 is out of range"),
        (dict(n_layers=0), "n_layers=0 is out of range"),
        (dict(rotation="W"), "model.quantum.rotation='W'"),
        (dict(embedding="amplitude", amplitude_features=9, n_qubits=3), "amplitude_features=9 does not fit"),
        (dict(embedding="amplitude", gating="hard"), "applies to angle embedding only"),
        (dict(ansatz="qaoa"), "model.quantum.ansatz='qaoa'"),
        (dict(embedding="amplitude", reupload=True), "reupload=true with amplitude embedding"),
    ])
    def test_bad_circuit_values(self, override, message):
        with pytest.raises(ConfigError, match=message):
            replace(QuantumSpec(), **override).check()


class TestGating:
    def test_hard_gating_matches_a_per_sample_loop_exactly(self):
        spec = QuantumSpec(n_qubits=4, rotation="Y", gating="hard", threshold=0.3, ansatz="none", trainable=False)
        layer = make_layer(spec)
        assert layer.weights is None
        x = torch.tensor([[0.5, -0.1, 0.9, 0.2], [0.05, 0.0, -0.2, 0.1], [1.2, -0.8, 0.4, -0.6],
                          [0.31, 0.29, -0.31, 0.0]], dtype=torch.float64)
        np.testing.assert_allclose(layer(x).detach().numpy(), hard_gated_reference(x, 0.3).numpy(), atol=1e-12)

    def test_hard_gated_gradients_flow_to_open_gates_only(self):
        spec = QuantumSpec(n_qubits=3, rotation="Y", gating="hard", threshold=0.3, ansatz="strongly_entangling")
        layer = make_layer(spec)
        x = torch.tensor([[0.5, 0.1, -0.9]], dtype=torch.float64, requires_grad=True)
        layer(x).sum().backward()
        assert x.grad[0, 1] == 0 and x.grad[0, 0] != 0 and x.grad[0, 2] != 0

    def test_soft_gating_gradients_reach_alpha_and_tau(self):
        spec = QuantumSpec(n_qubits=3, gating="soft", threshold=0.2, soft_tau_trainable=True, n_layers=1)
        layer = make_layer(spec)
        x = torch.tensor([[0.25, -0.5, 0.1], [0.3, 0.15, -0.7]], dtype=torch.float64)
        layer(x).pow(2).sum().backward()
        assert layer.alpha.grad is not None and layer.alpha.grad.abs() > 0
        assert layer.tau.grad is not None and layer.tau.grad.abs() > 0

    def test_soft_gating_tends_to_hard_gating(self):
        x = torch.tensor([[0.5, -0.1, 0.9, 0.25]], dtype=torch.float64)
        soft = make_layer(QuantumSpec(n_qubits=4, rotation="Y", gating="soft", threshold=0.3, soft_alpha=1e4,
                                      ansatz="none", trainable=False))
        np.testing.assert_allclose(soft(x).detach().numpy(), hard_gated_reference(x, 0.3).numpy(), atol=1e-9)


EXECUTORS = [
    ("default.qubit", "backprop"),
    ("default.qubit", "adjoint"),
    ("default.qubit", "parameter-shift"),
    ("lightning.qubit", "adjoint"),
    ("lightning.qubit", "parameter-shift"),
]


class TestExecutorsAgree:
    @pytest.mark.parametrize("gating", ["none", "hard", "soft"])
    def test_same_outputs_and_gradients(self, gating):
        spec = QuantumSpec(n_qubits=3, rotation="Y", gating=gating, threshold=0.2, ansatz="strongly_entangling",
                           n_layers=2, reupload=True)
        x0 = torch.tensor([[0.4, -0.15, 0.8], [-0.6, 0.3, 0.05], [0.1, 0.9, -0.25]], dtype=torch.float64)
        torch.manual_seed(1)
        weights = torch.rand(qml.StronglyEntanglingLayers.shape(2, 3), dtype=torch.float64) * 6
        results = {}
        for device_name, method in EXECUTORS:
            layer = make_layer(spec, device_name, method)
            assert layer.executor.backend.diff_method == method
            with torch.no_grad():
                layer.weights.copy_(weights)
            x = x0.clone().requires_grad_(True)
            out = layer(x)
            (out * torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)).sum().backward()
            results[(device_name, method)] = (out.detach(), x.grad.clone(), layer.weights.grad.clone())
            assert out.dtype == torch.float64
        ref = results[("default.qubit", "backprop")]
        for key, got in results.items():
            for a, b, what in zip(got, ref, ("outputs", "input gradients", "weight gradients")):
                np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, err_msg=f"{key} {what}")

    def test_qiskit_aer_statevector_agrees(self):
        """Aer is slow per circuit: a small circuit, two samples."""
        spec = QuantumSpec(n_qubits=2, rotation="Y", gating="hard", threshold=0.2, n_layers=1)
        ref, aer = make_layer(spec), make_layer(spec, "qiskit.aer")
        assert aer.executor.backend.diff_method == "parameter-shift"
        with torch.no_grad():
            aer.weights.copy_(ref.weights)
        outs, grads = [], []
        for layer in (ref, aer):
            x = torch.tensor([[0.5, -0.1], [-0.7, 0.9]], dtype=torch.float64, requires_grad=True)
            out = layer(x)
            out.sum().backward()
            outs.append(out.detach().numpy())
            grads.append((x.grad.numpy(), layer.weights.grad.numpy()))
        np.testing.assert_allclose(outs[1], outs[0], atol=1e-6)
        for a, b in zip(grads[1], grads[0]):
            np.testing.assert_allclose(a, b, atol=1e-6)

    def test_lightning_adjoint_keeps_float64(self, caplog):
        """lightning's adjoint returns torch's default dtype (float32) unless pinned."""
        spec = QuantumSpec(n_qubits=2, n_layers=1)
        layer = make_layer(spec, "lightning.qubit", "adjoint")
        ref = make_layer(spec)
        with torch.no_grad():
            ref.weights.copy_(layer.weights)
        x = torch.tensor([[0.123456789, -0.987654321]], dtype=torch.float64)
        with caplog.at_level(logging.WARNING):
            raw = layer.executor.evaluate(layer.program.angles(x, layer.weights, None).matrix())
        assert raw.dtype == torch.float64 and "converting" not in caplog.text
        np.testing.assert_allclose(raw.detach().numpy(), ref(x).detach().numpy(), atol=1e-12)

    def test_float32_simulation_is_explicit(self):
        layer = make_layer(QuantumSpec(n_qubits=2, n_layers=1), dtype="float32")
        assert layer.weights.dtype == torch.float32
        x = torch.rand(4, 2, dtype=torch.float64)
        assert layer(x).dtype == torch.float64  # cast back to the caller's dtype explicitly
        assert layer.executor.evaluate(layer.program.angles(x.float(), layer.weights, None).matrix()).dtype == torch.float32

    def test_shots_give_estimates_near_the_exact_values(self):
        spec = QuantumSpec(n_qubits=2, n_layers=1)
        exact = make_layer(spec)
        sampled = make_layer(spec, shots=20000)
        assert sampled.executor.backend.diff_method == "parameter-shift"
        with torch.no_grad():
            sampled.weights.copy_(exact.weights)
        x = torch.tensor([[0.3, -0.7]], dtype=torch.float64, requires_grad=True)
        est = sampled(x)
        est.sum().backward()
        np.testing.assert_allclose(est.detach().numpy(), exact(x).detach().numpy(), atol=0.05)
        assert x.grad is not None and torch.isfinite(x.grad).all()


class TestBackendChoice:
    def test_best_picks_per_device(self):
        assert choose_diff_method(create_device("default.qubit", 2, "float64", None, 0, {}), "default.qubit", "best",
                                  None, False) == "backprop"
        assert choose_diff_method(create_device("lightning.qubit", 2, "float64", None, 0, {}), "lightning.qubit",
                                  "best", None, False) == "adjoint"
        assert choose_diff_method(create_device("default.qubit", 2, "float64", None, 0, {}), "default.qubit", "best",
                                  100, False) == "parameter-shift"

    def test_backprop_on_lightning_is_refused(self):
        with pytest.raises(ConfigError, match="diff_method=backprop is not supported by lightning.qubit"):
            resolve_backend(BackendSpec(name="lightning_qubit", diff_method="backprop"), 2, False, 0)

    def test_amplitude_embedding_needs_backprop(self):
        with pytest.raises(ConfigError, match="amplitude embedding needs backprop"):
            resolve_backend(BackendSpec(name="lightning_qubit"), 2, True, 0)

    @pytest.mark.parametrize("values,message", [
        (dict(diff_method="adjoint", shots=100), "diff_method=adjoint needs exact simulation"),
        (dict(diff_method="backprop", shots=10), "diff_method=backprop needs exact simulation"),
        (dict(name="pennylane"), "backend=pennylane needs the device's name"),
        (dict(diff_method="finite-diff"), "backend.diff_method='finite-diff'"),
        (dict(fallbacks=["gpu_magic"]), r"backend.fallbacks\[0\]='gpu_magic'"),
        (dict(shots=0), "backend.shots=0 is out of range"),
    ])
    def test_incompatible_settings(self, values, message):
        with pytest.raises(ConfigError, match=message):
            BackendSpec(**{"name": "default_qubit", **values}).check()

    def test_missing_gpu_falls_back_with_one_warning(self, caplog):
        with caplog.at_level(logging.WARNING, logger="qhybrid"):
            backend = resolve_backend(BackendSpec(name="lightning_gpu", fallbacks=["lightning_qubit", "default_qubit"]),
                                      4, False, 0)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert backend.requested == "lightning_gpu" and backend.record()["plugin_version"]
        if lightning_gpu_starts():  # nothing is missing here: no fallback, no warning
            assert backend.name == "lightning_gpu" and backend.device_name == "lightning.gpu"
            assert backend.fallback_reason is None and warnings == []
            return
        assert backend.name == "lightning_qubit" and backend.device_name == "lightning.qubit"
        assert "lightning.gpu" in backend.fallback_reason
        assert len(warnings) == 1 and "using lightning_qubit" in warnings[0].getMessage()

    @pytest.mark.parametrize("shots", [None, 100])
    def test_a_missing_gpu_simulator_falls_back_to_the_native_executor_with_or_without_shots(self, caplog, shots):
        spec = BackendSpec(name="lightning_gpu", fallbacks=["torch", "default_qubit"], shots=shots,
                           diff_method="best" if shots is None else "parameter-shift")
        if lightning_gpu_starts():
            return  # nothing to fall back from (the test above covers a GPU machine)
        with caplog.at_level(logging.WARNING, logger="qhybrid"):
            backend = resolve_backend(spec, 4, False, 0)
        assert backend.requested == "lightning_gpu" and backend.name == "torch"
        assert "lightning.gpu" in backend.fallback_reason
        assert len(caplog.records) == 1
        assert backend.shots == shots and backend.diff_method == ("backprop" if shots is None else "parameter-shift")
        assert (f"{shots} shots" if shots else "exact") in caplog.records[0].getMessage()

    def test_strict_mode_refuses_to_fall_back(self):
        spec = BackendSpec(name="lightning_gpu", fallbacks=["default_qubit"], strict=True)
        if lightning_gpu_starts():  # it starts: strict mode has nothing to refuse
            assert resolve_backend(spec, 4, False, 0).name == "lightning_gpu"
            return
        with pytest.raises(QHybridError, match=r"backend lightning_gpu \(lightning.gpu\) cannot start"):
            resolve_backend(spec, 4, False, 0)


class FlakyQubit(qml.devices.DefaultQubit):
    """default.qubit that fails its first ``failures`` executions with a network error."""

    def __init__(self, failures: int, error=ConnectionError, **kwargs):
        super().__init__(**kwargs)
        self.failures, self.error, self.calls = failures, error, 0

    def execute(self, circuits, execution_config=None):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"simulated outage {self.calls}")
        return super().execute(circuits, execution_config)


class TestRetries:
    def _layer(self, device, max_retries):
        sleeps: list[float] = []
        retry = RetryPolicy(max_retries=max_retries, backoff=0.5, sleep=sleeps.append)
        layer = make_layer(QuantumSpec(n_qubits=2, n_layers=1), diff_method="parameter-shift", retry=retry,
                           device=device)
        return layer, sleeps

    def test_transient_failures_are_retried_with_backoff(self, caplog):
        device = FlakyQubit(failures=2, wires=2)
        layer, sleeps = self._layer(device, max_retries=3)
        reference = make_layer(QuantumSpec(n_qubits=2, n_layers=1))
        with torch.no_grad():
            reference.weights.copy_(layer.weights)
        x = torch.tensor([[0.2, -0.4], [0.7, 0.1]], dtype=torch.float64)
        with caplog.at_level(logging.WARNING, logger="qhybrid"):
            out = layer(x)
        assert sleeps == [0.5, 1.0] and device.calls == 3
        assert [r.getMessage().split("; ")[-1] for r in caplog.records] == ["retry 1/3 in 0.5s", "retry 2/3 in 1.0s"]
        np.testing.assert_allclose(out.detach().numpy(), reference(x).detach().numpy(), atol=1e-12)

    def test_giving_up_is_one_clear_error(self):
        layer, sleeps = self._layer(FlakyQubit(failures=10, wires=2), max_retries=2)
        with pytest.raises(QHybridError, match="execution failed 3 time.*ConnectionError: simulated outage 3"):
            layer(torch.zeros(1, 2, dtype=torch.float64))
        assert sleeps == [0.5, 1.0]

    def test_programming_errors_are_not_retried(self):
        device = FlakyQubit(failures=1, error=ValueError, wires=2)
        layer, sleeps = self._layer(device, max_retries=3)
        with pytest.raises(ValueError):
            layer(torch.zeros(1, 2, dtype=torch.float64))
        assert sleeps == [] and device.calls == 1
