"""search.budget=N: the same number of Optuna trials for the hybrid, each control and each
baseline, inside each outer fold, so that a comparison cannot be won by tuning one side only.

A trial is scored by an inner cross-validation on the outer fold's fit rows (as the fold
prepared them: its scaler, fitted on those rows), never its validation or test rows; the
inner folds are the same for every model. The fold then trains each model on all its fit rows
with its best trial's settings and scores it on the fold's test rows as without a search.
Trials run in a seeded TPE sampler, one per fold and model. The controls search the hybrid's
space (search.hybrid), each for itself: a control run at the hybrid's settings would be
compared at settings chosen for the hybrid.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Callable, Optional

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from qhybrid.errors import DataError
from qhybrid.training.metrics import fold_metrics, lower_is_better
from qhybrid.training.search_spec import BASELINE_SPACES, set_key
from qhybrid.training.seeding import fold_seed

log = logging.getLogger("qhybrid")


def with_settings(spec, params: dict[str, Any]):
    """The run's spec with ``params`` (dotted keys) set."""
    for key, value in params.items():
        spec = set_key(spec, key.split("."), value)
    return spec


def inner_splits(spec, y_fit: np.ndarray, regression: bool, fold: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The inner folds on a fold's fit rows: the same for the hybrid and every baseline."""
    k, seed = spec.search.inner_folds, fold_seed(spec.seed, fold) % (2**31)
    if regression:
        return list(KFold(k, shuffle=True, random_state=seed).split(y_fit))
    check_inner_folds(spec, y_fit, fold)
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y_fit)), y_fit))


def check_inner_folds(spec, y_fit: np.ndarray, fold: int) -> None:
    """Stratified inner folds need as many fit rows of each class as there are inner folds
    (checked for every fold before the first trains; regression needs one row per fold)."""
    k = spec.search.inner_folds
    counts = np.bincount(y_fit)
    smallest = int(counts[counts > 0].min()) if len(y_fit) else 0
    if smallest < k:
        fix = (f"lower search.inner_folds to at most {smallest}" if smallest >= 2 else
               "collect more rows of the rarest class")
        raise DataError(f"search.inner_folds={k}: fold {fold}'s fit rows hold only {smallest} rows of a class, fewer "
                        "than the inner folds", f"{fix}, or use fewer outer folds (more fit rows each)")


def tune(space: list[dict[str, Any]], score: Callable[[dict[str, Any]], float], budget: int, metric: str,
         seed: int) -> dict[str, Any]:
    """The best of ``budget`` trials: {params, score, trials}. ``score(params)`` is a trial's
    mean inner-fold metric (NaN where undefined: the trial counts, and loses)."""
    import optuna  # lazy: an optional dependency, checked in check_search

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = "minimize" if lower_is_better(metric) else "maximize"
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials(budget))
    study = optuna.create_study(direction=direction, sampler=sampler)
    worst = float("inf") if direction == "minimize" else float("-inf")

    def objective(trial) -> float:
        value = score({d["key"]: _suggest(trial, d) for d in space})
        return worst if not np.isfinite(value) else value

    study.optimize(objective, n_trials=budget)
    return {"params": dict(study.best_params), "score": study.best_value, "trials": len(study.trials)}


def startup_trials(budget: int) -> int:
    """Random trials before TPE models the scores: Optuna's 10 would leave a budget of 10 all
    random; half the budget (at least 2) lets the rest be guided."""
    return min(10, max(2, budget // 2))


def settled_config(config: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The run's config with a trial's settings: what a fold's model was trained with (its
    checkpoint's config, which predict rebuilds the model from; no search left to run)."""
    settled = copy.deepcopy(config)
    for key, value in params.items():
        *parents, leaf = key.split(".")
        node = settled
        for part in parents:
            node = node[part]
        node[leaf] = value
    settled.setdefault("search", {})["budget"] = 0
    return settled


def _suggest(trial, dimension: dict[str, Any]):
    key = dimension["key"]
    if "choices" in dimension:
        return trial.suggest_categorical(key, list(dimension["choices"]))
    low, high, log_scale = dimension["low"], dimension["high"], bool(dimension.get("log", False))
    if isinstance(low, int) and isinstance(high, int):
        return trial.suggest_int(key, low, high, log=log_scale)
    return trial.suggest_float(key, float(low), float(high), log=log_scale)


def baseline_params(params: dict[str, Any]) -> dict[str, Any]:
    """A trial's values as the estimator's parameters (a width is a one-layer tuple)."""
    return {k: (v,) if k == "hidden_layer_sizes" else v for k, v in params.items()}


def score_baseline(fit_scores: Callable[[dict, np.ndarray, np.ndarray], Optional[np.ndarray]], splits, y_fit: np.ndarray,
                   n_classes: int, regression: bool, metric: str) -> Callable[[dict[str, Any]], float]:
    """A baseline trial's score: its mean ``metric`` over the inner folds; ``fit_scores(params,
    train rows, test rows)`` its outputs on the test rows."""
    def score(params: dict[str, Any]) -> float:
        values = []
        for tr, te in splits:
            outputs = fit_scores(baseline_params(params), tr, te)  # None: these settings could not fit
            values.append(float("nan") if outputs is None else
                          fold_metrics(y_fit[te], outputs, n_classes, regression)[metric])
        return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")

    return score


def shown(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def space_of(name: str) -> list[dict[str, Any]]:
    return BASELINE_SPACES[name]


def search_record(spec, baselines: list[str], metric: str) -> dict[str, Any]:
    """metrics.json's "search": the budget and what each model was tuned over (each fold's
    choice is in its fold row, "tuned")."""
    spaces = {"hybrid": spec.search.hybrid, **{c: spec.search.hybrid for c in spec.controls},
              **{b: space_of(b) for b in baselines}}
    return {"budget": spec.search.budget, "inner_folds": spec.search.inner_folds, "metric": metric,
            "sampler": f"Optuna TPE seeded per fold and model, after {startup_trials(spec.search.budget)} random "
                       "trials", "spaces": spaces}
