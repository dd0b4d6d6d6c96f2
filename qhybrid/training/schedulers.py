"""Learning-rate schedules (trainer.scheduler.name), registered in
qhybrid.training.spec.SCHEDULERS: builder(optimizer, trainer spec, mode) -> a torch scheduler,
or None for a constant rate. ``mode`` is the early-stopping direction of the monitored value."""

from __future__ import annotations

import torch


def plateau(optimizer: torch.optim.Optimizer, spec, mode: str):
    s = spec.scheduler
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=mode, factor=s.factor, patience=s.patience,
                                                      min_lr=s.min_lr)


def cosine(optimizer: torch.optim.Optimizer, spec, mode: str):
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=spec.max_epochs, eta_min=spec.scheduler.min_lr)


def constant(optimizer: torch.optim.Optimizer, spec, mode: str):
    return None
