"""Typed schemas for every config group, and the validation step that runs before any data
is loaded.

Each group's YAML is merged onto its dataclass (OmegaConf checks types and unknown keys),
then ``check()`` enforces ranges and choices. Any problem becomes one ``ConfigError`` line
that names the key, the bad value and a fix.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from qhybrid.errors import ConfigError

SCALERS = ("standard", "robust", "minmax")
NAN_POLICIES = ("error", "drop", "impute")
# the metric names qhybrid computes (qhybrid.training.metrics); binary tasks add the extras
SCALAR_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss")
BINARY_EXTRAS = ("sensitivity", "specificity")
METRICS = SCALAR_METRICS + BINARY_EXTRAS
LOSS_LIKE = ("loss", "log_loss")
BINARY_ONLY_MONITORS = tuple(f"val_{m}" for m in BINARY_EXTRAS)


def _choice(key: str, value: Any, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(
            f"{key}={value!r} is not a valid choice", f"use one of {', '.join(options)}"
        )


def _positive(key: str, value: float, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{key}={value} is out of range", f"set {key} to a value {bound}")


def _fraction(key: str, value: float, *, allow_zero: bool = False) -> None:
    if not ((0 <= value if allow_zero else 0 < value) and value < 1):
        low = "[0" if allow_zero else "(0"
        raise ConfigError(f"{key}={value} is out of range", f"set {key} in {low}, 1)")


# ----------------------------------------------------------------------------- model


@dataclass
class QuantumSpec:
    """The circuit description (see qhybrid.quantum.circuit)."""

    n_qubits: int = 4
    embedding: str = "angle"  # angle | amplitude
    rotation: str = "X"  # angle embedding: X | Y | Z
    amplitude_features: Optional[int] = None  # amplitude embedding: inputs (<= 2**n_qubits; default 2**n_qubits)
    gating: str = "none"  # none | hard | soft
    threshold: float = 0.1
    soft_alpha: float = 10.0  # soft gating: initial (trainable) steepness
    soft_tau_trainable: bool = False
    ansatz: str = "strongly_entangling"  # none | basic_entangler | strongly_entangling
    n_layers: int = 2
    entangler_rotation: str = "X"  # basic_entangler's rotation
    reupload: bool = False
    trainable: bool = True  # train the ansatz weights
    angle_scale: float = 1.5707963267948966  # the pre-layer's tanh output times this is the angle (pi/2)

    def check(self) -> None:
        from qhybrid.quantum.circuit import ANSATZE, EMBEDDINGS, GATINGS, ROTATIONS

        if self.n_qubits < 1:
            raise ConfigError(f"model.quantum.n_qubits={self.n_qubits} is out of range", "use at least 1 qubit")
        if self.n_layers < 1:
            raise ConfigError(f"model.quantum.n_layers={self.n_layers} is out of range",
                              "use n_layers >= 1 (ansatz=none for no trainable layers)")
        _choice("model.quantum.embedding", self.embedding, EMBEDDINGS)
        _choice("model.quantum.rotation", self.rotation, ROTATIONS)
        _choice("model.quantum.entangler_rotation", self.entangler_rotation, ROTATIONS)
        _choice("model.quantum.gating", self.gating, GATINGS)
        _choice("model.quantum.ansatz", self.ansatz, ANSATZE)
        _positive("model.quantum.threshold", self.threshold, allow_zero=True)
        _positive("model.quantum.soft_alpha", self.soft_alpha)
        _positive("model.quantum.angle_scale", self.angle_scale)
        if self.embedding == "amplitude":
            limit = 2**self.n_qubits
            if self.amplitude_features is not None and not 1 <= self.amplitude_features <= limit:
                raise ConfigError(
                    f"model.quantum.amplitude_features={self.amplitude_features} does not fit the amplitude "
                    f"embedding of {self.n_qubits} qubits (at most 2^{self.n_qubits} = {limit})",
                    f"use at most {limit} features, or more qubits")
            if self.gating != "none":
                raise ConfigError(f"model.quantum.gating={self.gating} applies to angle embedding only",
                                  "use gating=none with embedding=amplitude")
            if self.reupload:
                raise ConfigError("model.quantum.reupload=true with amplitude embedding would prepare a state "
                                  "in the middle of the circuit", "use reupload with embedding=angle only")

    @property
    def n_inputs(self) -> int:
        """How many numbers the circuit reads per sample."""
        if self.embedding == "amplitude":
            return self.amplitude_features or 2**self.n_qubits
        return self.n_qubits


@dataclass
class ModelSpec:
    name: str = "g0"
    # classical hidden layers before the head (classical) or before the quantum layer (hybrid)
    hidden_dims: list[int] = field(default_factory=lambda: [16])
    activation_threshold: float = 0.1
    dropout: float = 0.0
    init: str = "kaiming"
    quantum: Optional[QuantumSpec] = None

    def check(self) -> None:
        for i, width in enumerate(self.hidden_dims):
            _positive(f"model.hidden_dims[{i}]", width)
        _positive("model.activation_threshold", self.activation_threshold, allow_zero=True)
        _fraction("model.dropout", self.dropout, allow_zero=True)
        _choice("model.init", self.init, ("kaiming", "xavier", "torch"))
        if self.quantum is not None:
            self.quantum.check()
        elif not self.hidden_dims:
            raise ConfigError("model.hidden_dims is empty and there is no quantum layer",
                              "give a classical model at least one hidden layer, e.g. model.hidden_dims=[16]")


# --------------------------------------------------------------------- backend etc.


BACKEND_NAMES = ("auto", "torch", "default_qubit", "lightning_qubit", "lightning_gpu", "lightning_kokkos", "qiskit_aer",
                 "pennylane")
DIFF_METHODS = ("best", "backprop", "adjoint", "parameter-shift")
SIM_DTYPES = ("float64", "float32")


@dataclass
class BackendSpec:
    """Where a quantum layer runs. Classical models ignore this group."""

    name: str = "auto"
    device: Optional[str] = None  # the PennyLane device's name (required for name=pennylane)
    diff_method: str = "best"
    shots: Optional[int] = None  # null: exact expectation values
    dtype: str = "float64"  # simulation precision (float64 -> complex128 states)
    fallbacks: list[str] = field(default_factory=list)  # backend names tried in order when this one cannot start
    strict: bool = False  # true: a backend that cannot start is an error, never a fallback
    max_retries: int = 3  # transient execution errors (remote QPU, network) are retried this often
    retry_backoff: float = 1.0  # seconds before the first retry; doubles each time
    seed: Optional[int] = None  # shot-noise seed for devices that take one (default: the run seed)
    options: dict[str, Any] = field(default_factory=dict)  # extra keyword arguments for qml.device
    strategy: str = "auto"  # native executor (torch, auto): fused | gates | auto (cost model)

    def check(self) -> None:
        _choice("backend.name", self.name, BACKEND_NAMES)
        _choice("backend.strategy", self.strategy, ("auto", "fused", "gates"))
        if self.name in ("torch", "auto") and self.shots is not None:
            raise ConfigError(f"backend={self.name} (the native executor) computes exact expectation values, "
                              f"but backend.shots={self.shots}",
                              "for shot noise use backend=default_qubit (or qiskit_aer) with backend.shots=N")
        if self.name in ("torch", "auto") and self.diff_method in ("adjoint", "parameter-shift"):
            raise ConfigError(f"backend={self.name} (the native executor) differentiates by autograd, not "
                              f"{self.diff_method}",
                              "use backend.diff_method=best, or backend=lightning_qubit (adjoint) / "
                              "backend=default_qubit (parameter-shift)")
        _choice("backend.diff_method", self.diff_method, DIFF_METHODS)
        _choice("backend.dtype", self.dtype, SIM_DTYPES)
        for i, fallback in enumerate(self.fallbacks):
            _choice(f"backend.fallbacks[{i}]", fallback, BACKEND_NAMES[2:-1])
        if self.name == "pennylane" and not self.device:
            raise ConfigError("backend=pennylane needs the device's name",
                              "add backend.device=<name>, e.g. backend.device=default.mixed")
        if self.shots is not None and self.shots < 1:
            raise ConfigError(f"backend.shots={self.shots} is out of range", "use null (exact) or a positive count")
        if self.shots is not None and self.diff_method in ("adjoint", "backprop"):
            raise ConfigError(f"backend.diff_method={self.diff_method} needs exact simulation, but "
                              f"backend.shots={self.shots}",
                              "use backend.diff_method=parameter-shift (or best) with shots, or backend.shots=null")
        if self.max_retries < 0:
            raise ConfigError(f"backend.max_retries={self.max_retries} is out of range", "use 0 or more")
        _positive("backend.retry_backoff", self.retry_backoff, allow_zero=True)


PRECISIONS = ("fp32", "amp_bf16", "amp_fp16", "auto")


@dataclass
class PrecisionSpec:
    """Autocast of the classical layers; the quantum layer always runs in its own dtype.
    auto: amp_fp16 on CUDA, fp32 on a CPU (with a warning: bfloat16 autocast is slower there)."""

    name: str = "fp32"

    def check(self) -> None:
        _choice("precision.name", self.name, PRECISIONS)


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
        _positive("lora.rank", self.rank)
        _positive("lora.alpha", self.alpha)
        _fraction("lora.dropout", self.dropout, allow_zero=True)
        _positive("lora.quantum_rank", self.quantum_rank, allow_zero=True)
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
        _choice("quantization.name", self.name, ("none", "int8"))
        _positive("quantization.latency_repeats", self.latency_repeats)


# ---------------------------------------------------------------------------- data


IMBALANCE = ("none", "smote", "class_weights")


@dataclass
class DataCommon:
    """Keys every data set has: the per-fold scaler and the class-imbalance correction, both
    fitted on each fold's training rows only."""

    scaler: str = "standard"
    # smote: synthetic minority rows (imbalanced-learn) added to the fit rows only, never to
    # validation or test rows; class_weights: the loss weights classes by inverse frequency
    imbalance: str = "none"
    smote_k_neighbors: int = 5

    def check_common(self) -> None:
        _choice("data.scaler", self.scaler, SCALERS)
        _choice("data.imbalance", self.imbalance, IMBALANCE)
        _positive("data.smote_k_neighbors", self.smote_k_neighbors)


