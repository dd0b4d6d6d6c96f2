"""Where does a second intra-op thread start to pay? (qhybrid.threads.SMALL_STATE)

For each (n_qubits, batch) the native executor's train step (AngleEmbedding + SEL, L=2,
forward + backward, float64) is timed in its own process with 1 and with every core's
threads, interleaved, idle and with a competing CPU-bound process; prints samples/s and the
ratio. A classical step (Linear(width) x 2, batch) the same way.

    python scripts/thread_threshold.py [--busy] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

QUANTUM = [(4, 16), (4, 64), (4, 256), (6, 64), (6, 256), (8, 64), (8, 256), (8, 1024), (10, 64), (10, 256),
           (12, 64), (12, 256)]
CLASSICAL = [(16, 64), (64, 256), (256, 256), (256, 1024)]

WORKER = """
import json, sys, time, statistics, torch
kind, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if kind == "quantum":
    from qhybrid.bench import run_worker
    r = run_worker("native_auto", a, 2, b, 1.0, 30.0)
    print(json.dumps({"rate": r["samples_per_s"], "threads": r["threads"]}))
else:
    width, batch = a, b
    model = torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.ReLU(), torch.nn.Linear(width, 3))
    x = torch.randn(batch, width)
    times = []
    end = time.perf_counter() + 1.0
    while len(times) < 5 or time.perf_counter() < end:
        t = time.perf_counter(); model(x).sum().backward(); times.append(time.perf_counter() - t)
    print(json.dumps({"rate": batch / statistics.median(times), "threads": torch.get_num_threads()}))
"""


def measure(kind: str, a: int, b: int, threads: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "QHYBRID_MALLOC": os.environ.get("QHYBRID_MALLOC", "")}
    done = subprocess.run([sys.executable, "-c", WORKER, kind, str(a), str(b)], capture_output=True, text=True,
                          env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["rate"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", action="store_true", help="run a CPU-bound process beside every measurement")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        print(f"| kind | size | batch | 1 thread (samples/s) | {cores} threads | ratio {cores}/1 |")
        print("|---|---|---|---|---|---|")
        for kind, cases in (("quantum", QUANTUM), ("classical", CLASSICAL)):
            for a, b in cases:
                rates: dict[int, list[float]] = {1: [], cores: []}
                for _ in range(args.rounds):
                    for t in (1, cores):
                        rates[t].append(measure(kind, a, b, t))
                one, many = statistics.median(rates[1]), statistics.median(rates[cores])
                print(f"| {kind} | {a} | {b} | {one:,.0f} | {many:,.0f} | {many / one:.2f} |", flush=True)
    finally:
        if busy is not None:
            busy.kill()


if __name__ == "__main__":
    main()
