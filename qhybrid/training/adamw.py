"""torch's fused AdamW on the CPU, its per-step bookkeeping done once instead of every step.

``Optimizer.step`` rebuilds its lists of parameters, gradients and state on each call and
regroups the tensors by dtype: for the small models qhybrid trains that was ~60 us of a
~125 us step here (`python scripts/fit_replay.py`; docs/benchmarks.md). This class keeps
torch's state (so state dicts, schedulers and resuming are unchanged) and calls the kernel
torch's fused path calls, ``torch._fused_adamw_``, on lists it keeps between steps; the
result is bitwise torch's (tests/test_adamw.py). torch wraps this class's step in its step
hooks as it does every optimizer's. Anything the kept lists do not cover -- a parameter
gaining or losing its gradient, a state dict loaded, a closure, a gradient scaler, AMSGrad,
a tensor learning rate, complex parameters -- takes torch's own step, which also rebuilds
the lists.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch.optim import optimizer as torch_optimizer

# the kernel torch's fused AdamW calls; without it (torch < 2.4 on the CPU) every step is torch's
FUSED_KERNEL = getattr(torch, "_fused_adamw_", None)


def _hooked(step) -> bool:
    """Whether torch has wrapped this step function in its hooks (Optimizer._patch_step_function)."""
    return bool(getattr(step, "hooked", False)) and hasattr(step, "__wrapped__")


def _global_hooks() -> bool:
    """Step hooks registered for every optimizer (torch keeps them in private dicts: read
    defensively, a torch without them has none)."""
    return bool(getattr(torch_optimizer, "_global_optimizer_pre_hooks", None)
                or getattr(torch_optimizer, "_global_optimizer_post_hooks", None))


class AdamW(torch.optim.AdamW):
    # per (group, dtype): params, exp_avgs, exp_avg_sqs, steps, group. A class default: a copied
    # or unpickled optimizer has only torch's state (Optimizer.__getstate__) and rebuilds them
    _kept: Optional[list[tuple]] = None

    def __init__(self, params, **options):
        super().__init__(params, fused=True, **options)

    def load_state_dict(self, state_dict: dict) -> None:
        self._kept = None
        super().load_state_dict(state_dict)

    def add_param_group(self, param_group: dict) -> None:
        self._kept = None
        super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure=None):
        if closure is not None or not self._lists_hold():
            loss = self._torch_step(closure)
            self._kept = self._keep()
            return loss
        for params, exp_avgs, exp_avg_sqs, steps, group in self._kept:
            beta1, beta2 = group["betas"]
            torch._foreach_add_(steps, 1)
            FUSED_KERNEL(params, [p.grad for p in params], exp_avgs, exp_avg_sqs, [], steps, lr=group["lr"],
                         beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                         amsgrad=False, maximize=group["maximize"])
        return None

    def _torch_step(self, closure):
        """torch's AdamW step. torch wraps every optimizer class's step in its step hooks, this
        one's too: then the hooks have run, and torch's step is called without its wrapper."""
        step = torch.optim.AdamW.step
        if _hooked(type(self).step) and _hooked(step):
            step = step.__wrapped__
        return step(self, closure)

    def _lists_hold(self) -> bool:
        """Whether the kept lists are this step's: the same parameters with gradients, and
        nothing that torch's step would do differently."""
        hooks = self._optimizer_step_pre_hooks or self._optimizer_step_post_hooks or _global_hooks()
        if self._kept is None or FUSED_KERNEL is None or (hooks and not _hooked(type(self).step)) or \
                getattr(self, "grad_scale", None) is not None or getattr(self, "found_inf", None) is not None:
            return False
        kept = {id(p) for params, *_ in self._kept for p in params}
        with_grad = {id(p) for group in self.param_groups for p in group["params"] if p.grad is not None}
        return kept == with_grad and all(not group["amsgrad"] and not isinstance(group["lr"], torch.Tensor)
                                         for group in self.param_groups)

    def _keep(self) -> Optional[list[tuple]]:
        """The lists torch's step just used, grouped as its fused path groups them (None with
        complex parameters, which torch's step views as real pairs first)."""
        kept: dict = {}
        for index, group in enumerate(self.param_groups):
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.is_complex():
                    return None
                state = self.state[p]
                lists = kept.setdefault((index, p.dtype), ([], [], [], [], group))
                for target, value in zip(lists, (p, state["exp_avg"], state["exp_avg_sq"], state["step"])):
                    target.append(value)
        return list(kept.values())