@dataclass
class BuiltinDataSpec(DataCommon):
    name: str = "iris"
    positive_class: Optional[str] = None

    def check(self) -> None:
        self.check_common()


@dataclass
class CsvDataSpec(DataCommon):
    name: str = "csv"
    path: str = "???"
    target: Optional[str] = None
    features: Optional[list[str]] = None
    test_path: Optional[str] = None
    header: bool = True
    sep: str = ","
    nan_policy: str = "error"
    positive_class: Optional[str] = None
    time_column: Optional[str] = None  # rows are a time series ordered by this column: forward CV only

    def check(self) -> None:
        from qhybrid.data.dataset import existing_file

        self.check_common()
        _choice("data.nan_policy", self.nan_policy, NAN_POLICIES)
        # a missing file is found at start, before anything else is done
        existing_file(self.path, "data.path")
        if self.test_path:
            existing_file(self.test_path, "data.test_path")
        if self.features is not None and len(self.features) == 0:
            raise ConfigError("data.features is an empty list", "name at least one column, or drop the key")
        if self.target is not None and self.features is not None and self.target in self.features:
            raise ConfigError(
                f"data.target={self.target!r} is also listed in data.features",
                "remove the label column from data.features",
            )


@dataclass
class GenomicsDataSpec(DataCommon):
    """Genotypes (0/1/2 per SNP) of K populations, the population as the target: simulated
    with the Balding-Nichols model (qhybrid.data.genomics); PCA inside each fold."""

    name: str = "genomics"
    n_populations: int = 3
    n_samples: int = 300
    n_snps: int = 1000
    fst: float = 0.05  # Wright's fixation index: how far the populations drifted apart
    seed: int = 0
    pca_components: int = 4  # 0: no PCA; fitted on each fold's training rows only
    path: Optional[str] = None  # a genotype CSV (SNP columns 0/1/2) instead of the simulation
    target: str = "population"  # its population column

    def check(self) -> None:
        self.check_common()
        if self.path is not None:
            from qhybrid.data.dataset import existing_file

            existing_file(self.path, "data.path")
        if self.n_populations < 2:
            raise ConfigError(f"data.n_populations={self.n_populations} is out of range", "simulate at least 2")
        _positive("data.n_samples", self.n_samples)
        _positive("data.n_snps", self.n_snps)
        _fraction("data.fst", self.fst)
        _positive("data.pca_components", self.pca_components, allow_zero=True)
        if self.path is None and self.pca_components > self.n_snps:
            raise ConfigError(f"data.pca_components={self.pca_components} exceeds data.n_snps={self.n_snps}",
                              "keep at most as many components as SNPs")


