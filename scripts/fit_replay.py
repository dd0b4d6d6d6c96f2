"""How long do a run's fits take with torch's fused AdamW and with qhybrid's? (qhybrid.training.adamw)

Runs `qhybrid train` once in this process (g6 on iris_binary, 30 epochs, as issue 15's
target) with the fits' inputs captured, then replays those fits interleaved, each with a
fresh copy of its model, once with qhybrid's AdamW (what `qhybrid train` uses on the CPU)
and once with torch's `AdamW(fused=True)`; prints each fit's seconds, medians and minima.

    python scripts/fit_replay.py [--rounds 10] [overrides ...]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time

DEFAULT = ["model=g6", "data=iris_binary", "trainer.max_epochs=30", "trainer.early_stopping.enabled=false"]


def capture(overrides: list[str]) -> list[tuple]:
    import qhybrid.training.engine as engine
    from qhybrid.cli import main

    captured, fit = [], engine.fit

    def keeping(model, *args, **kwargs):
        kwargs_copy = {k: v for k, v in kwargs.items() if k not in ("on_epoch", "checkpoint")}
        captured.append(copy.deepcopy((model, args, kwargs_copy)))
        return fit(model, *args, **kwargs)

    engine.fit = keeping
    with tempfile.TemporaryDirectory() as folder:
        main(["train", *overrides, f"hydra.run.dir={folder}/run", "baselines=[]"])
    engine.fit = fit
    return captured


def replay(case: tuple, optimizer: str) -> float:
    import torch

    import qhybrid.training.engine as engine
    from qhybrid.build import build_scheduler

    model, args, kwargs = copy.deepcopy(case)
    spec, parts = args[4], args[5]
    if optimizer == "torch":
        params = [p for p in model.parameters() if p.requires_grad]
        parts.optimizer = torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay, fused=True)
        parts.scheduler = build_scheduler(parts.optimizer, spec, spec.early_stopping.resolved_mode)
    start = time.perf_counter()
    engine.fit(model, *args, **kwargs)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("overrides", nargs="*", default=DEFAULT)
    options = parser.parse_args()
    cases = capture(options.overrides)
    seconds: dict[str, list[float]] = {"qhybrid": [], "torch": []}
    for _ in range(options.rounds):
        for optimizer in seconds:  # interleaved: the machine's speed drifts between minutes
            seconds[optimizer] += [replay(case, optimizer) for case in cases]
    for optimizer, values in seconds.items():
        print(f"{optimizer} AdamW: {len(values)} fits, median {statistics.median(values):.4f} s, "
              f"min {min(values):.4f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
