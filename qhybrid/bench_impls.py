"""What one `qhybrid bench` worker process runs: the implementations' training steps and
their timing. A step is forward + backward of the layer on a batch, with respect to the
inputs and the weights; it returns the outputs and the input gradients, which the bench
compares across implementations on the first PROBE samples.

Every implementation starts from the same seeded float64 inputs and weights (``_inputs``).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from qhybrid.allocator import retain_freed_memory
from qhybrid.bench_noise import IMPLEMENTATIONS as NOISE_IMPLEMENTATIONS
from qhybrid.bench_noise import noise_step
from qhybrid.errors import QHybridError

# name -> (device, how): "loop" is the seeds' per-sample TorchLayer loop, "jax" PennyLane's JAX
# interface under jax.jit, anything else is qhybrid's quantum layer (one broadcast call per
# batch) with that gradient method (for the native executor: that strategy)
IMPLEMENTATIONS = {
    "torchlayer_loop": ("default.qubit", "loop"),
    "pennylane_broadcast": ("default.qubit", "backprop"),
    "pennylane_jax": ("default.qubit", "jax"),
    "lightning_adjoint": ("lightning.qubit", "adjoint"),
    "pennylane_shift": ("default.qubit", "parameter-shift"),
    "lightning_shift": ("lightning.qubit", "parameter-shift"),
    "aer_loop": ("qiskit.aer", "loop"),
    "aer_shift": ("qiskit.aer", "parameter-shift"),
    "native": ("qhybrid.native", "auto"),
    "native_auto": ("qhybrid.native", "auto"),  # the name before `native`; the same implementation
    "native_fused": ("qhybrid.native", "fused"),
    "native_gates": ("qhybrid.native", "gates"),
    **NOISE_IMPLEMENTATIONS,  # `qhybrid bench --noise` (qhybrid.bench_noise)
}
CAPPED = ("loop", "noise-capped")  # timed on the part of the batch that fits in --cap-seconds
BUILT_IN_ONLY = ("loop", "jax")  # ways that time AngleEmbedding + StronglyEntanglingLayers only
WARM_FRACTION = 0.25  # of --min-seconds, run before the timed steps
MAX_STEPS = 100_000
PROBE = 16  # samples whose outputs and gradients are compared across implementations
# one XLA thread: Eigen's pool off (jax has no thread-count option for the CPU)
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def _inputs(n_inputs: int, weight_shape: tuple, B: int):
    # lazy: `qhybrid bench --help` must not load torch
    import torch

    gen = torch.Generator().manual_seed(1234)
    x = (torch.rand(B, n_inputs, generator=gen, dtype=torch.float64) * 2 - 1) * (torch.pi / 2)
    weights = torch.rand(weight_shape, generator=gen, dtype=torch.float64) * 2 * torch.pi
    return x, weights


def bench_spec(n: int, L: int, circuit: dict):
    """The benchmarked circuit: AngleEmbedding + StronglyEntanglingLayers, or the user's
    (``circuit``: model.quantum keys, e.g. circuit and weight_shapes; L is then unused)."""
    from qhybrid.quantum.spec import QuantumSpec  # lazy: `qhybrid bench --help` must not load torch

    spec = QuantumSpec(n_qubits=n, rotation="X", ansatz="strongly_entangling", n_layers=L, **circuit)
    spec.check()
    return spec


def _layer_step(device_name: str, diff_method: str, spec, weights):
    """qhybrid's quantum layer; ``diff_method`` is the strategy for the native executor,
    which runs on CUDA when there is one. ``step.strategy()`` is the native strategy the
    last step ran (``auto`` picks one per batch size), None for PennyLane."""
    # lazy: `qhybrid bench --help` must not load torch (these modules import it)
    import torch

    from qhybrid.quantum.backends import resolve_backend
    from qhybrid.quantum.layer import QuantumLayer
    from qhybrid.quantum.pennylane_executor import PennyLaneExecutor
    from qhybrid.quantum.spec import BackendSpec

    n = spec.n_qubits
    executors: list = []
    if device_name == "qhybrid.native":
        from qhybrid.quantum.native import NativeExecutor  # lazy: as above

        def native(program, cols):
            executors.append(NativeExecutor(program, strategy=diff_method))
            return executors[-1]

        layer = QuantumLayer(spec, native)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        backend = resolve_backend(BackendSpec(name="pennylane", device=device_name, diff_method=diff_method), n,
                                  False, 0)
        layer = QuantumLayer(spec, lambda program, cols: PennyLaneExecutor(program, backend, cols))
        device = torch.device("cpu")
    if layer.weights is not None:
        with torch.no_grad():
            layer.weights.copy_(weights)
    layer.to(device)
    step = layer_step(layer, device)
    step.strategy = lambda: executors[-1].last_strategy if executors else None
    return step


def layer_step(layer, device=None):
    """A training step of a quantum layer: forward, backward of the outputs' sum; the outputs
    and the input gradients."""
    import torch  # lazy: as _layer_step

    device = device or torch.device("cpu")

    def step(x):
        x = x.detach().to(device).requires_grad_(True)
        out = layer(x)
        out.sum().backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return out.detach().cpu(), x.grad.cpu()

    return step


def _torchlayer_loop_step(device_name: str, n: int, L: int, weights):
    # lazy: `qhybrid bench --help` must not load torch or PennyLane
    import pennylane as qml
    import torch

    from qhybrid.quantum.backends import create_device

    dev = create_device(device_name, n, "float64", None, None, {})
    # default.qubit differentiates one sample by backprop; Aer needs the parameter shift
    method = "backprop" if device_name == "default.qubit" else "parameter-shift"

    @qml.qnode(dev, interface="torch", diff_method=method)
    def circuit(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(n))
        qml.StronglyEntanglingLayers(weights, wires=range(n))
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    layer = qml.qnn.TorchLayer(circuit, {"weights": (L, n, 3)})
    # the same float64 weights as the other implementations (TorchLayer makes float32 ones)
    param = torch.nn.Parameter(weights.clone())
    layer.qnode_weights["weights"] = param
    layer.weights = param

    def step(x):
        x = x.detach().requires_grad_(True)
        out = torch.stack([layer(x[i]) for i in range(x.shape[0])])  # one sample at a time, as the seeds do
        out.sum().backward()
        return out.detach(), x.grad

    return step


def jax_missing() -> str | None:
    """Why pennylane_jax cannot run here (jax does not import), or None."""
    try:
        import jax  # noqa: F401  (lazy: an optional extra, `pip install 'qhybrid[bench]'`)
    except ImportError as err:
        return "jax is not installed" if isinstance(err, ModuleNotFoundError) else f"jax does not import ({err})"
    return None


def _jax_step(n: int, L: int, weights, sizes: tuple[int, ...]):
    """PennyLane default.qubit through its JAX interface: jax.jit of jax.value_and_grad of the
    step (inputs and weights), float64, the batch broadcast in one tape (AngleEmbedding takes
    a (B, n) array). Compiled ahead for each batch size in ``sizes``; returns the step and the
    seconds it took to compile for the last size (the timed batch)."""
    import jax  # lazy: an optional extra, loaded in this worker only

    jax.config.update("jax_enable_x64", True)  # before any array is made
    import jax.numpy as jnp  # lazy: as above
    import numpy as np
    import pennylane as qml

    @qml.qnode(qml.device("default.qubit", wires=n), interface="jax", diff_method="backprop")
    def circuit(x, w):
        qml.AngleEmbedding(x, wires=range(n))
        qml.StronglyEntanglingLayers(w, wires=range(n))
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    def loss(x, w):
        out = jnp.stack(circuit(x, w), axis=-1)  # (B, n)
        return out.sum(), out

    jitted = jax.jit(jax.value_and_grad(loss, argnums=(0, 1), has_aux=True))
    w = jnp.asarray(weights.numpy())
    compiled, seconds = {}, 0.0
    for size in sizes:
        start = time.perf_counter()
        compiled[size] = jitted.lower(jax.ShapeDtypeStruct((size, n), jnp.float64), w).compile()
        seconds = time.perf_counter() - start

    def step(x):
        result = compiled[x.shape[0]](jnp.asarray(x.numpy()), w)
        (_, out), (grad_x, _) = jax.block_until_ready(result)
        return np.asarray(out), np.asarray(grad_x)

    return step, seconds


def _timed(step, x, loop: bool, min_seconds: float, cap_seconds: float):
    """The step's times on the batch (for the per-sample loop: the part that fits in cap_seconds)."""
    B = x.shape[0]
    batch = x
    if loop:
        # the per-sample loop is linear in B: time at most what fits in cap_seconds
        start = time.perf_counter()
        step(x[:PROBE])
        per_sample = (time.perf_counter() - start) / min(PROBE, B)
        batch = x[:max(1, min(B, int(cap_seconds / max(per_sample, 1e-9))))]
    if not loop:  # the first steps after the probe run slower (caches, allocator, clock): not timed
        warm_until = time.perf_counter() + WARM_FRACTION * min_seconds
        while time.perf_counter() < warm_until:
            step(batch)
    times = []
    # time-bound, not step-bound: a 0.2 ms step timed 200 times is a 40 ms sample, which this
    # machine's drift moves by a factor of two between rounds
    deadline = time.perf_counter() + min_seconds
    while len(times) < 3 or (time.perf_counter() < deadline and len(times) < MAX_STEPS):
        start = time.perf_counter()
        step(batch)
        times.append(time.perf_counter() - start)
        if loop and sum(times) > cap_seconds:
            break
    return batch, times