YF_INTERVALS = ("1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d", "5d", "1wk", "1mo", "3mo")
STRATEGIES = ("long_short", "long_only")


@dataclass
class FinanceDataSpec(DataCommon):
    """Daily prices (yfinance, qhybrid's own cache, or a local OHLCV file) turned into
    windows of technical indicators; the target is the next period's direction
    (qhybrid.data.finance). A time series: forward CV only."""

    name: str = "finance"
    tickers: list[str] = field(default_factory=lambda: ["AAPL"])
    start: Optional[str] = "2015-01-01"  # inclusive
    end: Optional[str] = "2025-01-01"  # exclusive (as yfinance)
    interval: str = "1d"
    auto_adjust: bool = True  # split- and dividend-adjusted prices (a split is not a -50% day)
    cache_dir: Optional[str] = None  # default: $XDG_CACHE_HOME/qhybrid/prices or ~/.cache/qhybrid/prices
    offline: bool = False  # never download: read the cache (or data.prices_csv)
    refresh: bool = False  # download again even when the cache has the range
    prices_csv: Optional[str] = None  # a local OHLCV file or folder of <TICKER>.csv: no download
    seq_length: int = 30  # days of indicators per sample
    volatility_window: int = 20
    dead_zone: float = 0.0  # |next return| below this: the row is not used for fitting (still tested)
    ticker_feature: bool = False  # append a one-hot of the ticker to every sample
    strategy: str = "long_short"  # the research figure: long on predicted up, short (or flat) on down

    def check(self) -> None:
        import pandas as pd

        self.check_common()
        if not self.tickers or any(not str(t).strip() for t in self.tickers):
            raise ConfigError(f"data.tickers={list(self.tickers)!r} names no ticker",
                              "give at least one, e.g. data.tickers=[AAPL,MSFT]")
        if len(set(self.tickers)) != len(self.tickers):
            raise ConfigError(f"data.tickers={list(self.tickers)!r} lists a ticker twice", "list each ticker once")
        dates = {}
        for key in ("start", "end"):
            value = getattr(self, key)
            if value is None:
                continue
            try:
                dates[key] = pd.Timestamp(str(value))
            except (ValueError, TypeError):
                raise ConfigError(f"data.{key}={value!r} is not a date", f"write data.{key}=YYYY-MM-DD") from None
        if len(dates) == 2 and dates["start"] >= dates["end"]:
            raise ConfigError(f"data.start={self.start} is not before data.end={self.end}",
                              "give a start date before the end date (the end is exclusive)")
        _choice("data.interval", self.interval, YF_INTERVALS)
        _choice("data.strategy", self.strategy, STRATEGIES)
        _positive("data.seq_length", self.seq_length)
        if self.volatility_window < 2:
            raise ConfigError(f"data.volatility_window={self.volatility_window} is out of range",
                              "use at least 2 periods (a standard deviation needs two returns)")
        _positive("data.dead_zone", self.dead_zone, allow_zero=True)
        prices_csv = Path(self.prices_csv).expanduser() if self.prices_csv is not None else None
        if prices_csv is not None and not prices_csv.exists():
            raise ConfigError(f"data.prices_csv: no such file or folder: {prices_csv.resolve()}",
                              f"check the path (relative paths are read from {Path.cwd()})")


