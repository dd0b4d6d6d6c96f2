"""qhybrid's AdamW (qhybrid.training.adamw: torch's fused kernel on lists kept between steps)
gives bitwise torch's fused AdamW, through what changes those lists."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from qhybrid.training import adamw


def _parameters(seed: int) -> list[torch.nn.Parameter]:
    generator = torch.Generator().manual_seed(seed)
    shapes = [((4, 3), torch.float32), ((3,), torch.float64), ((2, 2), torch.float32), ((5,), torch.float64)]
    return [torch.nn.Parameter(torch.randn(shape, generator=generator, dtype=dtype)) for shape, dtype in shapes]


def test_steps_are_bitwise_torchs_fused_adamw(monkeypatch):
    try:
        torch.optim.AdamW(_parameters(0), fused=True)
    except RuntimeError:
        pytest.skip("this torch has no fused AdamW on the CPU (qhybrid uses foreach there)")
    torch_steps = []
    original = torch.optim.AdamW.step
    monkeypatch.setattr(torch.optim.AdamW, "step", lambda self, closure=None: torch_steps.append(1) or original(self, closure))
    ours_params, theirs_params = _parameters(1), _parameters(1)
    ours = adamw.AdamW(ours_params, lr=0.05, weight_decay=0.01)
    theirs = torch.optim.AdamW(theirs_params, lr=0.05, weight_decay=0.01, fused=True)
    generator = torch.Generator().manual_seed(2)
    for step in range(16):
        grads = [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in ours_params]
        for i, (mine, other) in enumerate(zip(ours_params, theirs_params)):
            present = not (i == 2 and 4 <= step < 8)  # a parameter without a gradient for a while
            mine.grad, other.grad = (grads[i].clone(), grads[i].clone()) if present else (None, None)
        if step == 10:  # as a scheduler does
            for optimizer in (ours, theirs):
                optimizer.param_groups[0]["lr"] = 0.02
        if step == 12:  # as resuming does
            ours.load_state_dict(copy.deepcopy(theirs.state_dict()))  # as from a file: not shared
        if step == 14:  # an early-stopping snapshot or a checkpoint copies the optimizer
            ours = copy.deepcopy(ours)
            ours_params = [p for group in ours.param_groups for p in group["params"]]
            theirs = copy.deepcopy(theirs)
            theirs_params = [p for group in theirs.param_groups for p in group["params"]]
        ours.step()
        original(theirs)
    for mine, other in zip(ours_params, theirs_params):
        assert torch.equal(mine, other) and mine.dtype == other.dtype
    for mine, other in zip(ours.state_dict()["state"].values(), theirs.state_dict()["state"].values()):
        assert all(torch.equal(mine[key], other[key]) for key in ("step", "exp_avg", "exp_avg_sq"))
    # torch's own step ran only where the kept lists could not: the first step, a gradient
    # lost and regained, a state dict loaded -- the other steps took the kept lists
    assert len(torch_steps) < 8


def test_step_hooks_still_run():
    """A hook registered for every optimizer, or for this one, sees every step."""
    params = _parameters(3)
    optimizer = adamw.AdamW(params, lr=0.01)
    seen = []
    handles = [register_optimizer_step_post_hook(lambda opt, args, kwargs: seen.append("all")),
               optimizer.register_step_post_hook(lambda opt, args, kwargs: seen.append("this"))]
    try:
        for _ in range(3):
            for p in params:
                p.grad = torch.ones_like(p)
            optimizer.step()
    finally:
        for handle in handles:
            handle.remove()
    assert seen.count("all") == 3 and seen.count("this") == 3
