"""The torch device a run trains on: trainer.device=auto picks a CUDA GPU when torch sees one."""

from __future__ import annotations

import torch

from qhybrid.errors import ConfigError


def resolve_device(name: str) -> str:
    """auto -> cuda or cpu; a CUDA device torch cannot see is one line."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"trainer.device={name} but no CUDA GPU is visible to torch",
                              "use trainer.device=auto or cpu, or install a CUDA build of torch")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"trainer.device={name} but only {torch.cuda.device_count()} GPU(s) are visible",
                              "pick an existing GPU index")
    return name
