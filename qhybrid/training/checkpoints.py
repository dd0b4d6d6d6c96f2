"""One self-describing checkpoint per fold: weights as a state_dict plus everything needed
to rebuild the model and apply it to new rows. Only tensors, numbers, strings, lists and
dicts are stored, so it loads with ``torch.load(weights_only=True)`` (no code runs)."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import torch

from qhybrid import __version__, digest
from qhybrid.data.preprocess import FoldPreprocessor
from qhybrid.errors import QHybridError
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
    data_files: dict[str, str] | None = None,
    task: str | None = None,
    target_scaling: dict[str, float] | None = None,
) -> Path:
    """``data_files``: the absolute paths of the data files the run read, by config key
    ({"data.path": "/abs/train.csv", ...}), so ``qhybrid predict input=fold_<k>`` finds them
    from any folder. ``task``: binary, multiclass or regression; a regression checkpoint has no
    classes, one output, and ``target_scaling`` (the fold's TargetScaler) turns that output into
    the target's units."""
    payload = {
        "format_version": FORMAT_VERSION,
        "quantization": quantization,
        "qhybrid_version": __version__,
        "fold": fold,
        "best_epoch": best_epoch,
        "model_spec": model_spec,
        "n_features": len(feature_names),
        "n_model_inputs": preprocessor.n_outputs(len(feature_names)),
        "state_dict": state_dict,
        "preprocessing": preprocessor.state_dict(),
        "classes": list(classes),
        "feature_names": list(feature_names),
        "config": config,
    }
    if decision_threshold is not None:  # binary runs with decision.threshold=target_sensitivity
        payload["decision_threshold"] = float(decision_threshold)
    if data_files is not None:
        payload["data_files"] = {str(k): str(v) for k, v in data_files.items()}
    if task is not None:
        payload["task"] = task
    if target_scaling is not None:
        payload["target_scaling"] = {str(k): float(v) for k, v in target_scaling.items()}
    payload = digest.sign(payload)
    return save_torch(path, payload)


def load_weights_only(path: Path, what: str, fix: str) -> Any:
    """torch.load with weights_only=True (no code runs). A file that holds Python objects, a
    truncated or foreign file is one line in qhybrid's words: torch's own text would suggest
    loading with its safety off, which is exactly what would run an attacker's code."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols before refusing
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights only load failed" in str(err).lower():
            raise QHybridError(f"{path} was refused: it holds Python objects besides plain tensors, numbers and "
                               "strings, and loading those could run code (qhybrid loads only plain tensors)",
                               f"use one written by qhybrid train, or {fix}") from None
        raise _unreadable(path, what, fix) from None
    except IsADirectoryError:
        raise QHybridError(f"{path} is a folder, not a {what}", f"point at the .pt file, or {fix}") from None
    except (PermissionError, FileNotFoundError) as err:  # torch reports a cut-off zip as EINVAL: not this
        raise QHybridError(f"{path} cannot be read ({err.strerror or type(err).__name__})",
                           "check the file's permissions") from None
    except Exception:  # torch raises several types (RuntimeError, EOFError, KeyError...) for broken files
        raise _unreadable(path, what, fix) from None


def _unreadable(path: Path, what: str, fix: str) -> QHybridError:
    size = path.stat().st_size if path.is_file() else 0
    return QHybridError(f"{path} is not a readable {what} ({size} bytes: truncated, or not a file written by "
                        "torch.save)", fix)


# what a qhybrid checkpoint must hold to be rebuilt and applied, and of which type
REQUIRED = {"state_dict": dict, "model_spec": dict, "preprocessing": dict, "classes": list, "feature_names": list,
            "config": dict, "n_features": int}


def load_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise QHybridError(f"checkpoint not found: {path}", "point at a checkpoints/fold_<k>.pt file of a run folder")
    payload = load_weights_only(path, "qhybrid checkpoint", "re-run training to write it again")
    if isinstance(payload, dict) and "format_version" not in payload:
        raise QHybridError(f"{path} is not a qhybrid checkpoint (it has no format_version: another tool wrote it)",
                           "point at a run folder written by qhybrid train, or its checkpoints/fold_<k>.pt")
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        found = payload.get("format_version") if isinstance(payload, dict) else type(payload).__name__
        raise QHybridError(f"{path} has checkpoint format {found!r}; this qhybrid reads format {FORMAT_VERSION}",
                           "use the qhybrid version that wrote it, or re-run training")
    if not digest.intact(payload):
        raise QHybridError(f"{path} was changed after qhybrid wrote it (its content no longer matches its digest)",
                           "restore the file, or re-run training to write it again")
    missing = [key for key, kind in REQUIRED.items() if not isinstance(payload.get(key), kind)]
    if missing:
        raise QHybridError(f"{path} is not a complete qhybrid checkpoint ({', '.join(missing)}: missing or of "
                           "another type)", "re-run training to write it again")
    return payload
