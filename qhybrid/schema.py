"""Typed schemas for every config group, and the validation step that runs before any data
is loaded.

Each group's YAML is merged onto its dataclass (OmegaConf checks types and unknown keys),
then ``check()`` enforces ranges and choices. Any problem becomes one ``ConfigError`` line
that names the key, the bad value and a fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import keyword
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from qhybrid.controls import check_controls, parse_controls
from qhybrid.data.options import DATA
from qhybrid.data.spec import BuiltinDataSpec, CsvDataSpec, FinanceDataSpec, GenomicsDataSpec  # noqa: F401
from qhybrid.data.target import valid_task
from qhybrid.errors import ConfigError, first_line
from qhybrid.models.spec import ModelSpec
from qhybrid.quantum.backend_options import BACKENDS, is_native
from qhybrid.quantum.spec import BackendSpec, EvalNoiseSpec, QuantumSpec  # noqa: F401
from qhybrid.run_folder import is_run
from qhybrid.spec_checks import choice
from qhybrid.tasks import check_task
from qhybrid.tracking import LOGGERS, LoggerSpec
from qhybrid.training.baselines import BASELINE_NAMES
from qhybrid.training.search_spec import SearchSpec, check_search
from qhybrid.training.cv_spec import CV, check_repeats, HoldoutSpec, StratifiedKFoldSpec, WalkForwardSpec  # noqa: F401
from qhybrid.training.spec import (  # noqa: F401
    DecisionSpec,
    EarlyStoppingSpec,
    LoRASpec,
    PlotsSpec,
    PrecisionSpec,
    QuantizationSpec,
    SchedulerSpec,
    TrainerSpec,
)

# ------------------------------------------------------------------------- the run


@dataclass
class RunSpec:
    """The validated config of one run, as typed objects."""

    seed: int
    model: ModelSpec
    backend: BackendSpec
    precision: PrecisionSpec
    quantization: QuantizationSpec
    data: Any  # the schema its option registers (qhybrid.data.options.DATA)
    cv: Any  # the schema its option registers (qhybrid.training.cv_spec.CV)
    trainer: TrainerSpec
    lora: LoRASpec = field(default_factory=LoRASpec)
    init_from: Optional[str] = None  # a run folder or checkpoint to start from (fine-tuning)
    decision: DecisionSpec = field(default_factory=DecisionSpec)
    baselines: list[str] = field(default_factory=list)  # classical models on the same folds (training/baselines.py)
    resume: Optional[str] = None  # an interrupted run's folder: its finished folds are kept
    logger: LoggerSpec = field(default_factory=LoggerSpec)
    plots: PlotsSpec = field(default_factory=PlotsSpec)  # the run's figures; plots=false skips them
    task: str = "auto"  # auto | classification | regression (qhybrid.data.target)
    # each fold's test rows scored again under this noise and these shots (the native executor)
    eval_noise: EvalNoiseSpec = field(default_factory=EvalNoiseSpec)
    eval_shots: Optional[int] = None
    controls: list[str] = field(default_factory=list)  # qhybrid.controls, on the same folds
    repeats: int = 1  # split seeds: repeats x the cv's folds, in one run
    search: SearchSpec = field(default_factory=SearchSpec)  # an equal tuning budget per fold (qhybrid.search)
    refit: bool = False  # a final model on all rows after CV (qhybrid.refit): predict's default


def _group_type(schema: type, name: str) -> Optional[type]:
    """The dataclass a field of ``schema`` holds (Optional[...] unwrapped), or None."""
    hint = typing.get_type_hints(schema).get(name)
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _nested_groups(group: str, schema: type, node: DictConfig) -> None:
    """A plain value where the schema has a group of settings (trainer.scheduler=cosine):
    say which keys the group has, not OmegaConf's 'str is not a subclass of SchedulerSpec'."""
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