def run_worker(impl: str, n: int, L: int, B: int, min_seconds: float, cap_seconds: float,
               circuit: dict | None = None, threads: int | None = None) -> dict[str, Any]:
    import torch  # lazy: `qhybrid bench --help` must not load torch

    from qhybrid.quantum.programs import program_of  # lazy: as above

    retained = retain_freed_memory()  # as `qhybrid train` runs; the same for every implementation
    if threads:
        torch.set_num_threads(threads)
    spec = bench_spec(n, L, circuit or {})
    program = program_of(spec)
    x, weights = _inputs(program.n_inputs, program.weight_shape or (0,), B)
    device, how = IMPLEMENTATIONS[impl]
    if how in BUILT_IN_ONLY and circuit:
        raise QHybridError(f"{impl} times the built-in circuit only", "leave it out of --impls with --circuit")
    compile_s = None
    if device == "qhybrid.native":  # a strategy whose matrices cannot fit: one line, not the allocator's error
        from qhybrid.quantum.memory import check_fits  # lazy: as above

        check_fits(spec, "torch", "float64", B, "cuda" if torch.cuda.is_available() else "cpu", how,
                   noisy=how == "noise")
    if how == "jax":
        step, compile_s = _jax_step(n, L, weights, tuple(dict.fromkeys((min(PROBE, B), B))))
    elif how == "loop":
        step = _torchlayer_loop_step(device, n, L, weights)
    elif impl in NOISE_IMPLEMENTATIONS:
        step = noise_step(impl, spec, weights, layer_step)
    else:
        step = _layer_step(device, how, spec, weights)
    probe_out, probe_grad = step(x[:PROBE])  # also the warm-up
    batch, times = _timed(step, x, how in CAPPED, min_seconds, cap_seconds)
    median = statistics.median(times)
    # XLA's CPU pool is one thread under XLA_ONE_THREAD, else it spans the cores (no count to set)
    used = (1 if XLA_ONE_THREAD in os.environ.get("XLA_FLAGS", "") else os.cpu_count()) if how == "jax" \
        else torch.get_num_threads()
    strategy = getattr(step, "strategy", lambda: None)()
    return {"impl": impl, "n": n, "L": L, "B": B, "timed_batch": int(batch.shape[0]),
            "extrapolated": batch.shape[0] < B, "steps": len(times), "median_step_s": median,
            "samples_per_s": batch.shape[0] / median, "probe_out": probe_out.tolist(),
            "probe_grad": probe_grad.tolist(), "threads": used, "retained_freed_memory": retained,
            **({"strategy": strategy} if strategy else {}), **({"compile_s": compile_s} if how == "jax" else {})}
