"""environment.json: what software and hardware a run used."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

import torch

from qhybrid import __version__

_PACKAGES = ("torch", "pennylane", "pennylane-lightning", "pennylane-lightning-gpu", "pennylane-qiskit", "qiskit-aer",
             "numpy", "scikit-learn", "pandas", "hydra-core", "omegaconf")


def package_version(dist: str) -> str | None:
    """An installed distribution's version, without importing it (None if absent)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def describe(device: str, backend: dict[str, Any] | None = None) -> dict[str, Any]:
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return {
        "qhybrid": __version__,
        "python": sys.version.split()[0],
        "packages": {name: package_version(name) for name in _PACKAGES},
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
        "cuda_version": torch.version.cuda,
        "gpus": gpus,
        "device_used": device,
        "quantum_backend": backend,
    }