def _python_names(node: Any) -> Any:
    """A key that is a Python keyword (backend.noise.from) is the field with an underscore
    after it (``from_``), as a dataclass must name it."""
    if isinstance(node, dict):
        return {(f"{k}_" if isinstance(k, str) and keyword.iskeyword(k) else k): _python_names(v)
                for k, v in node.items()}
    return node


def _coerce(group: str, schema: type, node: Any) -> Any:
    """Merge a config node onto its schema; turn OmegaConf's errors into one line."""
    if not isinstance(node, DictConfig):
        keys = [f.name.rstrip("_") for f in dataclasses.fields(schema)][:3] if dataclasses.is_dataclass(schema) else []
        fix = f"pick an option: {group}=<option>" if _has_options(group) else \
            f"set its keys: {', '.join(f'{group}.{k}=...' for k in keys)}"
        raise ConfigError(f"{group} must be a mapping, got {node!r}", fix)
    _nested_groups(group, schema, node)
    try:
        # resolve against the whole config first (cv.seed is ${seed}), then type-check alone
        plain = OmegaConf.create(_python_names(OmegaConf.to_container(node, resolve=True)))
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
        first = first_line(err, 10_000)
        if "missing mandatory value" in first.lower():
            if key == group:  # to_object names the field only in the message
                key = f"{group}.{first.rsplit(':', 1)[-1].strip()}"
            raise ConfigError(f"{key} is required but not set", f"pass {key}=<value> on the command line") from None
        if type(err).__name__ == "InterpolationKeyError":
            missing = first.split("'")[1] if first.count("'") >= 2 else "?"
            raise ConfigError(f"{key} refers to ${{{missing}}}, which is not in the config",
                              f"give {key} a plain value, or keep {missing} in the config (was it removed with "
                              f"~{missing}?)") from None
        fix = f"write a list, e.g. {key}=[a,b]" if "is not a ListConfig" in first else \
            f"give {key} a value of the right type"
        raise ConfigError(f"{key}: {first}", fix) from None
    obj.check()
    return obj


def _has_options(group: str) -> bool:
    """Whether conf/<group>/ holds options to pick (eval_noise, for one, is a block of keys)."""
    from importlib import resources

    return (resources.files("qhybrid.conf") / group).is_dir()


def _keys_of(schema: type, path: str) -> list[str]:
    """The keys of the dataclass at ``path`` (dotted, relative to ``schema``)."""
    for part in filter(None, path.split(".")):
        schema = _group_type(schema, part)
        if schema is None:
            return []
    return [f.name for f in dataclasses.fields(schema)]


def _option_schema(registry, node: Any, shared: type) -> type:
    """The schema an option registers; ``shared`` (the group's) when it brings none."""
    if not isinstance(node, DictConfig) or node.get("name") is None:  # logger=[csv, tensorboard]: no main one
        return shared
    return registry.get(node.get("name"), node.get("module")).schema or shared


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
    path = Path(str(value)).expanduser()
    if not path.is_dir():
        raise ConfigError(f"resume={value}: no such folder ({path.resolve()})",
                          "give the folder of the interrupted run (outputs/<date>/<time>-<id>)")
    if not is_run(path):
        raise ConfigError(f"resume={value}: {path.resolve()} is not a qhybrid run folder (no .qhybrid-run marker)",
                          "give the folder of the interrupted run (outputs/<date>/<time>-<id>)")
    return str(path.resolve())


def _baselines(value: Any) -> list[str]:
    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value)
    for i, name in enumerate(names):
        choice(f"baselines[{i}]", name, BASELINE_NAMES)
    if len(set(names)) != len(names):
        raise ConfigError(f"baselines={names} lists a model twice", "list each baseline once")
    return names


def _eval_shots(value: Any) -> Optional[int]:
    from qhybrid.quantum.spec import MAX_SHOTS  # lazy: as the other quantum settings

    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_SHOTS):
        raise ConfigError(f"eval_shots={value!r} is not a number of shots",
                          f"use null (exact) or a count from 1 to {MAX_SHOTS:,}")
    return value


