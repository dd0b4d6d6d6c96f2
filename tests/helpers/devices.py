"""What this machine has. Tests that touch CUDA or lightning.gpu check both ways: the refusal
or fallback where it is absent, the real path where it is present."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@lru_cache(maxsize=None)
def lightning_gpu_starts() -> bool:
    """Whether PennyLane's lightning.gpu device starts here (plugin installed and a usable GPU)."""
    try:
        import pennylane as qml

        qml.device("lightning.gpu", wires=2)
    except Exception:  # noqa: BLE001 - plugin missing, no CUDA, a library that fails to load
        return False
    return True
