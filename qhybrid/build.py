"""The only place that turns validated config into objects."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
import torch
from torch import nn

from qhybrid.models.matched import make_control
from qhybrid.data.preprocess import FoldPreprocessor
from qhybrid.errors import ConfigError
from qhybrid.models.hybrid import HybridNet, build_hybrid_net
from qhybrid.models.lora import apply_lora, freeze_base
from qhybrid.quantum.backend_options import is_native
from qhybrid.quantum.backends import ResolvedBackend, resolve_backend
from qhybrid.quantum.layer import QuantumLayer
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.native_density import DensityExecutor
from qhybrid.quantum.native_shots import ShotsExecutor, shots_refusal
from qhybrid.quantum.pennylane_executor import PennyLaneExecutor
from qhybrid.quantum.programs import program_of
from qhybrid.quantum.retry import RetryPolicy
from qhybrid.models.spec import ModelSpec
from qhybrid.quantum.spec import BackendSpec, QuantumSpec
from qhybrid.schema import RunSpec
from qhybrid.training.adamw import AdamW
from qhybrid.training.engine import EarlyStopping, FitParts
from qhybrid.training.finetune import apply_initial_weights, output_layer_name
from qhybrid.training.seeding import fold_seed
from qhybrid.training.spec import LOSSES, SCHEDULERS, TrainerSpec, resolved_loss

log = logging.getLogger("qhybrid")


def build_model(spec: ModelSpec, n_features: int, n_outputs: int, backend: Optional[ResolvedBackend] = None,
                retry: Optional[RetryPolicy] = None) -> HybridNet:
    """A model from its spec, with ``n_outputs`` outputs (the classes, or 1 for regression). A
    quantum model needs the resolved backend (build_backend)."""
    quantum = None
    if spec.quantum is not None:
        if backend is None:
            raise ValueError("a quantum model needs a resolved backend")
        quantum = build_quantum_layer(spec.quantum, backend, retry)
    return build_hybrid_net(
        n_features,
        n_outputs,
        hidden_dims=tuple(spec.hidden_dims),
        activation_threshold=spec.activation_threshold,
        dropout=spec.dropout,
        init=spec.init,
        quantum=quantum,
        angle_scale=spec.quantum.angle_scale if spec.quantum is not None else 1.0,
    )


def build_run_model(spec: RunSpec, n_features: int, n_outputs: int, backend: Optional[ResolvedBackend] = None,
                    retry: Optional[RetryPolicy] = None, initial: Optional[dict] = None) -> tuple[HybridNet, list[str]]:
    """The model a run trains: built from the model spec, started from the ``init_from``
    checkpoint (``initial``, qhybrid.training.finetune.load_initial) when given, then
    adapted (LoRA) and frozen as ``lora`` says. Also returns the names of the tensors
    re-initialised because their shape changed (the output layer)."""
    model = build_model(spec.model, n_features, n_outputs, backend, retry)
    fresh: list[str] = []
    if initial is not None:
        fresh = apply_initial_weights(model, initial, output_layer_name(model))
    lora = spec.lora
    if lora.enabled:
        try:
            apply_lora(model, lora.targets, lora.rank, lora.alpha, lora.dropout)
        except ValueError as err:
            raise ConfigError(str(err), "name Linear layers of the model, e.g. lora.targets=[all]") from None
    if lora.quantum_rank:
        model.quantum.add_lora(lora.quantum_rank, lora.alpha)
    if lora.freeze_base:
        # a re-initialised output layer has nothing to adapt from: it trains in full
        freeze_base(model, keep=sorted({name.rsplit(".", 1)[0] for name in fresh}))
    return model, fresh


def build_backend(spec: RunSpec) -> Optional[ResolvedBackend]:
    """Resolve the backend of a quantum model (None for a classical one)."""
    q = spec.model.quantum
    if q is None:
        return None
    program = program_of(q)
    backend_spec = spec.backend
    if program.opaque and is_native(backend_spec.name):
        # the native executor runs registry gates only: say so, never run slower silently
        log.warning("model.quantum.circuit uses %s, which qhybrid's gate registry does not have: the circuit runs "
                    "through PennyLane (backend=default_qubit) instead of the native executor (backend=%s)",
                    ", ".join(program.opaque), backend_spec.name)
        backend_spec = replace(backend_spec, name="default_qubit", fallbacks=[])
    elif program.opaque:  # nor can a fallback run them natively
        backend_spec = replace(backend_spec, fallbacks=[f for f in backend_spec.fallbacks if not is_native(f)])
    backend = resolve_backend(backend_spec, q.n_qubits, amplitude=program.embedding == "amplitude",
                              run_seed=spec.seed)
    if backend.name == "torch" and backend.diff_method == "parameter-shift" and shots_refusal(program):
        if is_native(backend_spec.name):
            raise ConfigError(f"backend={backend_spec.name} (the native executor) samples shots and shifts parameters "
                              f"of Z-basis readouts of angle embeddings, and {shots_refusal(program)}",
                              "use backend=default_qubit with backend.shots=N")
        # a fallback to the native executor that cannot run this circuit: the rest of the chain
        backend_spec = replace(backend_spec, fallbacks=[f for f in backend_spec.fallbacks if not is_native(f)])
        backend = resolve_backend(backend_spec, q.n_qubits, amplitude=program.embedding == "amplitude",
                                  run_seed=spec.seed)
    if backend.diff_method == "adjoint" and any(o.probs is not None for o in program.observables):
        raise ConfigError(f"backend={backend.name} differentiates by adjoint, which reads expectation values only, "
                          "but model.quantum.observables has probs",
                          "use backend.diff_method=parameter-shift, or backend=auto (the native executor) or "
                          "default_qubit, or Pauli words only")
    if backend_spec is not spec.backend:  # metrics.json names what ran, and why
        backend = replace(backend, requested=spec.backend.name,
                          fallback_reason=f"the circuit uses {', '.join(program.opaque)} (not in the gate registry)")
    return backend


EVAL_STREAM = 1_000_003  # a "fold" no run has: eval_shots' seed is fold_seed(the run's shot seed, EVAL_STREAM)


def build_eval_backend(spec: RunSpec) -> Optional[ResolvedBackend]:
    """The native executor under eval_noise and eval_shots, which scores each fold's trained
    model a second time; None when neither is set or the model is classical."""
    q = spec.model.quantum
    if q is None or not (spec.eval_noise.active or spec.eval_shots):
        return None
    program = program_of(q)
    asked = " and ".join(k for k, on in (("eval_noise", spec.eval_noise.active), ("eval_shots", spec.eval_shots)) if on)
    if program.opaque:
        raise ConfigError(f"{asked} runs on the native executor, which does not have {', '.join(program.opaque)}",
                          f"use registry gates (qhybrid circuit lists them), or leave {asked} unset")
    if spec.eval_shots and shots_refusal(program):
        raise ConfigError(f"eval_shots samples Z-basis readouts of angle embeddings, and {shots_refusal(program)}",
                          "leave eval_shots unset")
    # the scoring's shots come from streams of their own, never the training's (same run seed, same fold)
    seed = fold_seed(spec.backend.seed if spec.backend.seed is not None else spec.seed, EVAL_STREAM)
    native = BackendSpec(name="torch", dtype=spec.backend.dtype, shots=spec.eval_shots, noise=spec.eval_noise,
                         seed=seed, diff_method="parameter-shift" if spec.eval_shots else "best")
    return resolve_backend(native, q.n_qubits, amplitude=program.embedding == "amplitude", run_seed=spec.seed)


def build_retry(spec: BackendSpec) -> RetryPolicy:
    return RetryPolicy(max_retries=spec.max_retries, backoff=spec.retry_backoff)


def build_quantum_layer(spec: QuantumSpec, backend: ResolvedBackend, retry: Optional[RetryPolicy] = None):
    def executor(program, shift_columns):
        if backend.name == "torch" and backend.diff_method == "parameter-shift":
            return ShotsExecutor(program, shift_columns, backend.shots, backend.device, backend.strategy or "auto",
                                 backend.noise)
        if backend.name == "torch" and backend.noise is not None:
            return DensityExecutor(program, backend.noise)
        if backend.name == "torch":
            return NativeExecutor(program, backend.strategy or "auto")

        return PennyLaneExecutor(program, backend, shift_columns, retry)

    return QuantumLayer(spec, executor, dtype=backend.dtype)


def build_preprocessor(data_spec, data=None) -> FoldPreprocessor:
    """A fold's preprocessing; ``data`` (its Dataset) names the categorical columns, if any."""
    categories = getattr(data, "categories", None) or {}
    names = list(data.feature_names) if data is not None else []
    return FoldPreprocessor(data_spec.scaler, impute=getattr(data_spec, "nan_policy", "error") == "impute",
                            pca=model_inputs(data_spec, 0),
                            categories={names.index(c): v for c, v in categories.items()})