DATA_SCHEMAS: dict[str, type] = {
    "iris": BuiltinDataSpec,
    "iris_binary": BuiltinDataSpec,
    "breast_cancer": BuiltinDataSpec,
    "csv": CsvDataSpec,
    "genomics": GenomicsDataSpec,
    "finance": FinanceDataSpec,
}


# ------------------------------------------------------------------------------ cv


@dataclass
class StratifiedKFoldSpec:
    name: str = "stratified_kfold"
    n_splits: int = 5
    shuffle: bool = True
    seed: int = 0
    allow_shuffle_time_series: bool = False  # a shuffled split of a time series trains on the future

    def check(self) -> None:
        if self.n_splits < 2:
            raise ConfigError(
                f"cv.n_splits={self.n_splits} is out of range",
                "use cv.n_splits >= 2, or cv=holdout for a single split",
            )


@dataclass
class HoldoutSpec:
    name: str = "holdout"
    test_fraction: float = 0.2
    seed: int = 0
    allow_shuffle_time_series: bool = False

    def check(self) -> None:
        _fraction("cv.test_fraction", self.test_fraction)


@dataclass
class WalkForwardSpec:
    """Expanding-window splits forward in time (scikit-learn's TimeSeriesSplit): each fold
    trains on the past only, with ``gap`` rows left out before its test rows (at least the
    data's window, so no sample straddles the boundary)."""

    name: str = "walk_forward"
    n_splits: int = 5
    gap: int = 0
    test_size: Optional[int] = None  # rows per test fold (default: as many as fit)
    max_train_size: Optional[int] = None  # null: expanding window; N: the last N rows only

    def check(self) -> None:
        if self.n_splits < 2:
            raise ConfigError(f"cv.n_splits={self.n_splits} is out of range", "use cv.n_splits >= 2")
        _positive("cv.gap", self.gap, allow_zero=True)
        if self.test_size is not None:
            _positive("cv.test_size", self.test_size)
        if self.max_train_size is not None:
            _positive("cv.max_train_size", self.max_train_size)


