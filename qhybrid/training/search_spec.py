"""The search block: an equal tuning budget for the hybrid and every baseline
(qhybrid.search). Each search space is a list of dimensions:

    {key: trainer.lr, low: 0.001, high: 0.1, log: true}   # a float (log-uniform with log)
    {key: model.quantum.n_layers, low: 1, high: 4}         # an integer when both ends are
    {key: model.dropout, choices: [0.0, 0.1, 0.2]}         # one of these

The hybrid's keys are the run's config keys (trainer.* and model.*: what can differ between
two models of one backend); a baseline's are its scikit-learn estimator's parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import logging
from dataclasses import replace

from qhybrid.errors import ConfigError, QHybridError
from qhybrid.spec_checks import positive

log = logging.getLogger("qhybrid")

# the hybrid's default space: the optimiser and the model's capacity
HYBRID_SPACE = [
    {"key": "trainer.lr", "low": 1e-3, "high": 1e-1, "log": True},
    {"key": "trainer.weight_decay", "low": 1e-6, "high": 1e-2, "log": True},
    {"key": "model.quantum.n_layers", "low": 1, "high": 4},
]
# each baseline's space: its usual regularisation and capacity (svc's are its SVM's, inside the calibration)
BASELINE_SPACES: dict[str, list[dict[str, Any]]] = {
    "logreg": [{"key": "C", "low": 1e-3, "high": 1e3, "log": True}],
    "svc": [{"key": "estimator__C", "low": 1e-2, "high": 1e3, "log": True},
            {"key": "estimator__gamma", "low": 1e-4, "high": 1e1, "log": True}],
    "mlp": [{"key": "alpha", "low": 1e-6, "high": 1e-1, "log": True},
            {"key": "learning_rate_init", "low": 1e-4, "high": 1e-1, "log": True},
            {"key": "hidden_layer_sizes", "low": 4, "high": 64}],
    "random_forest": [{"key": "max_depth", "low": 2, "high": 16}, {"key": "max_features", "low": 0.1, "high": 1.0}],
    "ridge": [{"key": "alpha", "low": 1e-3, "high": 1e3, "log": True}],
    "svr": [{"key": "C", "low": 1e-2, "high": 1e3, "log": True}, {"key": "gamma", "low": 1e-4, "high": 1e1, "log": True},
            {"key": "epsilon", "low": 1e-3, "high": 1.0, "log": True}],
}
HYBRID_PREFIXES = ("trainer.", "model.")
# keys a fold's search cannot change: the model's identity and inputs, the backend's size, and
# settings the fold's arrays were made with or that do not change the fit
FIXED_KEYS = ("model.name", "model.quantum.n_qubits", "model.quantum.circuit", "model.quantum.observables",
              "model.quantum.weight_shapes", "model.quantum.n_inputs", "model.quantum.separable",
              "model.quantum.embedding", "model.quantum.amplitude_features", "trainer.device", "trainer.max_epochs",
              "trainer.val_fraction", "trainer.threads", "trainer.deterministic", "trainer.epoch_checkpoint_seconds",
              "trainer.log_every_n_epochs", "trainer.class_weights")
# the built-in circuit's keys: a circuit of one's own (model.quantum.circuit) does not read them
BUILTIN_CIRCUIT_KEYS = tuple(f"model.quantum.{k}" for k in (
    "rotation", "gating", "threshold", "soft_alpha", "soft_tau_trainable", "ansatz", "n_layers",
    "entangler_rotation", "reupload"))


@dataclass
class SearchSpec:
    budget: int = 0  # N > 0: N trials for the hybrid and N for each baseline, in each outer fold
    inner_folds: int = 3  # the inner cross-validation on an outer fold's fit rows that scores a trial
    metric: Optional[str] = None  # what a trial is scored by; null: the run's headline (roc_auc; r2)
    hybrid: list[dict[str, Any]] = field(default_factory=lambda: [dict(d) for d in HYBRID_SPACE])

    @property
    def active(self) -> bool:
        return self.budget > 0

    def check(self) -> None:
        positive("search.budget", self.budget, allow_zero=True)
        if self.inner_folds < 2:
            raise ConfigError(f"search.inner_folds={self.inner_folds} is out of range",
                              "use search.inner_folds >= 2 (the study's protocol: 5)")
        for i, dimension in enumerate(self.hybrid):
            check_dimension(f"search.hybrid[{i}]", dimension)
            key = dimension["key"]
            if not key.startswith(HYBRID_PREFIXES) or key in FIXED_KEYS:
                raise ConfigError(f"search.hybrid[{i}].key={key} cannot be tuned per fold",
                                  "tune trainer.* or model.* keys other than " + ", ".join(FIXED_KEYS))


def check_dimension(where: str, dimension: Any) -> None:
    """One dimension: a key and either low/high (with log) or choices."""
    if not isinstance(dimension, dict) or not isinstance(dimension.get("key"), str):
        raise ConfigError(f"{where} is not a dimension", "write {key: trainer.lr, low: 0.001, high: 0.1, log: true}")
    extra = set(dimension) - {"key", "low", "high", "log", "choices"}
    if extra:
        raise ConfigError(f"{where} has unknown fields {sorted(extra)}", "use key, low, high, log or key, choices")
    if "choices" in dimension:
        if not isinstance(dimension["choices"], list) or not dimension["choices"]:
            raise ConfigError(f"{where}.choices is not a list of values", "e.g. choices: [0.0, 0.1, 0.2]")
        return
    low, high = dimension.get("low"), dimension.get("high")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or not low < high:
        raise ConfigError(f"{where}: low={low!r}, high={high!r} is not a range", "give numbers with low < high")
    if dimension.get("log") and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0, got {low}", "raise low above 0, or drop log")


def check_search(spec) -> None:
    """Everything a search needs, before any data is read: Optuna, a metric of the task, keys
    the run has and can change per fold with values their group accepts, splits it can nest in."""
    search = spec.search
    if not search.active:
        return
    try:
        import optuna  # noqa: F401 - only checked here
    except ImportError:
        raise ConfigError("search.budget needs Optuna, which is not installed",
                          "pip install 'qhybrid[tune]' (or pip install optuna)") from None
    _check_fits_the_run(spec)
    search.hybrid = _tunable(spec)
    for i, dimension in enumerate(search.hybrid):
        _check_values(spec, f"search.hybrid[{i}]", dimension)
    if search.metric is not None:
        from qhybrid.training.metrics import METRICS  # lazy: loads scikit-learn

        if search.metric not in METRICS:
            raise ConfigError(f"search.metric={search.metric} is not a metric", f"use one of {', '.join(METRICS)}")


def _check_fits_the_run(spec) -> None:
    from qhybrid.training.cv_spec import CV  # lazy: as the schema's other groups

    if spec.data.imbalance == "smote":
        raise ConfigError("search.budget with data.imbalance=smote would score trials on synthetic rows",
                          "use data.imbalance=class_weights, or search.budget=0")
    if CV.get(spec.cv.name).extra.get("forward") or getattr(spec.data, "time_column", None):
        raise ConfigError("search.budget scores trials by shuffled inner folds, which would train on rows after "
                          "the ones they test in a time series", "use search.budget=0 with time-ordered data")
    if spec.init_from is not None and any(d["key"].startswith("model.") for d in spec.search.hybrid):
        raise ConfigError("search.hybrid tunes model.* keys, which change the shapes init_from's weights load into",
                          "tune trainer.* keys only with init_from")


def _tunable(spec) -> list[dict[str, Any]]:
    """search.hybrid without the default space's keys this model does not read (a classical
    model's circuit, a circuit file's built-in settings), each left out with a line; a key
    named on purpose that the model does not read is refused."""
    q, kept = spec.model.quantum, []
    for i, dimension in enumerate(spec.search.hybrid):
        key = dimension["key"]
        unread = (q is None and key.startswith("model.quantum.")) or \
            (q is not None and q.circuit is not None and key in BUILTIN_CIRCUIT_KEYS)
        if not unread:
            kept.append(dimension)
        elif dimension in HYBRID_SPACE:
            log.info("search: model=%s does not read %s (%s): not tuned", spec.model.name, key,
                     "a classical model" if q is None else "its circuit is model.quantum.circuit")
        else:
            raise ConfigError(f"search.hybrid[{i}].key={key}: model={spec.model.name} does not read it",
                              "tune keys the model reads")
    if not kept:
        raise ConfigError("search.budget is set and search.hybrid has nothing this model reads: the baselines "
                          "would be tuned and the hybrid not", "give search.hybrid a dimension, e.g. trainer.lr")
    return kept


def _check_values(spec, where: str, dimension: dict[str, Any]) -> None:
    """The key is the run's, tunable, a number where a range is given, and every value the
    search can pick (the ends, each choice) is one its group accepts."""
    key = dimension["key"]
    if not key.startswith(HYBRID_PREFIXES) or key in FIXED_KEYS:
        raise ConfigError(f"{where}.key={key} cannot be tuned per fold",
                          "tune trainer.* or model.* keys other than " + ", ".join(FIXED_KEYS))
    node = spec
    for part in key.split("."):
        if node is None or not hasattr(node, part) or part.startswith("_"):
            raise ConfigError(f"{where}.key={key} is not a config key", "name a key `qhybrid train --cfg job` shows")
        node = getattr(node, part)
    if "choices" not in dimension and (isinstance(node, bool) or not isinstance(node, (int, float))):
        raise ConfigError(f"{where}.key={key} holds {node!r}, not a number: a range cannot set it",
                          "give choices: [...] instead of low and high")
    group = key.split(".")[0]
    for value in dimension.get("choices") or (dimension["low"], dimension["high"]):
        try:
            getattr(set_key(spec, key.split("."), value), group).check()
        except QHybridError as err:
            raise ConfigError(f"{where}: {key}={value!r} is not a value it takes ({err.problem})",
                              "keep the range within the values the key accepts") from None


def set_key(node, path: list[str], value):
    """``node`` (a spec of nested dataclasses) with the key at ``path`` set to ``value``."""
    if len(path) == 1:
        return replace(node, **{path[0]: value})
    return replace(node, **{path[0]: set_key(getattr(node, path[0]), path[1:], value)})