def data_inputs(data_spec, data) -> int:
    """How many numbers per row the model reads from ``data``: PCA's components, or its
    features with each categorical one as one column per category."""
    return build_preprocessor(data_spec, data).n_outputs(data.n_features)


def model_inputs(data_spec, n_features: int) -> int:
    """How many numbers per row the model reads: the PCA components when the data spec asks
    for them, else the data set's features."""
    return getattr(data_spec, "pca_components", 0) or n_features


def build_fit_parts(model: nn.Module, spec: TrainerSpec, class_weights: Optional[torch.Tensor] = None,
                    has_validation: bool = True, regression: bool = False,
                    score: Optional[Callable[[torch.Tensor], float]] = None) -> FitParts:
    """The optimizer, scheduler, loss and early stopping of one fit: without validation rows
    it watches the training loss and never stops early. ``score``: the monitored validation
    metric from the validation rows' outputs (qhybrid.training.engine.FitParts)."""
    es = spec.early_stopping
    monitor = es.monitor if has_validation else "train_loss"
    mode = es.resolved_mode if has_validation else "min"
    optimizer = build_optimizer(model, spec)
    loss = LOSSES.get(resolved_loss(spec.loss, regression), key="trainer.loss").build(spec, class_weights)
    return FitParts(optimizer=optimizer, scheduler=build_scheduler(optimizer, spec, mode), loss_fn=loss,
                    stopper=EarlyStopping(mode, es.patience, es.min_delta, enabled=es.enabled and has_validation),
                    monitor=monitor, score=score)


