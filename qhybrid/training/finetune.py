"""`init_from`: start a run from a trained model (fine-tuning, e.g. one ticker's model
adapted to another). Checkpoints hold the plain architecture (adapters merged), so the
new run builds its model, loads these weights, then adds its own adapters.

Shapes are checked tensor by tensor: the output layer may differ (another number of
classes) and is re-initialised with one logged line; any other difference stops the run
with one line naming the tensor.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from torch import nn

from qhybrid.errors import QHybridError
from qhybrid.training.checkpoints import load_checkpoint

log = logging.getLogger("qhybrid")


def best_fold(run: Path) -> int:
    """The fold whose early-stopping score on its own validation split was best (no test
    data decides); fold 0 when the run recorded none."""
    try:
        metrics = json.loads((run / "metrics.json").read_text())
    except (OSError, ValueError):
        metrics = None
    if not isinstance(metrics, dict):
        raise QHybridError(f"{run} has no readable metrics.json, which names the run's best fold",
                           "point at a finished run folder, or name a fold yourself (qhybrid predict: "
                           "checkpoint=fold_<k>; init_from: <run>/checkpoints/fold_<k>.pt)")
    folds = [f for f in metrics.get("folds") or [] if isinstance(f, dict) and isinstance(f.get("fold"), int)
             and isinstance(f.get("best_val_score"), (int, float)) and math.isfinite(f["best_val_score"])]
    if not folds:
        return 0
    mode = metrics.get("early_stopping_mode", "min")
    pick = min if mode == "min" else max
    return int(pick(folds, key=lambda f: f["best_val_score"])["fold"])


def resolve_checkpoint(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        fold = best_fold(path)
        path = path / "checkpoints" / f"fold_{fold}.pt"
    return path


def load_initial(source: str | Path) -> dict:
    """The checkpoint ``init_from`` names (a run folder: its best fold), read once."""
    try:
        path = resolve_checkpoint(source)
        payload = load_checkpoint(path)
    except QHybridError as err:
        raise QHybridError(f"init_from={source}: {err.problem}",
                           "give a run folder written by qhybrid train, or one of its checkpoints/fold_<k>.pt") from None
    if payload.get("quantization", "none") != "none":
        raise QHybridError(f"init_from {path} is an INT8 checkpoint, whose packed weights cannot be trained further",
                           f"start from the float checkpoint of the same fold ({path.name.replace('_int8', '')})")
    payload["path"] = str(path)
    log.info("init_from: %s (fold %s of its run, model %s)", path, payload.get("fold"),
             payload["model_spec"].get("name"))
    return payload


def apply_initial_weights(model: nn.Module, payload: dict, output_layer: str) -> list[str]:
    """Copy the checkpoint's weights into ``model``; returns the names of the tensors kept
    at their fresh initialisation (those of ``output_layer`` whose shape differs)."""
    path, state, own = payload["path"], payload["state_dict"], model.state_dict()
    missing = sorted(set(own) - set(state))
    if missing:
        raise QHybridError(f"init_from {path}: the model here has {missing[0]} and the checkpoint does not "
                           f"(checkpoint model: {payload['model_spec'].get('name')})",
                           "fine-tune with the same model architecture the checkpoint was trained with")
    fresh = []
    for name, tensor in state.items():
        if name not in own:
            raise QHybridError(f"init_from {path}: the checkpoint has {name} and the model here does not",
                               "fine-tune with the same model architecture the checkpoint was trained with")
        if tensor.shape != own[name].shape:
            if name.startswith(output_layer + "."):
                fresh.append(name)
                continue
            raise QHybridError(f"init_from {path}: {name} has shape {tuple(tensor.shape)} in the checkpoint and "
                               f"{tuple(own[name].shape)} here",
                               "the new data must have the checkpoint's features "
                               f"({payload['n_features']}: {', '.join(payload['feature_names'][:6])}...)")
        own[name] = tensor.to(own[name].dtype)
    model.load_state_dict(own)
    return fresh


def output_layer_name(model: nn.Module) -> str:
    """The qualified name of the last Linear layer (the one that outputs the logits)."""
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    return names[-1]

