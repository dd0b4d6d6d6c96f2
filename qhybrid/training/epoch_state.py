"""A fold's training state at the end of an epoch, so an interrupted fold continues from
its last epoch instead of from scratch.

The state is everything the next epoch depends on: weights, optimizer, scheduler, grad
scaler, early stopping (with its best weights), the history so far, and every random
stream (the batch-order generator, torch's global RNG for dropout and weight noise, the
training GPU's, numpy's, Python's, and a sampling quantum device's shot RNG). Continuing
from it gives, bit for bit, the epochs an uninterrupted fold would have run.

A snapshot is kept in memory at an epoch's end when SNAPSHOT_SECONDS have passed since the
last one (every epoch when epochs are longer; a small fold's epochs take milliseconds, and
copying its state every epoch was a fifth of its training time) and written atomically when
``every_seconds`` have passed since the last write, and always when the fold is interrupted
(Ctrl-C, SIGTERM): a pre-empted job loses at most its current epoch, or that second.
Only tensors, numbers, strings, lists, tuples and dicts are stored: it loads with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from qhybrid import io
from qhybrid.errors import QHybridError
from qhybrid.training.checkpoints import load_weights_only

FORMAT = "qhybrid-epoch-state-1"
SNAPSHOT_SECONDS = 1.0


def _clone(value: Any) -> Any:
    """A copy of a state_dict's tensors (state_dict() returns the live tensors, which the
    next optimizer step changes in place); cheaper than copy.deepcopy, which matters when
    an epoch takes milliseconds."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clone(v) for v in value)
    return value


def _numpy_rng() -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "gauss": float(gauss)}


def _set_numpy_rng(state: dict[str, Any]) -> None:
    np.random.set_state((state["kind"], state["keys"].numpy().astype(np.uint32), state["pos"], state["has_gauss"],
                         state["gauss"]))


def _cuda_device(model) -> Optional[torch.device]:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None and parameter.device.type == "cuda" else None


def _sampler_rng(device) -> Optional[np.random.Generator]:
    # PennyLane's default.qubit draws its shots from device._rng (no public accessor), and
    # replaces that Generator in some paths: read it afresh each time
    rng = getattr(device, "_rng", None)
    return rng if isinstance(rng, np.random.Generator) else None


def _set_sampler_rng(device, state: dict[str, Any]) -> None:
    rng = np.random.Generator(getattr(np.random, state["bit_generator"])())
    rng.bit_generator.state = state
    device._rng = rng


def capture(epoch: int, model, optimizer, scheduler, scaler, stopper, generator: torch.Generator,
            history: list[dict[str, float]], seconds: float, stopped: bool) -> dict[str, Any]:
    cuda = _cuda_device(model)
    return {
        "format": FORMAT,
        "epoch": epoch,
        "stopped": stopped,
        "seconds": seconds,
        "model": _clone(model.state_dict()),
        "optimizer": _clone(optimizer.state_dict()),
        "scheduler": _clone(scheduler.state_dict()) if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        # best_state is replaced, never changed in place: no copy needed
        "stopper": {k: getattr(stopper, k) for k in ("best_score", "best_tiebreak", "best_epoch", "best_state",
                                                     "bad_epochs")},
        "history": list(history),  # an epoch's logs are not changed after the epoch
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        # the training GPU's only: a job requeued on a node with fewer GPUs still resumes
        "cuda_rng": torch.cuda.get_rng_state(cuda) if cuda is not None else None,
        "numpy_rng": _numpy_rng(),
        "python_rng": random.getstate(),
    }


def restore(state: dict[str, Any], model, optimizer, scheduler, scaler, stopper, generator: torch.Generator) -> None:
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state["scaler"] is not None:
        scaler.load_state_dict(state["scaler"])
    for key, value in state["stopper"].items():
        setattr(stopper, key, value)
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    cuda = _cuda_device(model)
    if state["cuda_rng"] is not None and cuda is not None:
        torch.cuda.set_rng_state(state["cuda_rng"], cuda)
    _set_numpy_rng(state["numpy_rng"])
    random.setstate(state["python_rng"])


class EpochCheckpoint:
    """The last-epoch state of one fold: ``resume_state`` (read from ``path`` when the
    fold is continued) for fit to start from, and the snapshots fit hands back."""

    def __init__(self, path: Path, every_seconds: Optional[float], resume: bool = False, samplers: tuple = ()):
        self.path, self.every_seconds = Path(path), every_seconds
        self.samplers = [d for d in samplers if _sampler_rng(d) is not None]  # quantum devices drawing shots
        self.resume_state = self._read() if resume else None
        self._snapshot: Optional[dict[str, Any]] = None
        self._written = True
        self._last_write = time.monotonic()
        self._last_snapshot = -math.inf

    def _read(self) -> Optional[dict[str, Any]]:
        if not self.path.is_file():
            return None

        state = load_weights_only(self.path, "epoch checkpoint", "delete it to train this fold from its first epoch")
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise QHybridError(f"{self.path} was written by another qhybrid version",
                               "delete it to train this fold from its first epoch")
        return state

    def restore(self, model, optimizer, scheduler, scaler, stopper, generator: torch.Generator) -> None:
        """Bring the fold back to the state it was read from (``resume_state``)."""
        restore(self.resume_state, model, optimizer, scheduler, scaler, stopper, generator)
        for device, sampler in zip(self.samplers, self.resume_state.get("samplers", [])):
            _set_sampler_rng(device, sampler)

    def snapshot_due(self) -> bool:
        """Whether this epoch's end should be captured: when a write is due, else at most once
        per SNAPSHOT_SECONDS (a copy of the model and optimizer per epoch is most of a small
        fold's time): an interrupted fold then resumes from a state at most that old, and
        replays the epochs since exactly (the random generators are part of the state)."""
        now = time.monotonic()
        return now - self._last_snapshot >= SNAPSHOT_SECONDS or (
            self.every_seconds is not None and now - self._last_write >= self.every_seconds)

    def keep(self, state: dict[str, Any]) -> None:
        """The state at the end of an epoch: written when it is due."""
        state["samplers"] = [_sampler_rng(d).bit_generator.state for d in self.samplers]
        self._snapshot, self._written, self._last_snapshot = state, False, time.monotonic()
        if self.every_seconds is not None and time.monotonic() - self._last_write >= self.every_seconds:
            self.flush()

    def flush(self) -> None:
        """Write the latest snapshot (the fold is being interrupted, or a write is due)."""
        if self._snapshot is not None and not self._written:
            io.save_torch(self.path, self._snapshot)
            self._written, self._last_write = True, time.monotonic()

    def discard(self) -> None:
        """The fold is finished and recorded: its epoch state is no longer needed."""
        self.path.unlink(missing_ok=True)
