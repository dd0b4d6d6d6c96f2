"""The parts of a training step besides the model, in as few operations as torch allows.

For the small models qhybrid trains (tens to thousands of parameters), torch's generic
helpers cost as much as the model: ``Module.train`` walks the module tree on every call,
``clip_grad_norm_`` groups the gradients by device and dtype and builds several temporary
tensors, ``Optimizer.zero_grad`` runs its hooks. These do the same work for a fixed model
(measured: docs/benchmarks.md, "Per-sample steps in compact, the training loop, the quick
exit").
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ModeSwitch:
    """``model.train(mode)`` for a model whose modules do not change: the modules are listed
    once, and a mode is set by assignment. A model with a module that overrides ``train``
    (whose switch may do more than set the flag) gets the ordinary recursive call."""

    def __init__(self, model: nn.Module):
        self.model = model
        modules = list(model.modules())
        self.modules = modules if all(type(m).train is nn.Module.train for m in modules) else None

    def set(self, mode: bool) -> None:
        if self.modules is None:
            self.model.train(mode)
            return
        for module in self.modules:
            # what Module.train assigns, without Module.__setattr__'s checks for parameters and modules
            object.__setattr__(module, "training", mode)


def trained_parameters(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


def zero_gradients(params: list[torch.Tensor]) -> None:
    """``optimizer.zero_grad(set_to_none=True)``: a parameter without a gradient is skipped
    by the optimizer, as before."""
    for p in params:
        p.grad = None


def clip_gradients(params: list[torch.Tensor], max_norm: float) -> None:
    """``nn.utils.clip_grad_norm_(params, max_norm)``: when the 2-norm over all gradients
    exceeds ``max_norm`` every gradient is scaled by max_norm / (norm + 1e-6); a NaN norm
    makes them NaN, an infinite one zero (as torch does). On the CPU the total is summed
    in Python from one fused per-tensor norm (any mix of dtypes); elsewhere torch's own,
    which keeps the norm on the device instead of waiting for it."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    if grads[0].device.type != "cpu":
        nn.utils.clip_grad_norm_(params, max_norm)
        return
    total = math.sqrt(sum(float(norm) ** 2 for norm in torch._foreach_norm(grads)))
    if not total <= max_norm:
        torch._foreach_mul_(grads, max_norm / (total + 1e-6))
