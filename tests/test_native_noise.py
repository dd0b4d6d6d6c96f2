"""The native executor's density-matrix mode against PennyLane's default.mixed with the same
channels (float64, outputs and gradients within 1e-10), its parameter shift under noise, and
the refusals of settings it cannot run."""

from __future__ import annotations

import pennylane as qml
import pytest
import torch

from qhybrid.errors import ConfigError
from qhybrid.quantum.circuit import Angles
from qhybrid.quantum.gate_registry import gate_kind
from qhybrid.quantum.layer import QuantumLayer
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.native_density import DensityExecutor
from qhybrid.quantum.native_shots import ShotsExecutor
from qhybrid.quantum.programs import program_of
from qhybrid.quantum.spec import BackendSpec, NoiseSpec, QuantumSpec
from helpers.noise_reference import flat_pair, mixed_reference

CIRCUITS = {
    "g6": QuantumSpec(n_qubits=3, n_layers=2),
    "soft-gating": QuantumSpec(n_qubits=3, n_layers=1, gating="soft", rotation="Y"),
    "words-probs": QuantumSpec(n_qubits=3, n_layers=1, reupload=True, ansatz="basic_entangler",
                               observables=["Z0 Z1", "X1", "0.5 Y2 + Z0", "probs(2, 0)"]),
}
NOISES = {
    "depolarizing": NoiseSpec(depolarizing=0.05),
    "every-channel": NoiseSpec(depolarizing=0.03, amplitude_damping=0.07, phase_damping=0.05, bit_flip=0.02,
                               phase_flip=0.04, readout=0.03),
    "two-qubit": NoiseSpec(depolarizing=0.02, depolarizing_2q=0.06, amplitude_damping=0.04),
}


# every circuit with every channel; each noise once more on another circuit
PAIRS = [(c, "every-channel") for c in CIRCUITS] + [("g6", "two-qubit"), ("soft-gating", "depolarizing"),
                                                    ("words-probs", "two-qubit")]


@pytest.mark.parametrize("circuit, noise_name", PAIRS, ids=[f"{c}-{n}" for c, n in PAIRS])
def test_density_matrices_equal_default_mixed(circuit, noise_name):
    spec, noise = CIRCUITS[circuit], NOISES[noise_name]
    program, flat = flat_pair(spec)
    A = (torch.rand(3, program.n_columns, dtype=torch.float64) * 4 - 2).requires_grad_(True)
    ours = DensityExecutor(flat, noise)(Angles(flat, A, None, None))
    theirs = mixed_reference(program, noise, A)
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-10, rtol=0)
    weights = torch.rand_like(ours)
    grad_ours, = torch.autograd.grad((ours * weights).sum(), A)
    grad_theirs, = torch.autograd.grad((theirs * weights).sum(), A)
    torch.testing.assert_close(grad_ours, grad_theirs, atol=1e-10, rtol=0)


def test_the_parameter_shift_under_noise_equals_autograd_through_the_density_matrix():
    spec, noise = CIRCUITS["g6"], NOISES["every-channel"]
    program, flat = flat_pair(spec)
    A = (torch.rand(4, program.n_columns, dtype=torch.float64) * 4 - 2).requires_grad_(True)
    exact = DensityExecutor(flat, noise)(Angles(flat, A, None, None))
    shifted = ShotsExecutor(flat, list(range(program.n_columns)), None, None, noise=noise)(Angles(flat, A, None, None))
    torch.testing.assert_close(shifted, exact, atol=1e-12, rtol=0)
    weights = torch.rand_like(exact)
    torch.testing.assert_close(torch.autograd.grad((shifted * weights).sum(), A)[0],
                               torch.autograd.grad((exact * weights).sum(), A)[0], atol=1e-10, rtol=0)


def test_noise_settings_it_cannot_run_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="backend.noise.depolarizing=1.5 is not a probability"):
        BackendSpec(name="torch", noise=NoiseSpec(depolarizing=1.5)).check()
    with pytest.raises(ConfigError, match="not on backend=default_qubit"):
        BackendSpec(name="default_qubit", noise=NoiseSpec(readout=0.1)).check()
    program = program_of(QuantumSpec(n_qubits=2, n_layers=1, observables=["X0"]))
    with pytest.raises(ConfigError, match="asymmetric readout error on X0"):
        DensityExecutor(program, NoiseSpec(readout_01=0.1))