def _plots(value: Any) -> PlotsSpec:
    """plots=true or false (all figures, as configured, or none), or the plots block."""
    if isinstance(value, bool):
        return PlotsSpec(enabled=value)
    if isinstance(value, DictConfig):
        return _coerce("plots", PlotsSpec, value)
    raise ConfigError(f"plots={value!r} is neither true, false nor a plots block",
                      "use plots=false, or plots.formats=[png,pdf] and plots.dpi=300")


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}={value!r} is not true or false", f"set {key}=true or {key}=false")
    return value


def _repeats(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"repeats={value!r} is not a number of split seeds", "use repeats=1 (one split) or more")
    return value


def _finite_numbers(node: Any, prefix: str = "") -> None:
    """NaN or inf in any setting (trainer.lr=nan) is refused before it reaches torch."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        name = f"{prefix}[{key}]" if isinstance(node, list) else f"{prefix}{'.' if prefix else ''}{key}"
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{name}={value} is not a finite number", f"give {name} a finite value")
        _finite_numbers(value, name)


def _check_memory(spec: RunSpec) -> None:
    # lazy: both load torch, and `qhybrid train --help` imports this module (through qhybrid.preflight)
    from qhybrid.quantum.memory import check_fits

    device = spec.trainer.device
    if device == "auto":
        import torch  # lazy: as above

        device = "cuda" if torch.cuda.is_available() else "cpu"
    check_fits(spec.model.quantum, spec.backend.name, spec.backend.dtype, spec.trainer.batch_size, device,
               spec.backend.strategy, spec.backend.noise.active)
    if spec.eval_noise.active:
        check_fits(spec.model.quantum, "torch", spec.backend.dtype, spec.trainer.batch_size, device, noisy=True,
                   noise_key="eval_noise", backward=False)  # only scored: no backward pass keeps states


def validate(cfg: DictConfig) -> RunSpec:
    """Check the whole composed config. Raises ConfigError on the first problem."""
    _finite_numbers(OmegaConf.to_container(cfg, resolve=False))
    for group in ("model", "backend", "precision", "quantization", "data", "cv", "trainer"):
        if group not in cfg or cfg[group] is None:
            raise ConfigError(f"config group {group!r} is missing", f"pick an option: {group}=<option>")
    seed = cfg.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed={seed!r} is not valid", "use a non-negative integer, e.g. seed=0")
    data_schema = DATA.get(cfg.data.get("name"), cfg.data.get("module")).schema
    cv_schema = CV.get(cfg.cv.get("name"), cfg.cv.get("module")).schema
    spec = RunSpec(
        seed=seed,
        model=_coerce("model", ModelSpec, cfg.model),
        backend=_coerce("backend", _option_schema(BACKENDS, cfg.backend, BackendSpec), cfg.backend),
        precision=_coerce("precision", PrecisionSpec, cfg.precision),
        quantization=_coerce("quantization", QuantizationSpec, cfg.quantization),
        data=_coerce("data", data_schema, cfg.data),
        cv=_coerce("cv", cv_schema, cfg.cv),
        trainer=_coerce("trainer", TrainerSpec, cfg.trainer),
        lora=_coerce("lora", LoRASpec, cfg.get("lora") or OmegaConf.create({})),
        init_from=_init_from(cfg.get("init_from")),
        decision=_coerce("decision", DecisionSpec, cfg.get("decision") or OmegaConf.create({})),
        baselines=_baselines(cfg.get("baselines")),
        plots=_plots(cfg.get("plots", True)),
        task=valid_task(cfg.get("task", "auto")),
        resume=_resume(cfg.get("resume")),
        logger=_coerce("logger", _option_schema(LOGGERS, cfg.get("logger"), LoggerSpec),
                       cfg.get("logger") or OmegaConf.create({})),
        eval_noise=_coerce("eval_noise", EvalNoiseSpec, cfg.get("eval_noise") or OmegaConf.create({})),
        eval_shots=_eval_shots(cfg.get("eval_shots")),
        controls=parse_controls(cfg.get("controls")),
        repeats=_repeats(cfg.get("repeats", 1)),
        search=_coerce("search", SearchSpec, cfg.get("search") or OmegaConf.create({})),
        refit=_flag("refit", cfg.get("refit", False)),
    )
    _check_across_groups(spec)
    asked = cfg.get("controls")
    spec.controls = check_controls(spec, asked_all=asked == "all" or (not isinstance(asked, str) and asked is not None
                                                                     and "all" in list(asked)))
    check_repeats(spec)
    check_search(spec)
    if spec.task != "auto":
        check_task(spec, spec.task, f"task={spec.task}")
    _check_memory(spec)
    return spec


def _check_across_groups(spec: RunSpec) -> None:
    """Settings of different groups that cannot go together."""
    # lazy: compiling loads torch, and `qhybrid train --help` imports this module
    from qhybrid.quantum.programs import program_of

    if spec.lora.quantum_rank and (spec.model.quantum is None or program_of(spec.model.quantum).weight_shape is None):
        raise ConfigError("lora.quantum_rank needs a circuit with trainable weights",
                          "use a model with an ansatz (e.g. model=g6), or lora.quantum_rank=0")
    if spec.refit and spec.search.active:
        raise ConfigError("refit=true with search.budget: each fold tuned settings of its own, and a final model "
                          "would have none of them", "use one: refit=false, or search.budget=0")
    q = spec.model.quantum
    if q is None and (spec.eval_noise.active or spec.eval_shots):
        asked = "eval_noise" if spec.eval_noise.active else f"eval_shots={spec.eval_shots}"
        raise ConfigError(f"{asked} scores a model's circuit under noise or shots, and model={spec.model.name} is "
                          "classical", f"pick a hybrid model (e.g. model=g6), or leave {asked.split('=')[0]} unset")
    if q is None and (spec.backend.noise.active or spec.backend.shots):
        asked = "backend.noise" if spec.backend.noise.active else f"backend.shots={spec.backend.shots}"
        raise ConfigError(f"{asked} acts on a model's circuit, and model={spec.model.name} is classical",
                          f"pick a hybrid model (e.g. model=g6), or leave {asked.split('=')[0]} unset")
    for key, noise in (("backend.noise", spec.backend.noise), ("eval_noise", spec.eval_noise)):
        if q is not None and noise.from_:
            from qhybrid.quantum.calibration import load_calibration  # lazy: as above

            size = len(load_calibration(noise.from_, f"{key}.from").qubits)
            if q.n_qubits > size:
                raise ConfigError(f"{key}.from={noise.from_} has {size} qubit{'s' if size != 1 else ''}, and "
                                  f"model.quantum.n_qubits={q.n_qubits}",
                                  "use a larger device's calibration, or fewer qubits")
        if q is not None and noise.active:
            from qhybrid.quantum.native_density import check_noise_fits  # lazy: as above
            from qhybrid.quantum.noise import NoiseModel

            check_noise_fits(program_of(q), NoiseModel.of(noise, q.n_qubits), key)
    if q is not None and program_of(q).embedding == "amplitude" and spec.backend.diff_method in ("adjoint", "parameter-shift") \
            and not is_native(spec.backend.name):
        raise ConfigError(
            f"amplitude embedding cannot be differentiated with backend.diff_method={spec.backend.diff_method} "
            "(PennyLane differentiates state preparation only by backprop)",
            "use backend=default_qubit (backprop), or embedding=angle")
    series = f"data.time_column={spec.data.time_column}" if getattr(spec.data, "time_column", None) else \
        "data=finance" if isinstance(spec.data, FinanceDataSpec) else None
    forward = CV.get(spec.cv.name).extra.get("forward")
    if series and not forward and not getattr(spec.cv, "allow_shuffle_time_series", False):
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
