"""The training groups' schemas: trainer (with early stopping and the scheduler), precision,
lora, quantization and decision."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from qhybrid.errors import ConfigError
from qhybrid.registry import Registry
from qhybrid.spec_checks import choice, fraction, positive
from qhybrid.training.metrics import METRICS, lower_is_better

PRECISIONS = ("fp32", "amp_bf16", "amp_fp16", "auto")


@dataclass
class PrecisionSpec:
    """Autocast of the classical layers; the quantum layer always runs in its own dtype.
    auto: amp_fp16 on CUDA, fp32 on a CPU (with a warning: bfloat16 autocast is slower there)."""

    name: str = "fp32"

    def check(self) -> None:
        choice("precision.name", self.name, PRECISIONS)


@dataclass
class LoRASpec:
    """Low-rank adapters (qhybrid.models.lora)."""

    enabled: bool = False
    rank: int = 4
    alpha: float = 8.0
    dropout: float = 0.0
    targets: list[str] = field(default_factory=lambda: ["all"])  # Linear layers by name; "all": every one
    freeze_base: bool = False  # train only the adapters (and layers init_from re-initialises)
    quantum_rank: int = 0  # > 0: the ansatz weights get a trainable rank-r delta

    def check(self) -> None:
        positive("lora.rank", self.rank)
        positive("lora.alpha", self.alpha)
        fraction("lora.dropout", self.dropout, allow_zero=True)
        positive("lora.quantum_rank", self.quantum_rank, allow_zero=True)
        if not self.targets:
            raise ConfigError("lora.targets is empty", "name Linear layers, e.g. lora.targets=[all] or [head]")
        if self.freeze_base and not self.enabled and self.quantum_rank == 0:
            raise ConfigError("lora.freeze_base=true without adapters would train nothing",
                              "add lora.enabled=true (classical adapters) or lora.quantum_rank=2")


@dataclass
class QuantizationSpec:
    """int8: dynamic INT8 of each fold's best model's Linear layers (torchao), evaluated on
    the fold's test part beside the float model and saved as its own checkpoint."""

    name: str = "none"
    latency_repeats: int = 30  # forward passes timed for the CPU latency (median)

    def check(self) -> None:
        choice("quantization.name", self.name, ("none", "int8"))
        positive("quantization.latency_repeats", self.latency_repeats)



@dataclass
class EarlyStoppingSpec:
    enabled: bool = True
    monitor: str = "val_loss"
    mode: str = "auto"
    patience: int = 20
    min_delta: float = 0.0

    def check(self) -> None:
        allowed = ("val_loss",) + tuple(f"val_{m}" for m in METRICS)
        choice("trainer.early_stopping.monitor", self.monitor, allowed)
        choice("trainer.early_stopping.mode", self.mode, ("auto", "min", "max"))
        positive("trainer.early_stopping.patience", self.patience)
        positive("trainer.early_stopping.min_delta", self.min_delta, allow_zero=True)

    @property
    def resolved_mode(self) -> str:
        if self.mode != "auto":
            return self.mode
        return "min" if lower_is_better(self.monitor) else "max"


SCHEDULERS = Registry("trainer.scheduler", "scheduler")
SCHEDULERS.add("plateau", None, "qhybrid.training.schedulers:plateau",
               "ReduceLROnPlateau on the monitored value: lr x factor after patience epochs without gain")
SCHEDULERS.add("cosine", None, "qhybrid.training.schedulers:cosine", "cosine annealing to min_lr over max_epochs")
SCHEDULERS.add("none", None, "qhybrid.training.schedulers:constant", "a constant learning rate")


# regression: the loss fits a single value per row (the other losses fit class logits)
LOSSES = Registry("trainer.loss", "loss")
LOSSES.add("cross_entropy", None, "qhybrid.training.losses:cross_entropy",
           "classification: cross-entropy of the class logits (class weights when asked for)", regression=False)
LOSSES.add("mse", None, "qhybrid.training.losses:mse", "regression: mean squared error of the standardised target",
           regression=True)
LOSSES.add("huber", None, "qhybrid.training.losses:huber",
           "regression: Huber loss, linear beyond trainer.huber_delta standard deviations (robust to outliers)",
           regression=True)


def resolved_loss(name: str, regression: bool) -> str:
    """trainer.loss with auto resolved: cross-entropy for classes, MSE for a regression target."""
    if name == "auto":
        return "mse" if regression else "cross_entropy"
    return name


@dataclass
class SchedulerSpec:
    name: str = "plateau"
    factor: float = 0.5
    patience: int = 10
    min_lr: float = 1e-5

    def check(self) -> None:
        choice("trainer.scheduler.name", self.name, SCHEDULERS.names())
        fraction("trainer.scheduler.factor", self.factor)
        positive("trainer.scheduler.patience", self.patience, allow_zero=True)
        positive("trainer.scheduler.min_lr", self.min_lr, allow_zero=True)


MAX_THREADS = 1024  # torch's pool takes a C int; far more than any machine's cores is a typo


def env_threads() -> Optional[int]:
    """QHYBRID_THREADS as a count, None when unset; anything else is one line."""
    wanted = os.environ.get("QHYBRID_THREADS")
    if wanted is None:
        return None
    if not wanted.strip().isdigit() or not 1 <= int(wanted) <= MAX_THREADS:
        raise ConfigError(f"QHYBRID_THREADS={wanted!r} is not a count of threads",
                          f"set it to a whole number from 1 to {MAX_THREADS}, or unset it")
    return int(wanted)