def build_optimizer(model: nn.Module, spec: TrainerSpec) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if params and all(p.device.type == "cpu" for p in params):
        # fused: the whole update in one kernel per dtype (torch >= 2.4 on the CPU) where foreach runs a
        # dozen operations, each a loop over the tensors; qhybrid.training.adamw keeps its bookkeeping
        with contextlib.suppress(RuntimeError):
            return AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)
    # foreach: one operation per step for all parameters, not one per parameter (CPU defaults to
    # the per-parameter loop, which is most of a small model's optimizer step)
    return torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay, foreach=True)


def build_scheduler(optimizer: torch.optim.Optimizer, spec: TrainerSpec, mode: str):
    return SCHEDULERS.get(spec.scheduler.name, key="trainer.scheduler.name").build(optimizer, spec, mode)


def build_class_weights(spec: TrainerSpec, y_train: np.ndarray, n_classes: int,
                        imbalance: str = "none") -> torch.Tensor | None:
    """Class weights from the training rows of the fold only (never the test rows).
    ``data.imbalance=class_weights`` means balanced weights unless trainer.class_weights
    gives its own."""
    cw = spec.class_weights
    if cw is None and imbalance == "class_weights":
        cw = "balanced"
    if cw is None:
        return None
    if cw == "balanced":
        counts = np.bincount(y_train, minlength=n_classes).astype(np.float64)
        weights = len(y_train) / (n_classes * np.maximum(counts, 1.0))
    else:
        if len(cw) != n_classes:
            raise ConfigError(
                f"trainer.class_weights has {len(cw)} entries but the task has {n_classes} classes",
                "give one weight per class, in the order of metrics.json 'classes'",
            )
        weights = np.asarray(cw, dtype=np.float64)
    return torch.as_tensor(weights, dtype=torch.float32)


@dataclass(frozen=True)
class ModelBuilders:
    """The models of one run's folds, for any spec of the run (search.budget tunes trainer and
    model settings per fold): the model a fold trains, the plain model its checkpoint holds,
    and each control."""

    n_inputs: int
    n_outputs: int
    retry: Optional[RetryPolicy] = None
    initial: Optional[dict] = None  # init_from's weights

    def run(self, spec: RunSpec, backend) -> HybridNet:
        return build_run_model(spec, self.n_inputs, self.n_outputs, backend, self.retry, self.initial)[0]

    def plain(self, model_spec: ModelSpec, backend) -> HybridNet:
        return build_model(model_spec, self.n_inputs, self.n_outputs, backend, self.retry)

    def control(self, name: str, spec: RunSpec, backend) -> HybridNet:
        return make_control(name, self.run, spec, backend)
