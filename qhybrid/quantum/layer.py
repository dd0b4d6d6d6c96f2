"""The quantum layer: a batch (B, n_inputs) in, the circuit's observables (B, width) out."""

from __future__ import annotations

import math

import torch
from torch import nn

from qhybrid.quantum.circuit import SOURCE_GATE, SOURCE_INPUT, SOURCE_WEIGHT, Program
from qhybrid.quantum.observables import output_width
from qhybrid.quantum.programs import program_of

DTYPES = {"float64": torch.float64, "float32": torch.float32}
DIRECT_DTYPES = (torch.float32, torch.float64)  # what an executor's direct path casts itself


class QuantumLayer(nn.Module):
    """Owns the circuit's trainable tensors (ansatz weights, soft-gate alpha/tau) in the
    simulation dtype, builds the angle matrix and hands it to an executor.

    Runs outside autocast, in its own dtype; the output is cast explicitly back to the
    input's dtype.
    """

    def __init__(self, spec, executor_factory, dtype: str = "float64"):
        super().__init__()
        self.spec = spec
        self.program: Program = program_of(spec)
        self.sim_dtype = DTYPES[dtype]
        shape = self.program.weight_shape
        if shape is not None:
            weights = torch.empty(shape, dtype=self.sim_dtype).uniform_(0.0, 2 * math.pi)
            self.weights = nn.Parameter(weights, requires_grad=spec.trainable)
        else:
            self.register_parameter("weights", None)
        if spec.gating == "soft":
            self.alpha = nn.Parameter(torch.tensor(float(spec.soft_alpha), dtype=self.sim_dtype))
            tau = torch.tensor(float(spec.threshold), dtype=self.sim_dtype)
            if spec.soft_tau_trainable:
                self.tau = nn.Parameter(tau)
            else:
                self.register_buffer("tau", tau)
        self.executor = executor_factory(self.program, self.shift_columns())
        # the inputs are the angles as they are: an executor may take them without the angles object
        self._direct = hasattr(self.executor, "direct") and self.program.gating == "none" and \
            self.program.input_map is None and self.program.weight_map is None and self.program.embedding != "amplitude"

    @property
    def n_inputs(self) -> int:
        return self.program.n_inputs

    @property
    def n_outputs(self) -> int:
        return output_width(self.program.observables)

    def shift_columns(self) -> list[int]:
        """Columns of the angle matrix that gradients must flow through."""
        keep = []
        for c, (source, _) in enumerate(self.program.columns):
            if c in self.program.constant_columns:
                continue
            if source == SOURCE_INPUT or (source == SOURCE_GATE and self.spec.gating == "soft") or (
                    source == SOURCE_WEIGHT and self.spec.trainable):
                keep.append(c)
        return keep

    def add_lora(self, rank: int, alpha: float) -> None:
        """Quantum LoRA: the ansatz weights become weights + (alpha / rank) U V, U (layers,
        rank) starting at zero and V (rank, rest), so adapting starts from the trained circuit."""
        if self.weights is None:
            raise ValueError("quantum LoRA needs an ansatz with weights (model.quantum.ansatz is none)")
        layers, rest = self.weights.shape[0], self.weights[0].numel()
        self.lora_u = nn.Parameter(torch.zeros(layers, rank, dtype=self.sim_dtype))
        self.lora_v = nn.Parameter(torch.empty(rank, rest, dtype=self.sim_dtype).normal_(0.0, 1.0 / math.sqrt(rank)))
        self.lora_scale = alpha / rank

    def effective_weights(self):
        if self.weights is None or "lora_u" not in self._parameters:  # hasattr would raise and catch, per step
            return self.weights
        return self.weights + (self.lora_scale * self.lora_u @ self.lora_v).reshape(self.weights.shape)

    def warm_up(self, device: torch.device) -> float:
        """Compiles or loads what the executor will run on ``device`` before training starts;
        the seconds it took (0: nothing to prepare)."""
        warm = getattr(self.executor, "warm_up", None)
        return warm(self.sim_dtype) if warm is not None and device.type == "cpu" else 0.0

    def gate_values(self, x: torch.Tensor):
        if self.spec.gating == "hard":
            return (x.abs() > self.spec.threshold).to(x.dtype)
        if self.spec.gating == "soft":
            return torch.sigmoid(self.alpha * (x.abs() - self.tau))
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"QuantumLayer expects inputs of shape (batch, {self.n_inputs}), got {tuple(x.shape)}")
        out_dtype = x.dtype
        if self._direct and out_dtype in DIRECT_DTYPES and not torch.is_autocast_enabled(x.device.type):
            out = self.executor.direct(x, self.effective_weights(), self.sim_dtype)
            if out is not None:
                return out
        if torch.is_autocast_enabled(x.device.type):
            with torch.autocast(device_type=x.device.type, enabled=False):
                out = self._simulate(x.to(self.sim_dtype))
        else:  # entering autocast's scope costs as much as a small circuit's step
            out = self._simulate(x if x.dtype == self.sim_dtype else x.to(self.sim_dtype))
        return out if out.dtype == out_dtype else out.to(out_dtype)

    def _simulate(self, x: torch.Tensor) -> torch.Tensor:
        angles = self.program.angles(x, self.effective_weights(), self.gate_values(x))
        return self.executor(angles, x if self.program.embedding == "amplitude" else None)