CV_SCHEMAS: dict[str, type] = {"stratified_kfold": StratifiedKFoldSpec, "holdout": HoldoutSpec,
                               "walk_forward": WalkForwardSpec}


# ------------------------------------------------------------------------- trainer


@dataclass
class EarlyStoppingSpec:
    enabled: bool = True
    monitor: str = "val_loss"
    mode: str = "auto"
    patience: int = 20
    min_delta: float = 0.0

    def check(self) -> None:
        allowed = ("val_loss",) + tuple(f"val_{m}" for m in METRICS)
        _choice("trainer.early_stopping.monitor", self.monitor, allowed)
        _choice("trainer.early_stopping.mode", self.mode, ("auto", "min", "max"))
        _positive("trainer.early_stopping.patience", self.patience)
        _positive("trainer.early_stopping.min_delta", self.min_delta, allow_zero=True)

    @property
    def resolved_mode(self) -> str:
        if self.mode != "auto":
            return self.mode
        return "min" if self.monitor.removeprefix("val_") in LOSS_LIKE else "max"


@dataclass
class SchedulerSpec:
    name: str = "plateau"
    factor: float = 0.5
    patience: int = 10
    min_lr: float = 1e-5

    def check(self) -> None:
        _choice("trainer.scheduler.name", self.name, ("plateau", "cosine", "none"))
        _fraction("trainer.scheduler.factor", self.factor)
        _positive("trainer.scheduler.patience", self.patience, allow_zero=True)
        _positive("trainer.scheduler.min_lr", self.min_lr, allow_zero=True)


@dataclass
class TrainerSpec:
    max_epochs: int = 200
    batch_size: int = 32
    lr: float = 0.01
    weight_decay: float = 1e-4
    class_weights: Optional[Any] = None
    grad_clip: Optional[float] = 1.0
    val_fraction: float = 0.2
    early_stopping: EarlyStoppingSpec = field(default_factory=EarlyStoppingSpec)
    scheduler: SchedulerSpec = field(default_factory=SchedulerSpec)
    device: str = "auto"
    deterministic: bool = False
    log_every_n_epochs: int = 10
    epoch_checkpoint_seconds: Optional[float] = 60.0

    def check(self) -> None:
        _positive("trainer.max_epochs", self.max_epochs)
        _positive("trainer.batch_size", self.batch_size)
        _positive("trainer.lr", self.lr)
        _positive("trainer.weight_decay", self.weight_decay, allow_zero=True)
        if self.grad_clip is not None:
            _positive("trainer.grad_clip", self.grad_clip)
        _fraction("trainer.val_fraction", self.val_fraction, allow_zero=True)
        _positive("trainer.log_every_n_epochs", self.log_every_n_epochs)
        if self.epoch_checkpoint_seconds is not None:
            _positive("trainer.epoch_checkpoint_seconds", self.epoch_checkpoint_seconds, allow_zero=True)
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


