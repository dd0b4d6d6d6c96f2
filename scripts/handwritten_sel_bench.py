"""A hand-written circuit against the built-in one (docs/benchmarks.md, issue 14): the native
executor's training step (forward + backward, float64, one thread) on

* ``builtin``: the compiled strongly_entangling program (angle embedding X, 8 qubits,
  2 layers), its gates named ROT and CNOT;
* ``handwritten``: the same circuit built by hand as a Program with the registry's names
  (RX, Rot, CNOT), as a compiled user circuit names them;
* ``mixed``: angle embedding Y, then per layer U3 on every wire, IsingZZ and CZ on
  neighbours, a SWAP, an X, a CY and a weight CRX: gates that took the generic Dense step;
* ``cz``: angle embedding Y, then per layer RY on every wire and a CZ ladder (a
  hardware-efficient ansatz);
* ``flips``: angle embedding Y, then three layers of RY on every wire, a CNOT ring and X
  on two wires alone.

Each code tree runs in its own worker process (this worktree, and with ``--before DIR`` a
checkout of the code before the change, e.g. main's worktree); ``--x-as-block`` adds a
worker of this tree whose plans keep every X in a block instead of the layout. The workers
and the programs are interleaved round by round; a time is the median over all steps.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/handwritten_sel_bench.py --before /work/main --x-as-block
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
N, LAYERS, BATCH = 8, 2, 1024
PROGRAMS = ("builtin", "handwritten", "mixed", "cz", "flips")


def _builtin():
    from qhybrid.quantum.circuit import compile_program
    from qhybrid.quantum.spec import QuantumSpec

    return compile_program(QuantumSpec(n_qubits=N, rotation="X", ansatz="strongly_entangling", n_layers=LAYERS))


def _handwritten():
    """StronglyEntanglingLayers after AngleEmbedding(X), gate by gate, the registry's names."""
    from qhybrid.quantum.circuit import Program
    from qhybrid.quantum.gates import Gate

    columns = [("input", i) for i in range(N)]
    gates = [Gate("RX", (i,), (i,)) for i in range(N)]
    for layer in range(LAYERS):
        for i in range(N):
            first = len(columns)
            columns += [("weight", (layer * N + i) * 3 + k) for k in range(3)]
            gates.append(Gate("Rot", (i,), (first, first + 1, first + 2)))
        gates += [Gate("CNOT", (i, (i + layer % (N - 1) + 1) % N)) for i in range(N)]
    return Program(n_qubits=N, gates=gates, columns=columns, weight_shape=(LAYERS, N, 3))


def _mixed():
    from qhybrid.quantum.circuit import Program
    from qhybrid.quantum.gates import Gate

    columns = [("input", i) for i in range(N)]
    gates = [Gate("RY", (i,), (i,)) for i in range(N)]

    def weights(k: int) -> tuple[int, ...]:
        first = len(columns)
        columns.extend([("weight", first - N + j) for j in range(k)])
        return tuple(range(first, first + k))

    for layer in range(LAYERS):
        gates += [Gate("U3", (i,), weights(3)) for i in range(N)]
        gates += [Gate("IsingZZ", (i, i + 1), weights(1)) for i in range(0, N - 1, 2)]
        gates += [Gate("CZ", (i, i + 1)) for i in range(1, N - 1, 2)]
        gates += [Gate("SWAP", (0, N - 1)), Gate("X", (layer,)), Gate("CY", (2, 5)), Gate("CRX", (3, 6), weights(1))]
    return Program(n_qubits=N, gates=gates, columns=columns, weight_shape=(len(columns) - N,))


def _cz():
    from qhybrid.quantum.circuit import Program
    from qhybrid.quantum.gates import Gate

    gates = [Gate("RY", (i,), (i,)) for i in range(N)]
    for layer in range(LAYERS):
        gates += [Gate("RY", (i,), (N + layer * N + i,)) for i in range(N)]
        gates += [Gate("CZ", (i, i + 1)) for i in range(N - 1)]
    columns = [("input", i) for i in range(N)] + [("weight", k) for k in range(LAYERS * N)]
    return Program(n_qubits=N, gates=gates, columns=columns, weight_shape=(LAYERS * N,))


