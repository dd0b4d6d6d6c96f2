"""Mixed precision for the classical layers: which autocast a run uses, and its GradScaler.

The quantum layer switches autocast off for itself and runs in its own dtype
(qhybrid.quantum.layer), so only the Linear layers and their activations change.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Optional

import torch

from qhybrid.errors import ConfigError

log = logging.getLogger("qhybrid")

_DTYPES = {"amp_bf16": torch.bfloat16, "amp_fp16": torch.float16}


@dataclass
class Precision:
    name: str  # the precision actually used (auto resolved)
    device_type: str
    dtype: Optional[torch.dtype]  # None: no autocast

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def grad_scaler(self) -> Optional[torch.amp.GradScaler]:
        """float16 gradients underflow without loss scaling; bfloat16 has float32's range."""
        if self.dtype == torch.float16:
            return torch.amp.GradScaler(self.device_type)
        return None

    def record(self) -> dict:
        return {"name": self.name, "autocast": None if self.dtype is None else str(self.dtype).removeprefix("torch.")}


def resolve_precision(name: str, device: str) -> Precision:
    device_type = torch.device(device).type
    if name == "auto":
        if device_type == "cuda":
            name = "amp_fp16"
        else:
            # measured: bfloat16 autocast makes these small models 1.2-2.3x slower on a CPU, metrics alike
            log.warning("precision=auto: float16 autocast needs CUDA and this run is on %s; training in fp32 "
                        "(bfloat16 autocast is slower on CPUs: docs/benchmarks.md; precision=amp_bf16 forces it)",
                        device)
            name = "fp32"
    if name == "fp32":
        return Precision("fp32", device_type, None)
    if name == "amp_fp16" and device_type != "cuda":
        raise ConfigError(f"precision=amp_fp16 needs a CUDA device, and this run is on {device}",
                          "use precision=amp_bf16 (CPU autocast), precision=fp32, or precision=auto")
    return Precision(name, device_type, _DTYPES[name])
