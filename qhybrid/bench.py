"""`qhybrid bench`: training-step throughput of the quantum executors, side by side.

Every implementation runs in its own process on identical circuits and inputs
(AngleEmbedding + StronglyEntanglingLayers, float64, seeded), so one cannot warm or slow
another. A training step is forward + backward of the layer on a batch of B samples.
Shared machines drift by tens of percent within minutes, so the implementations of a case
run in interleaved rounds (A, B, C, A, B, C, ...): a rate is the median over rounds of each
round's median step, and the speed-up is the median of the per-round ratios to PennyLane
default.qubit broadcasting, timed next to it. The per-sample loop, capped in time, runs in
the first round only. Also reported: the largest difference of outputs and input
gradients from broadcasting. With CUDA the native executor runs on the GPU and the cases
(8,2,65536) and (16,2,4096) are added; PennyLane stays on the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from qhybrid.allocator import retain_freed_memory
from qhybrid.errors import QHybridError, report
from qhybrid.io import write_json, write_text

REFERENCE = "pennylane_broadcast"
# name -> (device, how): "loop" is the seeds' per-sample TorchLayer loop, anything else is
# qhybrid's quantum layer (one broadcast call per batch) with that gradient method
IMPLEMENTATIONS = {
    "torchlayer_loop": ("default.qubit", "loop"),
    "pennylane_broadcast": ("default.qubit", "backprop"),
    "lightning_adjoint": ("lightning.qubit", "adjoint"),
    "pennylane_shift": ("default.qubit", "parameter-shift"),
    "lightning_shift": ("lightning.qubit", "parameter-shift"),
    "aer_loop": ("qiskit.aer", "loop"),
    "aer_shift": ("qiskit.aer", "parameter-shift"),
    "native_fused": ("qhybrid.native", "fused"),
    "native_gates": ("qhybrid.native", "gates"),
    "native_auto": ("qhybrid.native", "auto"),
}
DEFAULT_IMPLS = ["torchlayer_loop", "pennylane_broadcast", "lightning_adjoint", "native_fused", "native_gates",
                 "native_auto"]
DEFAULT_CASES = [(4, 2, 64), (4, 2, 1024), (8, 2, 1024), (12, 2, 256)]
CUDA_CASES = [(8, 2, 65536), (16, 2, 4096)]
PROBE = 16  # samples whose outputs and gradients are compared across implementations


def _inputs(n_inputs: int, weight_shape: tuple, B: int):
    # lazy: `qhybrid bench --help` must not load torch
    import torch

    gen = torch.Generator().manual_seed(1234)
    x = (torch.rand(B, n_inputs, generator=gen, dtype=torch.float64) * 2 - 1) * (torch.pi / 2)
    weights = torch.rand(weight_shape, generator=gen, dtype=torch.float64) * 2 * torch.pi
    return x, weights


def _spec(n: int, L: int, circuit: dict):
    """The benchmarked circuit: AngleEmbedding + StronglyEntanglingLayers, or the user's
    (``circuit``: model.quantum keys, e.g. circuit and weight_shapes; L is then unused)."""
    from qhybrid.quantum.spec import QuantumSpec  # lazy: `qhybrid bench --help` must not load torch

    spec = QuantumSpec(n_qubits=n, rotation="X", ansatz="strongly_entangling", n_layers=L, **circuit)
    spec.check()
    return spec


def _layer_step(device_name: str, diff_method: str, spec, weights):
    """qhybrid's quantum layer; ``diff_method`` is the strategy for the native executor,
    which runs on CUDA when there is one."""
    # lazy: `qhybrid bench --help` must not load torch (these modules import it)
    import torch

    from qhybrid.quantum.backends import resolve_backend
    from qhybrid.quantum.layer import QuantumLayer
    from qhybrid.quantum.pennylane_executor import PennyLaneExecutor
    from qhybrid.quantum.spec import BackendSpec

    n = spec.n_qubits
    if device_name == "qhybrid.native":
        from qhybrid.quantum.native import NativeExecutor  # lazy: as above

        layer = QuantumLayer(spec, lambda program, cols: NativeExecutor(program, strategy=diff_method))
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


def run_worker(impl: str, n: int, L: int, B: int, min_seconds: float, cap_seconds: float,
               circuit: dict | None = None) -> dict[str, Any]:
    import torch  # lazy: `qhybrid bench --help` must not load torch

    from qhybrid.quantum.programs import program_of  # lazy: as above

    retained = retain_freed_memory()  # as `qhybrid train` runs; the same for every implementation

    spec = _spec(n, L, circuit or {})
    program = program_of(spec)
    x, weights = _inputs(program.n_inputs, program.weight_shape or (0,), B)
    device, how = IMPLEMENTATIONS[impl]
    loop = how == "loop"
    if loop and circuit:
        raise QHybridError(f"{impl} times the built-in circuit only", "leave it out of --impls with --circuit")
    step = _torchlayer_loop_step(device, n, L, weights) if loop else _layer_step(device, how, spec, weights)
    probe_out, probe_grad = step(x[:PROBE])  # also the warm-up
    batch, extrapolated = x, False
    if loop:
        # the per-sample loop is linear in B: time at most what fits in cap_seconds
        start = time.perf_counter()
        step(x[:PROBE])
        per_sample = (time.perf_counter() - start) / min(PROBE, B)
        k = max(1, min(B, int(cap_seconds / max(per_sample, 1e-9))))
        batch, extrapolated = x[:k], k < B
    times = []
    deadline = time.perf_counter() + min_seconds
    while len(times) < 3 or (time.perf_counter() < deadline and len(times) < 200):
        start = time.perf_counter()
        step(batch)
        times.append(time.perf_counter() - start)
        if loop and sum(times) > cap_seconds:
            break
    median = statistics.median(times)
    return {"impl": impl, "n": n, "L": L, "B": B, "timed_batch": int(batch.shape[0]), "extrapolated": extrapolated,
            "steps": len(times), "median_step_s": median, "samples_per_s": batch.shape[0] / median,
            "probe_out": probe_out.tolist(), "probe_grad": probe_grad.tolist(), "threads": torch.get_num_threads(),
            "retained_freed_memory": retained}


def _spawn(impl: str, case: tuple[int, int, int], min_seconds: float, cap_seconds: float, timeout: float,
           circuit: dict) -> dict:
    n, L, B = case
    cmd = [sys.executable, "-m", "qhybrid.bench", "--worker", impl, str(n), str(L), str(B), str(min_seconds),
           str(cap_seconds), json.dumps(circuit)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"impl": impl, "n": n, "L": L, "B": B, "error": f"timed out after {timeout:.0f}s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"impl": impl, "n": n, "L": L, "B": B, "error": last[:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def combine_rounds(runs: dict[str, list[dict]], impls: list[str]) -> list[dict]:
    """One row per implementation: the median rate over rounds, the median of per-round
    speed-ups (round i against broadcasting's round i; the capped loop against its first)."""
    ref_runs = [r for r in runs.get(REFERENCE, []) if "error" not in r]
    rows = []
    for impl in impls:
        ok = [r for r in runs[impl] if "error" not in r]
        if not ok:
            rows.append(runs[impl][-1])
            continue
        row = dict(ok[0])
        row["rounds"] = [r["samples_per_s"] for r in ok]
        row["samples_per_s"] = statistics.median(row["rounds"])
        if ref_runs:
            ratios = [r["samples_per_s"] / ref["samples_per_s"] for r, ref in zip(ok, ref_runs)]
            row["speedup"] = statistics.median(ratios)
            row["max_error"] = _max_error(ok[0], ref_runs[0])
        rows.append(row)
    return rows


def _max_error(a: dict, ref: dict) -> float | None:
    import numpy as np  # lazy: `qhybrid bench --help` must not load numpy

    if "probe_out" not in a or "probe_out" not in ref:
        return None
    return float(max(np.abs(np.subtract(a["probe_out"], ref["probe_out"])).max(),
                     np.abs(np.subtract(a["probe_grad"], ref["probe_grad"])).max()))


def markdown(results: list[dict], meta: dict) -> str:
    lines = [f"Command: `{meta['command']}`", "",
             f"Machine: {meta['machine']}; torch {meta['torch']}, PennyLane {meta['pennylane']}, "
             f"pennylane-lightning {meta['lightning']}; float64; {meta['date']}.", "",
             "| implementation | n | L | B | samples/s | vs broadcast | max error |", "|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['impl']} | {r['n']} | {r['L']} | {r['B']} | failed: {r['error']} | | |")
            continue
        note = " (extrapolated)" if r["extrapolated"] else ""
        speed = f"{r['speedup']:.2f}x" if r.get("speedup") else "-"
        err = f"{r['max_error']:.1e}" if r.get("max_error") is not None else "-"
        rate = r["samples_per_s"]
        shown = f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"
        lines.append(f"| {r['impl']} | {r['n']} | {r['L']} | {r['B']} | {shown}{note} | {speed} | {err} |")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qhybrid bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=None,
                        help="circuits as n,L,B (qubits, layers, batch); default: "
                             + " ".join(f"{n},{L},{B}" for n, L, B in DEFAULT_CASES) + ", with CUDA also "
                             + " ".join(f"{n},{L},{B}" for n, L, B in CUDA_CASES))
    parser.add_argument("--impls", nargs="+", default=DEFAULT_IMPLS, choices=list(IMPLEMENTATIONS),
                        help="default: %(default)s")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per case (median over rounds)")
    parser.add_argument("--min-seconds", type=float, default=1.5, help="time each case at least this long")
    parser.add_argument("--cap-seconds", type=float, default=20.0, help="per-sample loop: time at most this long")
    parser.add_argument("--timeout", type=float, default=600.0, help="per implementation and case")
    parser.add_argument("--out", default=None, help="folder for bench.json and bench.md (default: outputs/bench/...)")
    parser.add_argument("--circuit", default=None,
                        help="time your circuit instead of AngleEmbedding + StronglyEntanglingLayers: a YAML file or "
                             "<file.py>:<function> (model.quantum.circuit); n of --cases is its qubits, L is unused")
    parser.add_argument("--weight-shapes", default=None,
                        help="the Python function's weights as JSON, e.g. '{\"weights\": [2, 8, 3]}'")
    parser.add_argument("--observables", nargs="+", default=None, help="the readout (model.quantum.observables)")
    return parser


