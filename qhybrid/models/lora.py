"""Low-rank adapters (LoRA, Hu et al. 2021) for the classical layers and the circuit.

Classical: a Linear layer W becomes W + (alpha / rank) B A with A (rank, in) and B (out,
rank); B starts at zero, so an adapted model starts exactly where its base was.
Checkpoints store the plain architecture with every adapter folded into its base weights
(``plain_state_dict``); ``merge_lora`` does the same to a model in place.

Quantum: the ansatz weights (layers, qubits, 3) become a base plus a rank-r delta factored
over layers x (qubits * 3): W + (alpha / rank) U V with U (layers, rank), zero at start,
and V (rank, qubits * 3). A trained circuit is then adapted by (layers + 3 * qubits) * rank
numbers instead of layers * qubits * 3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

ADAPTER_PREFIX = "lora_"


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        self.base = base
        self.rank, self.scale = rank, alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features, dtype=base.weight.dtype))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank, dtype=base.weight.dtype))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))  # as nn.Linear initialises its weight
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dropout.p == 0.0:
            # W + scale B A first (one small matrix), then one product with the batch: the same
            # sum, in three operations instead of six (most of a small layer's cost is per operation)
            weight = torch.addmm(self.base.weight, self.lora_b, self.lora_a, alpha=self.scale)
            return nn.functional.linear(x, weight, self.base.bias)
        return self.base(x) + (self.dropout(x) @ self.lora_a.T @ self.lora_b.T) * self.scale

    def merged(self) -> nn.Linear:
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                        dtype=self.base.weight.dtype, device=self.base.weight.device)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.scale * self.lora_b @ self.lora_a)
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out

    def extra_repr(self) -> str:
        return f"rank={self.rank}, scale={self.scale:.4g}"


def _matches(name: str, targets: Sequence[str]) -> bool:
    return any(t == "all" or name == t or name.startswith(t + ".") for t in targets)


def apply_lora(model: nn.Module, targets: Sequence[str], rank: int, alpha: float, dropout: float = 0.0) -> list[str]:
    """Wrap every nn.Linear whose qualified name is, or lies under, one of ``targets``
    ("all" for every Linear). Returns the wrapped names; none matching is an error."""
    wrapped = []
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Linear) and _matches(name, targets):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, LoRALinear(module, rank, alpha, dropout))
            wrapped.append(name)
    if not wrapped:
        linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        raise ValueError(f"lora.targets {list(targets)} match no Linear layer; the model has {linears}")
    return wrapped


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every LoRALinear by its merged nn.Linear, in place."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, module.merged())
    return model


def plain_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state_dict of the plain architecture, every adapter folded into its base
    weights: what checkpoints store (export, predict and init_from never see adapters).
    Built from tensors, not by copying the model (a PennyLane device cannot be copied)."""
    linear = {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}
    quantum = {name: m for name, m in model.named_modules() if hasattr(m, "lora_u")}
    state = {}
    with torch.no_grad():
        for key, value in model.state_dict().items():
            owner, _, leaf = key.rpartition(".")
            if leaf.startswith(ADAPTER_PREFIX):
                continue
            parent = owner.removesuffix(".base") if owner.endswith(".base") else ("" if owner == "base" else None)
            if parent is not None and parent in linear:
                key = f"{parent}.{leaf}" if parent else leaf
                if leaf == "weight":
                    value = linear[parent].merged().weight
            elif owner in quantum and leaf == "weights":
                value = quantum[owner].effective_weights()
            state[key] = value.detach().cpu().clone()
    return state


def freeze_base(model: nn.Module, keep: Sequence[str] = ()) -> None:
    """Only adapter parameters (and those under the module names in ``keep``) train."""
    for name, param in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        param.requires_grad_(leaf.startswith(ADAPTER_PREFIX) or _matches(name.rsplit(".", 1)[0], keep))


def parameter_counts(model: nn.Module) -> dict[str, int]:
    params = list(model.parameters())
    return {"total": sum(p.numel() for p in params), "trainable": sum(p.numel() for p in params if p.requires_grad)}
