"""Seeding: one run seed, and an independent stream per fold.

A fold's randomness (initial weights, validation carve, batch order) depends only on the
run seed and the fold's index, so any fold can be re-run alone with the same result.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = False) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs this for reproducible matmuls on CUDA
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def fold_seed(seed: int, fold: int) -> int:
    return int(np.random.SeedSequence([seed, fold]).generate_state(1, dtype=np.uint32)[0])


def fold_generator(seed: int, fold: int) -> torch.Generator:
    """Seed the global torch RNG (weight init, dropout) and return a generator for batch order."""
    s = fold_seed(seed, fold)
    torch.manual_seed(s)
    return torch.Generator().manual_seed(s)