def _circuit_keys(args) -> dict:
    """model.quantum keys of --circuit, --weight-shapes and --observables."""
    keys: dict = {}
    if args.circuit:
        keys["circuit"] = args.circuit
    if args.weight_shapes:
        try:
            keys["weight_shapes"] = json.loads(args.weight_shapes)
        except json.JSONDecodeError:
            raise QHybridError(f"--weight-shapes {args.weight_shapes!r} is not JSON",
                               "e.g. --weight-shapes '{\"weights\": [2, 8, 3]}'") from None
    if args.observables:
        keys["observables"] = args.observables
    return keys


def _impls_for_circuit(args, cases: list[tuple], circuit: dict) -> list[str]:
    """Keep the implementations that can run the user's circuit; a line for each one left out.
    A circuit that cannot compile is one line here, not one per worker."""
    from qhybrid.quantum.programs import program_of  # lazy: as main's
    from qhybrid.quantum.resources import shift_executions

    programs = [program_of(_spec(n, 1, circuit)) for n in sorted({case[0] for case in cases})]
    opaque = sorted({name for program in programs for name in program.opaque})
    unshiftable = any(shift_executions(program, True) is None for program in programs)
    notes, kept = [], []
    for impl in args.impls:
        device, how = IMPLEMENTATIONS[impl]
        if how == "loop":
            notes.append(f"{impl} left out: it times the built-in circuit only")
        elif opaque and device == "qhybrid.native":
            notes.append(f"{impl} left out: the circuit has operations outside qhybrid's gate registry "
                         f"({', '.join(opaque)}), which only PennyLane runs")
        elif unshiftable and how == "parameter-shift":
            notes.append(f"{impl} left out: {', '.join(opaque)} has no parameter-shift rule in qhybrid")
        else:
            kept.append(impl)
    args.impls = kept  # the reference (PennyLane broadcasting) is always timed
    return notes


