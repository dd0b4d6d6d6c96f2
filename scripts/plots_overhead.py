"""What drawing a run's figures costs (docs/benchmarks.md): a small run (g0, iris_binary,
2 folds, 2 epochs, no baselines, no INT8) with plots=true and plots=false, in one process
(imports paid once, as in a sweep's worker or the test suite), interleaved, medians of 7.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/plots_overhead.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from helpers import run_in_process  # noqa: E402 - the in-process runner the tests use

ARGS = ["train", "model=g0", "data=iris_binary", "cv.n_splits=2", "trainer.max_epochs=2", "baselines=[]",
        "quantization=none"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run_in_process([*ARGS, "plots=true", f"hydra.run.dir={tmp}/warm"])
        times: dict[str, list[float]] = {"true": [], "false": []}
        for i in range(7):
            for plots in times:
                start = time.perf_counter()
                assert run_in_process([*ARGS, f"plots={plots}", f"hydra.run.dir={tmp}/{plots}_{i}"]).returncode == 0
                times[plots].append(time.perf_counter() - start)
    for plots, seconds in times.items():
        print(f"plots={plots}: median {statistics.median(seconds):.2f} s per run")
    print(f"ratio {statistics.median(times['true']) / statistics.median(times['false']):.2f}")


if __name__ == "__main__":
    main()