@dataclass
class TrainerSpec:
    max_epochs: int = 200
    batch_size: int = 32
    lr: float = 0.01
    weight_decay: float = 1e-4
    loss: str = "auto"  # auto | cross_entropy | mse | huber (LOSSES)
    huber_delta: float = 1.0  # in standard deviations of the target (standardised per fold)
    class_weights: Optional[Any] = None
    grad_clip: Optional[float] = 1.0
    val_fraction: float = 0.2
    early_stopping: EarlyStoppingSpec = field(default_factory=EarlyStoppingSpec)
    scheduler: SchedulerSpec = field(default_factory=SchedulerSpec)
    device: str = "auto"
    deterministic: bool = False
    log_every_n_epochs: int = 10
    epoch_checkpoint_seconds: Optional[float] = 60.0
    threads: Any = "auto"  # auto (qhybrid.threads: one for small steps) | a count of intra-op threads

    def check(self) -> None:
        positive("trainer.max_epochs", self.max_epochs)
        positive("trainer.batch_size", self.batch_size)
        positive("trainer.lr", self.lr)
        positive("trainer.weight_decay", self.weight_decay, allow_zero=True)
        choice("trainer.loss", self.loss, ("auto", *LOSSES.names()))
        positive("trainer.huber_delta", self.huber_delta)
        if self.grad_clip is not None:
            positive("trainer.grad_clip", self.grad_clip)
        fraction("trainer.val_fraction", self.val_fraction, allow_zero=True)
        positive("trainer.log_every_n_epochs", self.log_every_n_epochs)
        if self.threads != "auto" and (not isinstance(self.threads, int) or isinstance(self.threads, bool)
                                       or not 1 <= self.threads <= MAX_THREADS):
            raise ConfigError(f"trainer.threads={self.threads!r} is not auto or a count of threads",
                              f"use trainer.threads=auto (one thread for small circuits) or a whole number from 1 "
                              f"to {MAX_THREADS}")
        env_threads()  # QHYBRID_THREADS, which comes before trainer.threads, is checked with it
        if self.epoch_checkpoint_seconds is not None:
            positive("trainer.epoch_checkpoint_seconds", self.epoch_checkpoint_seconds, allow_zero=True)
        self.early_stopping.check()
        self.scheduler.check()
        if self.val_fraction == 0 and self.early_stopping.enabled:
            raise ConfigError(
                "trainer.val_fraction=0 leaves no validation rows for early stopping",
                "set trainer.val_fraction > 0, or trainer.early_stopping.enabled=false",
            )
        if self.val_fraction == 0 and self.scheduler.name == "plateau":
            raise ConfigError(
                "trainer.scheduler.name=plateau watches validation rows, but trainer.val_fraction=0",
                "set trainer.val_fraction > 0, or trainer.scheduler.name=cosine|none",
            )
        cw = self.class_weights
        if cw is not None and cw != "balanced":
            if not isinstance(cw, list) or not all(isinstance(w, (int, float)) and w > 0 for w in cw):
                raise ConfigError(
                    f"trainer.class_weights={cw!r} is not valid",
                    "use null, balanced, or a list of positive numbers, one per class",
                )
        dev = self.device
        if not (dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())):
            raise ConfigError(f"trainer.device={dev!r} is not valid", "use auto, cpu, cuda or cuda:N")


PLOT_FORMATS = ("png", "pdf", "svg")


@dataclass
class PlotsSpec:
    """The run's figures: ``plots=false`` skips them (every number the same), ``plots.formats``
    writes each figure in these formats (pdf and svg keep text as text), ``plots.dpi`` the
    raster resolution (png)."""

    enabled: bool = True
    formats: list[str] = field(default_factory=lambda: ["png"])
    dpi: int = 120

    def check(self) -> None:
        if not self.formats:
            raise ConfigError("plots.formats is empty", "list a format, e.g. plots.formats=[png,pdf], or plots=false")
        for i, fmt in enumerate(self.formats):
            choice(f"plots.formats[{i}]", fmt, PLOT_FORMATS)
        if len(set(self.formats)) != len(self.formats):
            raise ConfigError(f"plots.formats={self.formats} lists a format twice", "list each format once")
        if not 30 <= self.dpi <= 1200:
            raise ConfigError(f"plots.dpi={self.dpi} is out of range", "use 30 to 1200 (300 for print)")


@dataclass
class DecisionSpec:
    """How a binary model's probabilities become a class. argmax: p(positive) >= 0.5;
    target_sensitivity: the highest threshold that still finds ``target_sensitivity`` of
    the positives among each fold's validation rows (never its test rows), reported on the
    test rows with the specificity it costs."""

    threshold: str = "argmax"  # argmax | target_sensitivity
    target_sensitivity: float = 0.95

    def check(self) -> None:
        choice("decision.threshold", self.threshold, ("argmax", "target_sensitivity"))
        if not 0 < self.target_sensitivity <= 1:
            raise ConfigError(f"decision.target_sensitivity={self.target_sensitivity} is out of range",
                              "set it in (0, 1], e.g. 0.95")


