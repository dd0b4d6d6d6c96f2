"""The training losses (trainer.loss), built from the trainer spec: cross-entropy on class
logits (with class weights when the run asks for them), MSE or Huber on a regression model's
single output. A regression target is standardised per fold (qhybrid.data.target.TargetScaler),
so the loss is measured in standard deviations of the target and huber_delta is one too."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


def cross_entropy(spec, class_weights: Optional[torch.Tensor]) -> nn.Module:
    return nn.CrossEntropyLoss(weight=class_weights)


def mse(spec, class_weights: Optional[torch.Tensor]) -> nn.Module:
    return nn.MSELoss()


def huber(spec, class_weights: Optional[torch.Tensor]) -> nn.Module:
    return nn.HuberLoss(delta=spec.huber_delta)