@dataclass
class DecisionSpec:
    """How a binary model's probabilities become a class. argmax: p(positive) >= 0.5;
    target_sensitivity: the highest threshold that still finds ``target_sensitivity`` of
    the positives among each fold's validation rows (never its test rows), reported on the
    test rows with the specificity it costs."""

    threshold: str = "argmax"  # argmax | target_sensitivity
    target_sensitivity: float = 0.95

    def check(self) -> None:
        _choice("decision.threshold", self.threshold, ("argmax", "target_sensitivity"))
        if not 0 < self.target_sensitivity <= 1:
            raise ConfigError(f"decision.target_sensitivity={self.target_sensitivity} is out of range",
                              "set it in (0, 1], e.g. 0.95")


# ------------------------------------------------------------------------- the run


@dataclass
class LoggerSpec:
    """Experiment tracking beside the run folder (qhybrid/tracking.py)."""

    name: str = "none"
    tracking_uri: Optional[str] = None  # null: a SQLite store under ./mlruns (no server)
    experiment: str = "qhybrid"
    log_checkpoints: bool = True  # the folds' checkpoints as artefacts too

    def check(self) -> None:
        _choice("logger.name", self.name, ("none", "mlflow"))
        if not self.experiment:
            raise ConfigError("logger.experiment is empty",
                              "name the MLflow experiment, e.g. logger.experiment=qhybrid")


@dataclass
class RunSpec:
    """The validated config of one run, as typed objects."""

    seed: int
    model: ModelSpec
    backend: BackendSpec
    precision: PrecisionSpec
    quantization: QuantizationSpec
    data: Any  # one of DATA_SCHEMAS' values
    cv: Any  # one of CV_SCHEMAS' values
    trainer: TrainerSpec
    lora: LoRASpec = field(default_factory=LoRASpec)
    init_from: Optional[str] = None  # a run folder or checkpoint to start from (fine-tuning)
    decision: DecisionSpec = field(default_factory=DecisionSpec)
    baselines: list[str] = field(default_factory=list)  # classical models on the same folds (training/baselines.py)
    resume: Optional[str] = None  # an interrupted run's folder: its finished folds are kept
    logger: LoggerSpec = field(default_factory=LoggerSpec)


def _group_type(schema: type, name: str) -> Optional[type]:
    """The dataclass a field of ``schema`` holds (Optional[...] unwrapped), or None."""
    import dataclasses
    import typing

    hint = typing.get_type_hints(schema).get(name)
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _nested_groups(group: str, schema: type, node: DictConfig) -> None:
    """A plain value where the schema has a group of settings (trainer.scheduler=cosine):
    say which keys the group has, not OmegaConf's 'str is not a subclass of SchedulerSpec'."""
    import dataclasses

    for item in dataclasses.fields(schema):
        kind = _group_type(schema, item.name)
        if kind is None or item.name not in node:
            continue
        value = node._get_node(item.name)._value()
        key = f"{group}.{item.name}"
        if isinstance(value, (dict, DictConfig)):
            _nested_groups(key, kind, node[item.name])
        if value is None or isinstance(value, (dict, DictConfig)):
            continue
        fields = dataclasses.fields(kind)
        same_type = [f.name for f in fields if type(f.default) is type(value)]
        example = "name" if isinstance(value, str) and "name" in [f.name for f in fields] else \
            (same_type or [fields[0].name])[0]
        raise ConfigError(f"{key}={value!r} gives a value to a group of settings "
                          f"({', '.join(f.name for f in fields)})", f"set one of its keys, e.g. {key}.{example}={value}")


def _full_key(group: str, err: Exception) -> str:
    full = str(getattr(err, "full_key", "") or "")
    if not full:
        return group
    return full if full == group or full.startswith(group + ".") else f"{group}.{full}"


