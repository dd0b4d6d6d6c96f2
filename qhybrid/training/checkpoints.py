"""One self-describing checkpoint per fold: weights as a state_dict plus everything needed
to rebuild the model and apply it to new rows. Only tensors, numbers, strings, lists and
dicts are stored, so it loads with ``torch.load(weights_only=True)`` (no code runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from qhybrid import __version__
from qhybrid.data.preprocess import FoldPreprocessor
from qhybrid.errors import QHybridError, first_line
from qhybrid.io import save_torch

FORMAT_VERSION = 1
# state_dict: the model's tensors by name (quantization "none"), or for "int8" the packed
# plain components of qhybrid.training.quantize (weights_only-safe either way)


def save_checkpoint(
    path: Path,
    *,
    state_dict: dict[str, torch.Tensor],
    model_spec: dict[str, Any],
    preprocessor: FoldPreprocessor,
    classes: list[str],
    feature_names: list[str],
    config: dict[str, Any],
    fold: int,
    best_epoch: int,
    quantization: str = "none",
    decision_threshold: float | None = None,
) -> Path:
    payload = {
        "format_version": FORMAT_VERSION,
        "quantization": quantization,
        "qhybrid_version": __version__,
        "fold": fold,
        "best_epoch": best_epoch,
        "model_spec": model_spec,
        "n_features": len(feature_names),
        "n_model_inputs": preprocessor.pca or len(feature_names),
        "state_dict": state_dict,
        "preprocessing": preprocessor.state_dict(),
        "classes": list(classes),
        "feature_names": list(feature_names),
        "config": config,
    }
    if decision_threshold is not None:  # binary runs with decision.threshold=target_sensitivity
        payload["decision_threshold"] = float(decision_threshold)
    return save_torch(path, payload)


def load_weights_only(path: Path, what: str, fix: str) -> Any:
    """torch.load with weights_only=True (no code runs); a truncated or foreign file is one line."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for truncated or foreign files
        raise QHybridError(f"{path} is not a readable {what} ({first_line(err, 200)})", fix) from None


def load_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise QHybridError(f"checkpoint not found: {path}", "point at a checkpoints/fold_<k>.pt file of a run folder")
    payload = load_weights_only(path, "qhybrid checkpoint", "re-run training to write it again")
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        found = payload.get("format_version") if isinstance(payload, dict) else type(payload).__name__
        raise QHybridError(f"{path} has checkpoint format {found!r}; this qhybrid reads format {FORMAT_VERSION}",
                           "use the qhybrid version that wrote it, or re-run training")
    return payload
