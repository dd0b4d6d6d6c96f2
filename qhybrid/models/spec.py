"""The model group's schema: classical layers, and the circuit between them (model.quantum)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from qhybrid.errors import ConfigError
from qhybrid.quantum.spec import QuantumSpec
from qhybrid.spec_checks import choice, fraction, positive


@dataclass
class ModelSpec:
    name: str = "g0"
    # classical hidden layers before the head (classical) or before the quantum layer (hybrid)
    hidden_dims: list[int] = field(default_factory=lambda: [16])
    activation_threshold: float = 0.1
    dropout: float = 0.0
    init: str = "kaiming"
    quantum: Optional[QuantumSpec] = None

    def check(self) -> None:
        for i, width in enumerate(self.hidden_dims):
            positive(f"model.hidden_dims[{i}]", width)
        positive("model.activation_threshold", self.activation_threshold, allow_zero=True)
        fraction("model.dropout", self.dropout, allow_zero=True)
        choice("model.init", self.init, ("kaiming", "xavier", "torch"))
        if self.quantum is not None:
            self.quantum.check()
        elif not self.hidden_dims:
            raise ConfigError("model.hidden_dims is empty and there is no quantum layer",
                              "give a classical model at least one hidden layer, e.g. model.hidden_dims=[16]")