def _coerce(group: str, schema: type, node: Any) -> Any:
    """Merge a config node onto its schema; turn OmegaConf's errors into one line."""
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{group} must be a mapping, got {node!r}", f"pick an option: {group}=<option>")
    _nested_groups(group, schema, node)
    try:
        # resolve against the whole config first (cv.seed is ${seed}), then type-check alone
        plain = OmegaConf.create(OmegaConf.to_container(node, resolve=True))
        merged = OmegaConf.merge(OmegaConf.structured(schema), plain)
        obj = OmegaConf.to_object(merged)
    except ConfigKeyError as err:
        key = _full_key(group, err)
        parent, _, leaf = key.rpartition(".")
        known = _keys_of(schema, parent.removeprefix(group).strip("."))
        close = difflib.get_close_matches(leaf, known, n=1)
        hint = f"did you mean {parent}.{close[0]}?" if close else f"known keys of {parent}: {', '.join(known)}"
        raise ConfigError(f"unknown config key {key}", hint) from None
    except OmegaConfBaseException as err:
        key = _full_key(group, err)
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "missing mandatory value" in first.lower():
            if key == group:  # to_object names the field only in the message
                key = f"{group}.{first.rsplit(':', 1)[-1].strip()}"
            raise ConfigError(f"{key} is required but not set", f"pass {key}=<value> on the command line") from None
        if type(err).__name__ == "InterpolationKeyError":
            missing = first.split("'")[1] if first.count("'") >= 2 else "?"
            raise ConfigError(f"{key} refers to ${{{missing}}}, which is not in the config",
                              f"give {key} a plain value, or keep {missing} in the config (was it removed with "
                              f"~{missing}?)") from None
        raise ConfigError(f"{key}: {first}", f"give {key} a value of the right type") from None
    obj.check()
    return obj


def _keys_of(schema: type, path: str) -> list[str]:
    """The keys of the dataclass at ``path`` (dotted, relative to ``schema``)."""
    import dataclasses

    for part in filter(None, path.split(".")):
        schema = _group_type(schema, part)
        if schema is None:
            return []
    return [f.name for f in dataclasses.fields(schema)]


def _select(kind: str, group: str, name: Any, schemas: dict[str, type]) -> type:
    if name not in schemas:
        raise ConfigError(f"{group}.name={name!r} is not a known {kind}", f"use one of {', '.join(schemas)}")
    return schemas[name]


def _init_from(value: Any) -> Optional[str]:
    if value is None:
        return None
    path = Path(str(value)).expanduser()
    if not path.exists():
        raise ConfigError(f"init_from: no such run folder or checkpoint: {path.resolve()}",
                          "give a run folder (outputs/<date>/<time>-<id>) or one of its checkpoints/fold_<k>.pt")
    return str(path.resolve())


def _resume(value: Any) -> Optional[str]:
    if value is None:
        return None
    from qhybrid.run_folder import is_run

    path = Path(str(value)).expanduser()
    if not path.is_dir():
        raise ConfigError(f"resume={value}: no such folder ({path.resolve()})",
                          "give the folder of the interrupted run (outputs/<date>/<time>-<id>)")
    if not is_run(path):
        raise ConfigError(f"resume={value}: {path.resolve()} is not a qhybrid run folder (no .qhybrid-run marker)",
                          "give the folder of the interrupted run (outputs/<date>/<time>-<id>)")
    return str(path.resolve())


def _baselines(value: Any) -> list[str]:
    from qhybrid.training.baselines import BASELINE_NAMES

    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value)
    for i, name in enumerate(names):
        _choice(f"baselines[{i}]", name, BASELINE_NAMES)
    if len(set(names)) != len(names):
        raise ConfigError(f"baselines={names} lists a model twice", "list each baseline once")
    return names