def _flips():
    from qhybrid.quantum.circuit import Program
    from qhybrid.quantum.gates import Gate

    gates = [Gate("RY", (i,), (i,)) for i in range(N)]
    for layer in range(3):
        gates += [Gate("RY", (i,), (N + layer * N + i,)) for i in range(N)]
        gates += [Gate("CNOT", (i, (i + 1) % N)) for i in range(N)] + [Gate("X", (0,)), Gate("X", (5,))]
    columns = [("input", i) for i in range(N)] + [("weight", k) for k in range(3 * N)]
    return Program(n_qubits=N, gates=gates, columns=columns, weight_shape=(3 * N,))


def worker(reps: int, x_as_block: bool) -> None:
    """Answers each program name read from stdin with its step times (JSON), one line each."""
    import torch

    from qhybrid.allocator import retain_freed_memory
    from qhybrid.quantum.native import NativeExecutor

    torch.set_num_threads(1)
    retain_freed_memory()  # as `qhybrid train` runs
    if x_as_block:  # the plan's test for an X at the end of a run: never, so every X stays in a block
        from qhybrid.quantum.native_plan import _PlanBuilder

        _PlanBuilder.inside_run = staticmethod(lambda wire, gates: True)
    gen = torch.Generator().manual_seed(0)
    steps = {}
    programs = {"builtin": _builtin, "handwritten": _handwritten, "mixed": _mixed, "cz": _cz, "flips": _flips}
    for name, build in programs.items():
        program = build()
        executor = NativeExecutor(program)
        x = torch.rand(BATCH, N, generator=gen, dtype=torch.float64) * 3 - 1.5
        w = torch.rand(program.weight_shape, generator=gen, dtype=torch.float64) * 6

        def step(program=program, executor=executor, x=x, w=w):
            x, w = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
            out = executor(program.angles(x, w, None))
            out.sum().backward()
            return out.detach()

        steps[name] = step
        for _ in range(3):  # warm-up
            step()
    print(json.dumps({"ready": torch.__version__, "qhybrid": str(Path(sys.modules["qhybrid"].__file__).parent)}),
          flush=True)
    for line in sys.stdin:
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            steps[line.strip()]()
            times.append(time.perf_counter() - start)
        print(json.dumps(times), flush=True)


def _start(tree: Path, reps: int, x_as_block: bool = False) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--reps", str(reps)]
    proc = subprocess.Popen(command + (["--x-as-block"] if x_as_block else []), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env, cwd="/")
    ready = json.loads(proc.stdout.readline())
    print(f"worker {tree}: qhybrid from {ready['qhybrid']}, torch {ready['ready']}", flush=True)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="a checkout of the code before the change (timed alongside)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--reps", type=int, default=5, help="steps per program per round")
    parser.add_argument("--x-as-block", action="store_true", help="also time this tree with every X in a block")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.reps, args.x_as_block)
        return
    workers = {"after": _start(ROOT, args.reps)}
    if args.before:
        workers["before"] = _start(args.before.resolve(), args.reps)
    if args.x_as_block:
        workers["x-block"] = _start(ROOT, args.reps, x_as_block=True)
    times = {(label, name): [] for label in workers for name in PROGRAMS}
    for _ in range(args.rounds):
        for name in PROGRAMS:
            for label, proc in workers.items():
                proc.stdin.write(name + "\n")
                proc.stdin.flush()
                times[(label, name)] += json.loads(proc.stdout.readline())
    for proc in workers.values():
        proc.stdin.close()
        proc.wait()
    median = {key: statistics.median(values) for key, values in times.items()}
    print(f"n={N} L={LAYERS} B={BATCH} float64, one thread, forward+backward, median of "
          f"{args.rounds} x {args.reps} steps (ms)")
    for (label, name), value in median.items():
        print(f"  {label:7s} {name:11s} {value * 1e3:8.2f} ms  ({BATCH / value:,.0f} samples/s)")
    for label in workers:
        ratio = median[(label, "builtin")] / median[(label, "handwritten")]
        print(f"{label}: hand-written speed / built-in speed = {ratio:.2f}")
    for other in ("before", "x-block"):
        for name in PROGRAMS if other in workers else ():
            print(f"{name}: speed after / {other} = {median[(other, name)] / median[('after', name)]:.2f}")


if __name__ == "__main__":
    main()
