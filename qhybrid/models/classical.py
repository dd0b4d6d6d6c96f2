"""Classical building blocks."""

from __future__ import annotations

import torch
from torch import nn


class HardThreshold(nn.Module):
    """Activation sparsity: activations with ``|a| < threshold`` become exactly 0.

    The gradient of a zeroed activation is 0 as well, so pruned units do not learn from
    samples they were silenced for.
    """

    def __init__(self, threshold: float = 0.1):
        super().__init__()
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        self.threshold = float(threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.masked_fill(x.abs() < self.threshold, 0.0)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}"


def init_linear(layer: nn.Linear, scheme: str, nonlinearity: str = "tanh") -> None:
    """Initialise a Linear layer's weight; biases start at zero except for 'torch'."""
    if scheme == "torch":
        return
    if scheme == "kaiming":
        nn.init.kaiming_uniform_(layer.weight, nonlinearity=nonlinearity)
    elif scheme == "xavier":
        nn.init.xavier_uniform_(layer.weight, gain=nn.init.calculate_gain(nonlinearity))
    else:
        raise ValueError(f"unknown init scheme {scheme!r}; expected kaiming, xavier or torch")
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