def _run_cases(cases: list[tuple], args, circuit: dict, console) -> list[dict]:
    """Every case's implementations in interleaved rounds, one process each."""
    results: list[dict] = []
    for case in cases:
        impls = args.impls if REFERENCE in args.impls else [REFERENCE, *args.impls]
        impls = sorted(impls, key=lambda i: i != REFERENCE)
        runs: dict[str, list[dict]] = {impl: [] for impl in impls}
        for round_ in range(args.rounds):
            for impl in impls:
                if round_ and (IMPLEMENTATIONS[impl][1] == "loop" or any("error" in r for r in runs[impl])):
                    continue  # the capped loop is timed once; a failure is not retried
                console.print(f"bench n={case[0]} L={case[1]} B={case[2]} round {round_ + 1}/{args.rounds}: "
                              f"{impl} ...", highlight=False)
                runs[impl].append(_spawn(impl, case, args.min_seconds, args.cap_seconds, args.timeout, circuit))
        results.extend(combine_rounds(runs, impls))
    return results


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--worker":
        impl, n, L, B, min_s, cap_s, circuit = argv[1:8]
        try:
            result = run_worker(impl, int(n), int(L), int(B), float(min_s), float(cap_s), json.loads(circuit))
        except QHybridError as err:
            return report(err)
        print(json.dumps(result))
        return 0
    args = _parser().parse_args(argv)
    try:
        circuit = _circuit_keys(args)
    except QHybridError as err:
        return report(err)
    try:
        cases = [tuple(int(v) for v in c.split(",")) for c in args.cases or []]
        assert all(len(c) == 3 and min(c) >= 1 for c in cases)
    except (ValueError, AssertionError):
        return report(QHybridError("--cases takes n,L,B triples of positive integers", "e.g. --cases 4,2,64 8,2,1024"))
    if args.rounds < 1:
        return report(QHybridError("--rounds must be at least 1", "e.g. --rounds 3"))
    # lazy: `qhybrid bench --help` must not load these
    import numpy as np  # noqa: F401  (fail here, not in a worker, if the install is broken)
    import pennylane
    import torch

    if not cases:
        cases = DEFAULT_CASES + (CUDA_CASES if torch.cuda.is_available() else [])
    # lazy: `qhybrid bench --help` must not load rich (console) or torch (environment)
    from qhybrid.console import get_console
    from qhybrid.environment import package_version

    console = get_console()
    if circuit:
        try:
            for line in _impls_for_circuit(args, cases, circuit):
                console.print(line, highlight=False, markup=False)
        except QHybridError as err:
            return report(err)
    results = _run_cases(cases, args, circuit, console)
    meta = {"command": "qhybrid bench " + " ".join(argv), "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
            "machine": f"{os.cpu_count()} CPU cores, {'CUDA' if torch.cuda.is_available() else 'no GPU'}",
            "torch": torch.__version__, "pennylane": pennylane.__version__,
            "lightning": package_version("pennylane-lightning")}
    out = Path(args.out) if args.out else Path("outputs") / "bench" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    table = markdown(results, meta)
    for r in results:
        r.pop("probe_out", None)
        r.pop("probe_grad", None)
    write_json(out / "bench.json", {"meta": meta, "results": results})
    write_text(out / "bench.md", table)
    console.print(table, markup=False, highlight=False)
    console.print(f"written: {out / 'bench.json'}, {out / 'bench.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
