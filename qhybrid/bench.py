"""`qhybrid bench`: training-step throughput of the quantum executors, side by side.

Every implementation runs in its own process on identical circuits and inputs
(AngleEmbedding + StronglyEntanglingLayers, float64, seeded), so one cannot warm or slow
another. A training step is forward + backward of the layer on a batch of B samples.
Shared machines drift by tens of percent within minutes, so the implementations of a case
run in interleaved rounds (A, B, C, A, B, C, ...): a rate is the median over rounds of each
round's median step, and the speed-up is the median of the per-round ratios to PennyLane
default.qubit broadcasting, timed next to it. The per-sample loop, capped in time, runs in
the first round only. Also reported: the largest difference of outputs and input
gradients from broadcasting, the intra-op threads of each worker and, for PennyLane under
jax.jit, the compile time (not counted in samples/s). With CUDA the native executor runs on
the GPU and the cases (8,2,65536) and (16,2,4096) are added; PennyLane stays on the CPU.
The implementations themselves are in qhybrid/bench_impls.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from qhybrid.bench_impls import BUILT_IN_ONLY, CAPPED, IMPLEMENTATIONS, XLA_ONE_THREAD, bench_spec, jax_missing, run_worker
from qhybrid.bench_args import check_impls, check_numbers, out_folder
from qhybrid.bench_noise import NOISE_CASES, NOISE_IMPLS, NOISE_P, REFERENCES, SAMPLED, SHOTS
from qhybrid.errors import QHybridError, report
from qhybrid.io import write_json, write_text

REFERENCE = "pennylane_broadcast"
DEFAULT_IMPLS = ["torchlayer_loop", "pennylane_broadcast", "lightning_adjoint", "native_fused", "native_gates",
                 "native"]
# the issue 15 table's columns; (16,2,64) takes minutes (PennyLane's steps there are seconds, JAX compiles for a minute)
DEFAULT_CASES = [(4, 2, 64), (4, 2, 1024), (8, 2, 1024), (12, 2, 256), (16, 2, 64)]
CUDA_CASES = [(8, 2, 65536), (16, 2, 4096)]


def _worker_env(impl: str, threads: int | None) -> dict[str, str]:
    """A worker's environment: this process's, the same qhybrid, and --threads."""
    env = dict(os.environ)
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").exists():
        # run from a source tree (a git worktree, say), which may not be the installed qhybrid:
        # the workers must time the code the bench runs
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    if threads:
        # OpenMP and BLAS pools (lightning's kernels, numpy) size themselves from these at start;
        # the worker sets torch's count, and XLA reads its flags when jax loads
        env.update({var: str(threads) for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
        if threads == 1 and IMPLEMENTATIONS[impl][1] == "jax":
            env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {XLA_ONE_THREAD}".strip()
    return env


def _spawn(impl: str, case: tuple[int, int, int], args, circuit: dict) -> dict:
    n, L, B = case
    cmd = [sys.executable, "-m", "qhybrid.bench", "--worker", impl, str(n), str(L), str(B), str(args.min_seconds),
           str(args.cap_seconds), json.dumps(circuit), str(args.threads or 0)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=False,
                              env=_worker_env(impl, args.threads))
    except subprocess.TimeoutExpired:
        return {"impl": impl, "n": n, "L": L, "B": B, "error": f"timed out after {args.timeout:.0f}s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"impl": impl, "n": n, "L": L, "B": B, "error": last[:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def reference_of(impl: str) -> str:
    """What a row is compared with: PennyLane's broadcasting, or under --noise default.mixed
    (noise rows) and default.qubit with the same shots (shots rows)."""
    return REFERENCES.get(IMPLEMENTATIONS[impl][1], REFERENCE)


def combine_rounds(runs: dict[str, list[dict]], impls: list[str]) -> list[dict]:
    """One row per implementation: the median rate over rounds, the median of per-round
    speed-ups (round i against its reference's round i; a capped loop against its first);
    the largest difference from the reference's outputs (none for sampled shots)."""
    rows = []
    for impl in impls:
        ref_runs = [r for r in runs.get(reference_of(impl), []) if "error" not in r]
        ok = [r for r in runs[impl] if "error" not in r]
        if not ok:
            rows.append(runs[impl][-1])
            continue
        row = dict(ok[0])
        row["rounds"] = [r["samples_per_s"] for r in ok]
        row["samples_per_s"] = statistics.median(row["rounds"])
        if "compile_s" in row:
            row["compile_s"] = statistics.median(r["compile_s"] for r in ok)
        if ref_runs:
            ratios = [r["samples_per_s"] / ref["samples_per_s"] for r, ref in zip(ok, ref_runs)]
            row["speedup"] = statistics.median(ratios)
            row["max_error"] = None if impl in SAMPLED else _max_error(ok[0], ref_runs[0])
        rows.append(row)
    return rows


def _max_error(a: dict, ref: dict) -> float | None:
    import numpy as np  # lazy: `qhybrid bench --help` must not load numpy

    if "probe_out" not in a or "probe_out" not in ref:
        return None
    return float(max(np.abs(np.subtract(a["probe_out"], ref["probe_out"])).max(),
                     np.abs(np.subtract(a["probe_grad"], ref["probe_grad"])).max()))


def _label(r: dict) -> str:
    """The implementation as it ran: with the automatic strategy, the one it picked for this batch."""
    auto = IMPLEMENTATIONS.get(r["impl"], ("", ""))[1] == "auto"
    return f"{r['impl']} (auto: {r['strategy']})" if auto and r.get("strategy") else r["impl"]


def markdown(results: list[dict], meta: dict) -> str:
    versions = f"torch {meta['torch']}, PennyLane {meta['pennylane']}, pennylane-lightning {meta['lightning']}"
    if meta.get("jax"):
        versions += f", jax {meta['jax']}"
    lines = [f"Command: `{meta['command']}`", "", f"Machine: {meta['machine']}; {versions}; float64; {meta['date']}.",
             "", f"| implementation | n | L | B | threads | samples/s | vs {meta.get('versus', 'broadcast')} | max error "
                 "| compile |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        head = f"| {_label(r)} | {r['n']} | {r['L']} | {r['B']} |"
        if "error" in r:
            lines.append(f"{head} | failed: {r['error']} | | | |")
            continue
        note = " (extrapolated)" if r["extrapolated"] else ""
        speed = (f"{r['speedup']:.2f}x" if r["speedup"] >= 0.1 else f"{r['speedup']:.2g}x") if r.get("speedup") else "-"
        err = f"{r['max_error']:.1e}" if r.get("max_error") is not None else "-"
        rate = r["samples_per_s"]
        shown = f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"
        compiled = f"{r['compile_s']:.1f} s" if r.get("compile_s") is not None else "-"
        lines.append(f"{head} {r['threads']} | {shown}{note} | {speed} | {err} | {compiled} |")
    if meta.get("versus") == "reference":
        lines += ["", f"vs reference: noise rows against pennylane_mixed (default.mixed), shots rows against "
                      f"pennylane_shots (default.qubit, the same shots). Noise: a depolarizing channel (p = {NOISE_P}) "
                      f"after every gate on each of its wires; shots: {SHOTS} per sample (Aer samples them too), no max error "
                      f"for sampled rows."]
    if any(r.get("compile_s") is not None for r in results):
        lines += ["", ("compile: jax.jit compiling the step for the timed batch shape, once per worker process (the "
                       "median over rounds); not counted in samples/s.")]
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="qhybrid bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=None,
                        help="circuits as n,L,B (qubits, layers, batch); default: "
                             + " ".join(f"{n},{L},{B}" for n, L, B in DEFAULT_CASES) + ", with CUDA also "
                             + " ".join(f"{n},{L},{B}" for n, L, B in CUDA_CASES))
    parser.add_argument("--impls", nargs="+", default=None, choices=list(IMPLEMENTATIONS),
                        help="native: the native executor with its automatic strategy (native_auto is the same); "
                             "pennylane_jax needs jax (pip install 'qhybrid[bench]'); default: "
                             + " ".join(DEFAULT_IMPLS) + "; with --noise " + " ".join(NOISE_IMPLS))
    parser.add_argument("--noise", action="store_true",
                        help="steps under noise (a depolarizing channel after every gate) and under shots, against "
                             "default.mixed and default.qubit with shots; cases "
                             + " ".join(f"{n},{L},{B}" for n, L, B in NOISE_CASES) + " (qhybrid/bench_noise.py)")
    parser.add_argument("--threads", type=int, default=None,
                        help="intra-op threads of each worker process (torch, OpenMP, BLAS; 1 also makes XLA single-"
                             "threaded); default: the workers' own default (torch: OMP_NUM_THREADS, else the cores)")
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

    programs = [program_of(bench_spec(n, 1, circuit)) for n in sorted({case[0] for case in cases})]
    opaque = sorted({name for program in programs for name in program.opaque})
    unshiftable = any(shift_executions(program, True) is None for program in programs)
    notes, kept = [], []
    for impl in args.impls:
        device, how = IMPLEMENTATIONS[impl]
        if how in BUILT_IN_ONLY:
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


def _left_out(args, cases: list[tuple], circuit: dict) -> list[str]:
    """A line for each implementation that cannot run here: without jax, or not the user's circuit."""
    notes = []
    if "pennylane_jax" in args.impls and (why := jax_missing()):
        notes.append(f"pennylane_jax left out: {why} (pip install 'qhybrid[bench]')")
        args.impls = [impl for impl in args.impls if impl != "pennylane_jax"]
    return notes + (_impls_for_circuit(args, cases, circuit) if circuit else [])


def _run_cases(cases: list[tuple], args, circuit: dict, console) -> list[dict]:
    """Every case's implementations in interleaved rounds, one process each."""
    results: list[dict] = []
    for case in cases:
        # the references are always timed, even when every implementation was left out
        references = list(dict.fromkeys(reference_of(impl) for impl in args.impls)) or \
            [NOISE_IMPLS[0] if args.noise else REFERENCE]
        impls = list(dict.fromkeys([*references, *args.impls]))
        runs: dict[str, list[dict]] = {impl: [] for impl in impls}
        for round_ in range(args.rounds):
            for impl in impls:
                if round_ and (IMPLEMENTATIONS[impl][1] in CAPPED or any("error" in r for r in runs[impl])):
                    continue  # the capped loop is timed once; a failure is not retried
                console.print(f"bench n={case[0]} L={case[1]} B={case[2]} round {round_ + 1}/{args.rounds}: "
                              f"{impl} ...", highlight=False)
                runs[impl].append(_spawn(impl, case, args, circuit))
        results.extend(combine_rounds(runs, impls))
    return results


class _OneLineParser(argparse.ArgumentParser):
    """argparse's mistakes (--threads abc, --impls bogus) as qhybrid's one line, not its usage block."""

    def error(self, message: str):
        sys.exit(report(QHybridError(f"qhybrid bench: {message}", "qhybrid bench --help lists the options")))


def _worker(argv: list[str]) -> int:
    """One implementation timed in a process of its own; its result as a JSON line."""
    impl, n, L, B, min_s, cap_s, circuit, threads = argv[1:9]
    try:
        result = run_worker(impl, int(n), int(L), int(B), float(min_s), float(cap_s), json.loads(circuit),
                            int(threads) or None)
    except QHybridError as err:
        return report(err)
    print(json.dumps(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--worker":
        return _worker(argv)
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
    try:
        check_numbers(args)
        out = out_folder(args.out)
    except QHybridError as err:
        return report(err)
    # lazy: `qhybrid bench --help` must not load these
    import numpy as np  # noqa: F401  (fail here, not in a worker, if the install is broken)
    import pennylane
    import torch

    asked = list(args.impls or [])
    args.impls = args.impls or list(NOISE_IMPLS if args.noise else DEFAULT_IMPLS)
    cases = cases or (NOISE_CASES if args.noise else DEFAULT_CASES + (CUDA_CASES if torch.cuda.is_available() else []))
    # lazy: `qhybrid bench --help` must not load rich (console) or torch (environment)
    from qhybrid.console import get_console
    from qhybrid.environment import package_version

    console = get_console()
    try:
        for line in _left_out(args, cases, circuit):
            console.print(line, highlight=False, markup=False)
        check_impls(args, asked, NOISE_IMPLS)
    except QHybridError as err:
        return report(err)
    results = _run_cases(cases, args, circuit, console)
    meta = {"command": "qhybrid bench " + " ".join(argv), "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
            "machine": f"{os.cpu_count()} CPU cores, {'CUDA' if torch.cuda.is_available() else 'no GPU'}",
            "torch": torch.__version__, "pennylane": pennylane.__version__,
            "lightning": package_version("pennylane-lightning"), "threads": args.threads,
            "versus": "reference" if any(reference_of(i) != REFERENCE for i in args.impls) else "broadcast",
            **({"jax": package_version("jax")} if "pennylane_jax" in args.impls else {})}
    table = markdown(results, meta)
    for r in results:
        r.pop("probe_out", None)
        r.pop("probe_grad", None)
    write_json(out / "bench.json", {"meta": meta, "results": results})
    write_text(out / "bench.md", table)
    console.print(table, markup=False, highlight=False)
    console.print(f"written: {out / 'bench.json'}, {out / 'bench.md'}")
    if results and all(r.get("error") for r in results):
        return report(QHybridError("every timed row failed (each row's reason is in the table)",
                                   "check the cases' sizes and the --timeout"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