def _finite_numbers(node: Any, prefix: str = "") -> None:
    """NaN or inf in any setting (trainer.lr=nan) is refused before it reaches torch."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        name = f"{prefix}[{key}]" if isinstance(node, list) else f"{prefix}{'.' if prefix else ''}{key}"
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{name}={value} is not a finite number", f"give {name} a finite value")
        _finite_numbers(value, name)


def _check_memory(spec: RunSpec) -> None:
    from qhybrid.quantum.memory import check_fits

    device = spec.trainer.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    check_fits(spec.model.quantum, spec.backend.name, spec.backend.dtype, spec.trainer.batch_size, device)


def validate(cfg: DictConfig) -> RunSpec:
    """Check the whole composed config. Raises ConfigError on the first problem."""
    _finite_numbers(OmegaConf.to_container(cfg, resolve=False))
    for group in ("model", "backend", "precision", "quantization", "data", "cv", "trainer"):
        if group not in cfg or cfg[group] is None:
            raise ConfigError(f"config group {group!r} is missing", f"pick an option: {group}=<option>")
    seed = cfg.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed={seed!r} is not valid", "use a non-negative integer, e.g. seed=0")
    data_schema = _select("data set", "data", cfg.data.get("name"), DATA_SCHEMAS)
    cv_schema = _select("cv strategy", "cv", cfg.cv.get("name"), CV_SCHEMAS)
    spec = RunSpec(
        seed=seed,
        model=_coerce("model", ModelSpec, cfg.model),
        backend=_coerce("backend", BackendSpec, cfg.backend),
        precision=_coerce("precision", PrecisionSpec, cfg.precision),
        quantization=_coerce("quantization", QuantizationSpec, cfg.quantization),
        data=_coerce("data", data_schema, cfg.data),
        cv=_coerce("cv", cv_schema, cfg.cv),
        trainer=_coerce("trainer", TrainerSpec, cfg.trainer),
        lora=_coerce("lora", LoRASpec, cfg.get("lora") or OmegaConf.create({})),
        init_from=_init_from(cfg.get("init_from")),
        decision=_coerce("decision", DecisionSpec, cfg.get("decision") or OmegaConf.create({})),
        baselines=_baselines(cfg.get("baselines")),
        resume=_resume(cfg.get("resume")),
        logger=_coerce("logger", LoggerSpec, cfg.get("logger") or OmegaConf.create({})),
    )
    if spec.lora.quantum_rank and (spec.model.quantum is None or spec.model.quantum.ansatz == "none"):
        raise ConfigError("lora.quantum_rank needs a circuit with trainable weights",
                          "use a model with an ansatz (e.g. model=g6), or lora.quantum_rank=0")
    q = spec.model.quantum
    if q is not None and q.embedding == "amplitude" and spec.backend.diff_method in ("adjoint", "parameter-shift") \
            and spec.backend.name not in ("torch", "auto"):
        raise ConfigError(
            f"amplitude embedding cannot be differentiated with backend.diff_method={spec.backend.diff_method} "
            "(PennyLane differentiates state preparation only by backprop)",
            "use backend=default_qubit (backprop), or embedding=angle")
    series = f"data.time_column={spec.data.time_column}" if getattr(spec.data, "time_column", None) else \
        "data=finance" if isinstance(spec.data, FinanceDataSpec) else None
    if series and spec.cv.name != "walk_forward" and not getattr(spec.cv, "allow_shuffle_time_series", False):
        raise ConfigError(f"cv={spec.cv.name} shuffles the rows of a time series ({series}): every fold would "
                          "train on rows after the ones it is tested on",
                          "use cv=walk_forward, or cv.allow_shuffle_time_series=true to do it anyway")
    if spec.data.imbalance == "smote" and spec.trainer.class_weights is not None:
        raise ConfigError(f"data.imbalance=smote and trainer.class_weights={spec.trainer.class_weights} both correct "
                          "the class imbalance", "use one: trainer.class_weights=null, or data.imbalance=class_weights")
    if spec.decision.threshold != "argmax" and spec.trainer.val_fraction == 0:
        raise ConfigError(f"decision.threshold={spec.decision.threshold} is chosen on validation rows, but "
                          "trainer.val_fraction=0", "set trainer.val_fraction > 0, or decision.threshold=argmax")
    if isinstance(spec.data, CsvDataSpec) and spec.data.test_path and spec.cv.name != "holdout":
        raise ConfigError(
            "data.test_path is a fixed held-out test set, which only cv=holdout uses",
            "add cv=holdout, or drop data.test_path to cross-validate on data.path",
        )
    _check_memory(spec)
    return spec
