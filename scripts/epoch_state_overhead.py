"""What saving an unfinished fold's epoch state costs per epoch (docs/benchmarks.md).

A small classical MLP on 455 rows, 40 epochs, one thread: the quickest epochs qhybrid
runs, so the relative cost here is an upper bound. Compared in one process, interleaved,
medians over 7 repeats: no epoch state, a snapshot in memory each epoch (the default:
written every 60 s and on Ctrl-C/SIGTERM), and a write every epoch (0 seconds).

    python scripts/epoch_state_overhead.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from qhybrid.schema import EarlyStoppingSpec, TrainerSpec
from qhybrid.training.engine import fit
from qhybrid.training.epoch_state import EpochCheckpoint

EPOCHS = 40
KINDS = {"no epoch state": "none", "snapshot in memory (default)": None, "written every epoch": 0}


def main() -> None:
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(455, 30, generator=g)
    y = (X[:, 0] > 0).long()
    spec = TrainerSpec(max_epochs=EPOCHS, early_stopping=EarlyStoppingSpec(enabled=False))
    folder = Path(tempfile.mkdtemp())

    def epoch_ms(every) -> float:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 2))
        checkpoint = None if every == "none" else EpochCheckpoint(folder / "state.pt", every)
        start = time.perf_counter()
        fit(model, X[:364], y[:364], X[364:], y[364:], spec, n_classes=2, generator=torch.Generator().manual_seed(1),
            checkpoint=checkpoint)
        return (time.perf_counter() - start) / EPOCHS * 1000

    times = {name: [] for name in KINDS}
    for _ in range(7):
        for name, every in KINDS.items():
            times[name].append(epoch_ms(every))
    base = statistics.median(times["no epoch state"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:30s} {median:7.3f} ms/epoch  x{median / base:.2f}")


if __name__ == "__main__":
    main()
