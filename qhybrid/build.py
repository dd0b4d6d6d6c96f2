"""The only place that turns validated config into objects."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from qhybrid.data.preprocess import FoldPreprocessor
from qhybrid.models.hybrid import HybridNet, build_hybrid_net
from qhybrid.schema import ModelSpec, TrainerSpec


def build_model(spec: ModelSpec, n_features: int, n_classes: int) -> HybridNet:
    return build_hybrid_net(
        n_features,
        n_classes,
        hidden_dim=spec.hidden_dim,
        activation_threshold=spec.activation_threshold,
        dropout=spec.dropout,
        init=spec.init,
    )


def build_preprocessor(data_spec) -> FoldPreprocessor:
    return FoldPreprocessor(data_spec.scaler, impute=getattr(data_spec, "nan_policy", "error") == "impute")


def build_optimizer(model: nn.Module, spec: TrainerSpec) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, spec: TrainerSpec, mode: str):
    s = spec.scheduler
    if s.name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=s.factor, patience=s.patience, min_lr=s.min_lr
        )
    if s.name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=spec.max_epochs, eta_min=s.min_lr)
    return None


def build_class_weights(spec: TrainerSpec, y_train: np.ndarray, n_classes: int) -> torch.Tensor | None:
    """Class weights from the training rows of the fold only (never the test rows)."""
    from qhybrid.errors import ConfigError

    cw = spec.class_weights
    if cw is None:
        return None
    if cw == "balanced":
        counts = np.bincount(y_train, minlength=n_classes).astype(np.float64)
        weights = len(y_train) / (n_classes * np.maximum(counts, 1.0))
    else:
        if len(cw) != n_classes:
            raise ConfigError(
                f"trainer.class_weights has {len(cw)} entries but the task has {n_classes} classes",
                "give one weight per class, in the order of metrics.json 'classes'",
            )
        weights = np.asarray(cw, dtype=np.float64)
    return torch.as_tensor(weights, dtype=torch.float32)
