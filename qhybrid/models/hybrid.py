"""HybridNet: classical encoder -> (optional quantum layer) -> classical head.

A classical generation (g0) has no quantum layer: the encoder's sparse hidden
activations feed the head directly. A hybrid generation's encoder ends in the angles
the quantum layer reads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


class Scale(nn.Module):
    """Multiply by a constant: tanh outputs in (-1, 1) become rotation angles."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = float(factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:.4g}"


def build_hybrid_net(
    n_features: int,
    n_outputs: int,
    *,
    hidden_dims: Sequence[int] = (16,),
    activation_threshold: float = 0.1,
    dropout: float = 0.0,
    init: str = "kaiming",
    quantum: Optional[nn.Module] = None,
    angle_scale: float = math.pi,
) -> HybridNet:
    """Classical hidden blocks [Linear -> Tanh -> HardThreshold -> Dropout] ..., then

    * without ``quantum`` (g0): Linear(-> n_outputs) on the last hidden layer;
    * with ``quantum``: Linear(-> quantum.n_inputs) -> Tanh -> Dropout -> x angle_scale ->
      quantum layer -> Linear(quantum.n_outputs -> n_outputs).

    The head outputs one logit per class (n_outputs = the classes), or a regression's single
    value (n_outputs = 1, in the standardised target's units).
    """
    if n_features < 1 or n_outputs < 1:
        raise ValueError(f"need n_features >= 1 and n_outputs >= 1, got {n_features} and {n_outputs}")
    blocks: list[nn.Module] = []
    width = n_features
    for hidden in hidden_dims:
        layer = nn.Linear(width, hidden)
        init_linear(layer, init, nonlinearity="tanh")
        blocks += [layer, nn.Tanh(), HardThreshold(activation_threshold), nn.Dropout(dropout)]
        width = hidden
    if quantum is not None:
        project = nn.Linear(width, quantum.n_inputs)
        init_linear(project, init, nonlinearity="tanh")
        blocks += [project, nn.Tanh(), nn.Dropout(dropout), Scale(angle_scale)]
        width = quantum.n_outputs
    head = nn.Linear(width, n_outputs)
    init_linear(head, init, nonlinearity="linear")
    return HybridNet(encoder=nn.Sequential(*blocks), head=head, quantum=quantum)
