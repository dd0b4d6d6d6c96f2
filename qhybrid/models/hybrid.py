"""HybridNet: classical encoder -> (optional quantum layer) -> classical head.

A classical generation (g0) has no quantum layer: the encoder's sparse hidden
activations feed the head directly.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from qhybrid.models.classical import HardThreshold, init_linear


class HybridNet(nn.Module):
    def __init__(self, encoder: nn.Module, head: nn.Module, quantum: Optional[nn.Module] = None):
        super().__init__()
        self.encoder = encoder
        self.quantum = quantum
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        if self.quantum is not None:
            h = self.quantum(h)
        return self.head(h)


def build_hybrid_net(
    n_features: int,
    n_classes: int,
    *,
    hidden_dim: int = 16,
    activation_threshold: float = 0.1,
    dropout: float = 0.0,
    init: str = "kaiming",
) -> HybridNet:
    """Linear(n_features -> hidden_dim) -> Tanh -> HardThreshold -> Dropout -> Linear(-> n_classes).

    This is g0, the classical baseline; the head outputs logits (one per class).
    """
    if n_features < 1 or n_classes < 2:
        raise ValueError(f"need n_features >= 1 and n_classes >= 2, got {n_features} and {n_classes}")
    first = nn.Linear(n_features, hidden_dim)
    head = nn.Linear(hidden_dim, n_classes)
    init_linear(first, init, nonlinearity="tanh")
    init_linear(head, init, nonlinearity="linear")
    encoder = nn.Sequential(first, nn.Tanh(), HardThreshold(activation_threshold), nn.Dropout(dropout))
    return HybridNet(encoder=encoder, head=head)