@pytest.mark.parametrize("n_qubits", [3, 6])  # below 6 embeddings stay apart from the CNOTs; from 6 they join
def test_a_layer_under_noise_differentiates_its_weights_as_the_parameter_shift_does(n_qubits):
    """Through a QuantumLayer (weights shared by the batch) against the exact parameter shift
    (every row its own circuit); noiseless, against the state-vector executor's autograd."""
    spec = QuantumSpec(n_qubits=n_qubits, n_layers=2)
    x = torch.rand(3, n_qubits, dtype=torch.float64) * 3 - 1.5
    for noise, reference in ((NOISES["every-channel"], lambda p, c, s: ShotsExecutor(p, c, None, None, noise=s)),
                             (NoiseSpec(), lambda p, c, s: NativeExecutor(p))):
        ours = QuantumLayer(spec, lambda program, cols: DensityExecutor(program, noise)).to("cpu")  # a model moves
        theirs = QuantumLayer(spec, lambda program, cols: reference(program, cols, noise))
        theirs.load_state_dict(ours.state_dict())
        results = []
        for layer in (ours, theirs):
            inputs = x.clone().requires_grad_(True)
            out = layer(inputs)
            (out * torch.arange(1.0, n_qubits + 1, dtype=out.dtype)).sum().backward()
            results.append((out.detach(), inputs.grad, layer.weights.grad))
        for a, b in zip(*results):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_readout_and_depolarizing_agree_with_qiskit_aer_within_four_standard_errors():
    """RX embedding, CNOT ring, RX weights (gates Aer runs as they are, so its noise model puts
    the channel where qhybrid does); Aer samples, qhybrid's value is exact."""
    from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

    p, readout, shots = 0.03, 0.04, 20000
    spec = QuantumSpec(n_qubits=4, n_layers=1, ansatz="basic_entangler")
    noise = NoiseSpec(depolarizing=p, readout=readout)
    ours = QuantumLayer(spec, lambda program, cols: DensityExecutor(program, noise))
    one = depolarizing_error(4 * p / 3, 1)  # Qiskit's lambda is 4p/3 of PennyLane's p
    model = NoiseModel()
    model.add_all_qubit_quantum_error(one, ["rx"])
    model.add_all_qubit_quantum_error(one.tensor(one), ["cx"])
    model.add_all_qubit_readout_error(ReadoutError([[1 - readout, readout], [readout, 1 - readout]]))
    # optimization_level=0: Qiskit's transpiler would merge each wire's two RX into one gate (one channel)
    device = qml.device("qiskit.aer", wires=4, method="density_matrix", noise_model=model, shots=shots, seed=3,
                        optimization_level=0)
    program = ours.program

    @qml.qnode(device)
    def aer(row):
        for gate in program.gates:
            gate_kind(gate.name).operation()(*(float(row[c]) for c in gate.columns), wires=list(gate.wires))
        return [qml.expval(qml.PauliZ(w)) for w in range(4)]

    x = torch.rand(2, 4, dtype=torch.float64) * 3 - 1.5
    with torch.no_grad():
        exact = ours(x)
        A = ours.program.angles(x, ours.weights, None).matrix()
    sampled = torch.tensor([[float(v) for v in aer(row)] for row in A], dtype=torch.float64)
    standard_error = ((1 - exact**2) / shots).sqrt()
    assert ((sampled - exact).abs() <= 4 * standard_error).all(), (sampled, exact)


def test_an_amplitude_embedding_starts_from_its_state_without_noise_as_the_state_vector_executor():
    spec = QuantumSpec(n_qubits=3, n_layers=2, embedding="amplitude")
    ours = QuantumLayer(spec, lambda program, cols: DensityExecutor(program, NoiseSpec()))
    theirs = QuantumLayer(spec, lambda program, cols: NativeExecutor(program))
    theirs.load_state_dict(ours.state_dict())
    x = torch.rand(4, ours.n_inputs, dtype=torch.float64)
    results = []
    for layer in (ours, theirs):
        inputs = x.clone().requires_grad_(True)
        out = layer(inputs)
        (out * torch.arange(1.0, 4.0, dtype=out.dtype)).sum().backward()
        results.append((out.detach(), inputs.grad, layer.weights.grad))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
