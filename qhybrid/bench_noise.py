"""`qhybrid bench --noise`: training steps under noise and under shots, side by side.

The noise is one depolarizing channel (p = NOISE_P) after every gate on each wire it acts
on -- the embedding's rotations, the ansatz's rotations and every CNOT; the shots are
SHOTS per sample. Implementations:

- native_noise: qhybrid's density-matrix mode (backend.noise), gradients by autograd;
- pennylane_mixed: PennyLane's default.mixed with the same channels, torch, backprop,
  the batch broadcast in one tape (the reference of the noise rows);
- aer_noise: Qiskit Aer's density-matrix simulator through pennylane-qiskit with a noise
  model of the same channel after each gate Aer runs, SHOTS shots (pennylane-qiskit reads
  exact values from Aer's statevector method only), parameter shift; timed on the part of
  the batch that fits in --cap-seconds and extrapolated (it takes seconds per sample);
- native_shots: qhybrid's native executor with backend.shots (parameter shift, shots drawn
  for every shifted circuit);
- pennylane_shots: default.qubit with the same shots, parameter shift, broadcast (the
  reference of the shots rows).
"""

from __future__ import annotations

NOISE_P = 0.01
SHOTS = 1000
NOISE_CASES = [(4, 2, 256), (6, 2, 256)]
NOISE_IMPLS = ["pennylane_mixed", "native_noise", "aer_noise", "pennylane_shots", "native_shots"]
# name -> (device, how); bench_impls.IMPLEMENTATIONS includes these
IMPLEMENTATIONS = {
    "native_noise": ("qhybrid.native", "noise"),
    "pennylane_mixed": ("default.mixed", "noise"),
    "aer_noise": ("qiskit.aer", "noise-capped"),
    "native_shots": ("qhybrid.native", "shots"),
    "pennylane_shots": ("default.qubit", "shots"),
}
REFERENCES = {"noise": "pennylane_mixed", "noise-capped": "pennylane_mixed", "shots": "pennylane_shots"}
SAMPLED = ("aer_noise", "native_shots", "pennylane_shots")  # their outputs carry shot noise: no max error


def noise_step(impl: str, spec, weights, layer_step):
    """The step of a noise or shots implementation; ``layer_step(layer)`` times a quantum
    layer as every native row is timed (qhybrid.bench_impls)."""
    import torch  # lazy: `qhybrid bench --help` must not load torch

    from qhybrid.quantum.backends import ShotSampler
    from qhybrid.quantum.layer import QuantumLayer
    from qhybrid.quantum.native_density import DensityExecutor
    from qhybrid.quantum.native_shots import ShotsExecutor
    from qhybrid.quantum.spec import NoiseSpec

    if impl == "native_noise":
        layer = QuantumLayer(spec, lambda program, cols: DensityExecutor(program, NoiseSpec(depolarizing=NOISE_P)))
    elif impl == "native_shots":
        layer = QuantumLayer(spec, lambda program, cols: ShotsExecutor(program, cols, SHOTS, ShotSampler(0)))
    elif impl == "pennylane_mixed":
        return _mixed_step(spec, weights)
    else:  # qhybrid's PennyLane layer: its parameter shift broadcasts every shifted copy (PennyLane's does not)
        layer = _shifted_layer(spec, impl)
    with torch.no_grad():
        layer.weights.copy_(weights)
    return layer_step(layer)


def _shifted_layer(spec, impl: str):
    """default.qubit with the shots, or Aer's density matrices with the noise model; the
    parameter shift of qhybrid's PennyLane executor."""
    from qhybrid.quantum.backends import resolve_backend  # lazy: as noise_step's
    from qhybrid.quantum.layer import QuantumLayer
    from qhybrid.quantum.pennylane_executor import PennyLaneExecutor
    from qhybrid.quantum.spec import BackendSpec

    # pennylane-qiskit computes exact values with Aer's statevector only: under noise Aer samples
    # optimization_level 0: Qiskit's transpiler would merge neighbouring rotations (fewer noisy gates)
    options = {"method": "density_matrix", "noise_model": _aer_noise_model(), "optimization_level": 0} \
        if impl == "aer_noise" else {}
    backend = resolve_backend(BackendSpec(name="pennylane", device=IMPLEMENTATIONS[impl][0], diff_method="parameter-shift",
                                          shots=SHOTS, seed=0, options=options), spec.n_qubits, False, 0)
    return QuantumLayer(spec, lambda program, cols: PennyLaneExecutor(program, backend, cols))


def _mixed_step(spec, weights):
    """default.mixed with a depolarizing channel after every gate on each of its wires: the
    circuit's gates from qhybrid's program, one broadcast tape per batch, backprop."""
    import pennylane as qml  # lazy: as above
    import torch

    from qhybrid.quantum.gate_registry import gate_kind
    from qhybrid.quantum.programs import program_of

    program, n = program_of(spec), spec.n_qubits

    @qml.qnode(qml.device("default.mixed", wires=n), interface="torch", diff_method="backprop")
    def circuit(x, w):
        columns = program.angles(x, w, None).matrix().unbind(-1)  # the angle matrix every executor reads
        for gate in program.gates:
            gate_kind(gate.name).operation()(*(columns[c] for c in gate.columns), wires=list(gate.wires))
            for wire in gate.wires:
                qml.DepolarizingChannel(NOISE_P, wires=wire)
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    w = torch.nn.Parameter(weights.clone())

    def step(x):
        x = x.detach().requires_grad_(True)
        out = torch.stack(list(circuit(x, w)), dim=-1).reshape(x.shape[0], n)
        out.sum().backward()
        return out.detach(), x.grad

    return step


def _aer_noise_model():
    """Aer's noise model: the depolarizing channel on each qubit after every gate it runs
    (a two-qubit gate: the channel on each of its qubits)."""
    from qiskit_aer.noise import NoiseModel, depolarizing_error  # lazy: only this worker loads Qiskit

    # Qiskit's depolarizing parameter lambda is 4p/3 of PennyLane's p (one qubit)
    one = depolarizing_error(4 * NOISE_P / 3, 1)
    model = NoiseModel()
    model.add_all_qubit_quantum_error(one, ["rx", "ry", "rz", "u", "u1", "u2", "u3", "r", "sx", "x", "h"])
    model.add_all_qubit_quantum_error(one.tensor(one), ["cx"])
    return model
