"""One fold of a run, in the order it happens (qhybrid.fold has the steps): its arrays, the
search when search.budget asks for one (qhybrid.search: every model's settings chosen on the
fit rows alone, the same number of trials each), the hybrid's fit, its scores and checkpoint,
then the baselines and the controls on exactly the same rows."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from qhybrid import io, search
from qhybrid.comparisons import headline
from qhybrid.errors import QHybridError
from qhybrid.fold import (FoldArrays, FoldContext, Quiet, balanced, fit_baseline, fit_control, fit_model, for_spec,
                          prepare_arrays, score_and_checkpoint)
from qhybrid.training import baselines as classical
from qhybrid.training import engine
from qhybrid.training.cv import Fold, split_validation
from qhybrid.training.metrics import fold_metrics, metric_names
from qhybrid.training.outcome import FoldOutcome
from qhybrid.training.seeding import fold_generator, fold_seed

log = logging.getLogger("qhybrid")


def run_fold(ctx: FoldContext, fold: Fold, backend, checkpoint) -> FoldOutcome:
    spec, data = ctx.spec, ctx.data
    arrays = prepare_arrays(spec, data, fold)
    tuned = search_fold(ctx, fold, arrays, backend) if spec.search.active else {}
    hybrid = settled(ctx, tuned.get("hybrid"))
    generator = fold_generator(spec.seed, fold.index)  # after the search's trials: the fit starts from the fold's seed
    model, result = fit_model(hybrid, fold, arrays, backend, checkpoint, generator)
    row, curves, predictions, daily = score_and_checkpoint(hybrid, fold, arrays, model, result, backend)
    comparators = {name: fit_baseline(spec, data, fold, arrays, name,
                                      search.baseline_params(tuned[name]["params"]) if name in tuned else None)
                   for name in spec.baselines}
    comparators.update({name: fit_control(settled(ctx, tuned.get(name)), fold, arrays, name, backend)
                        for name in spec.controls})
    if tuned:  # the fold's model has the tuned settings' size (n_layers moves it)
        row["tuned"] = {**tuned["hybrid"], "n_parameters": sum(p.numel() for p in model.parameters())}
        for name in [*spec.baselines, *spec.controls]:
            comparators[name][0]["tuned"] = tuned[name]
    return FoldOutcome(row, curves, predictions, daily, comparators)


def settled(ctx: FoldContext, tuned: Optional[dict]) -> FoldContext:
    """The context of a model trained with a trial's settings (the run's without a search);
    its checkpoints hold the settings it was trained with."""
    if tuned is None:
        return ctx
    return replace(for_spec(ctx, search.with_settings(ctx.spec, tuned["params"])),
                   config=search.settled_config(ctx.config, tuned["params"]))


def search_fold(ctx: FoldContext, fold: Fold, arrays: FoldArrays, backend) -> dict[str, Any]:
    """Each model's best settings on this fold, by search.budget trials each on the same inner
    folds; kept in folds/fold_<k>.search.json, so a resumed fold trains with the settings its
    interrupted run chose (and does not search again)."""
    spec, path = ctx.spec, _search_path(ctx.out, fold.index)
    if path.is_file():
        log.info("fold %d: the search's settings from before the interruption", fold.index)
        return json.loads(path.read_text())
    splits = search.inner_splits(spec, arrays.y_fit, ctx.data.regression, fold.index)
    names = [spec.model.name, *spec.controls, *spec.baselines]
    log.info("fold %d: search: %d trials each for %s, scored by %d-fold CV on the fold's %d fit rows",
             fold.index, spec.search.budget, ", ".join(names), len(splits), len(arrays.y_fit))
    tuned = {"hybrid": tune_model(ctx, fold, arrays, backend, splits, None)}
    tuned.update({name: tune_model(ctx, fold, arrays, backend, splits, name) for name in spec.controls})
    tuned.update({name: tune_baseline(ctx, fold, arrays, name, splits) for name in spec.baselines})
    log.info("fold %d: tuned %s", fold.index, "; ".join(
        f"{spec.model.name if name == 'hybrid' else name} {search.shown(t['params'])}" for name, t in tuned.items()))
    io.write_json(path, tuned)
    return tuned


def _search_path(out: Path, fold: int) -> Path:
    return out / "folds" / f"fold_{fold}.search.json"


def _metric(ctx: FoldContext) -> str:
    """What a trial is scored by: search.metric, or the headline metric of the comparisons."""
    return ctx.spec.search.metric or headline(list(metric_names(ctx.data.n_classes, ctx.data.regression)))


def _inner_arrays(ctx: FoldContext, arrays: FoldArrays, train: np.ndarray, test: np.ndarray, seed: int) -> FoldArrays:
    """An inner fold as a fold's arrays: its train rows less a validation carve (early
    stopping watches it, as in the outer fold), its test rows; targets in the fold's units."""
    spec, target = ctx.spec, arrays.target
    labels = None if ctx.data.regression else arrays.y_fit
    fit, val = split_validation(train, labels, spec.trainer.val_fraction, seed=seed)

    def units(rows: np.ndarray) -> np.ndarray:
        return arrays.y_fit[rows] if target is None else target.inverse(arrays.y_fit[rows])

    X = arrays.X_fit
    return FoldArrays(fit, val, X[fit], arrays.y_fit[fit], X[val], units(val), X[test], units(test), None, target)


def tune_model(ctx: FoldContext, fold: Fold, arrays: FoldArrays, backend, splits, control: Optional[str]):
    """The hybrid's (or control ``control``'s) best settings by ``search.budget`` trials on the
    inner folds. Every trial fit starts from the fold's seed and, under shots, its own copy of
    the fold's shot stream (the final fit's is untouched); one that diverges loses."""
    spec, metric = ctx.spec, _metric(ctx)
    inner = [_inner_arrays(ctx, arrays, tr, te, fold_seed(spec.seed, fold.index) % (2**31) + j)
             for j, (tr, te) in enumerate(splits)]

    def fit_score(trial: FoldContext, sub: FoldArrays) -> float:
        trial_backend = backend.for_fold(fold.index) if backend is not None else None
        try:
            model, _ = fit_model(trial, fold, sub, trial_backend, None, fold_generator(spec.seed, fold.index))
        except QHybridError:  # training diverged with these settings
            return float("nan")
        X = torch.as_tensor(sub.X_test, dtype=torch.float32, device=ctx.device)
        outputs = engine.predict_outputs(model, X, ctx.precision, sub.target)
        return fold_metrics(sub.y_test, outputs, ctx.data.n_classes, ctx.data.regression)[metric]

    def score(params: dict[str, Any]) -> float:
        trial = replace(for_spec(ctx, search.with_settings(spec, params)), progress=Quiet())
        if control is not None:
            trial = replace(trial, make_model=lambda b, made=trial.make_control: made(control, b))
        values = [fit_score(trial, sub) for sub in inner]
        return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")

    return search.tune(spec.search.hybrid, score, spec.search.budget, metric, fold_seed(spec.seed, fold.index))


def tune_baseline(ctx: FoldContext, fold: Fold, arrays: FoldArrays, name: str, splits) -> dict[str, Any]:
    """A baseline's best settings by as many trials as the hybrid's, on the same inner folds."""
    spec, data, X, y = ctx.spec, ctx.data, arrays.X_fit, arrays.y_fit
    seed = fold_seed(spec.seed, fold.index) % (2**31)

    def outputs(params: dict, train: np.ndarray, test: np.ndarray) -> Optional[np.ndarray]:
        try:
            if data.regression:
                return classical.fit_predict_values(name, X[train], y[train], [X[test]], seed, params)[0][0]
            return classical.fit_predict(name, X[train], y[train], [X[test]], data.n_classes, seed, balanced(spec),
                                         params)[0][0]
        except classical.BaselineError:  # these settings cannot fit: the trial loses
            return None

    metric = _metric(ctx)
    score = search.score_baseline(outputs, splits, y, data.n_classes, data.regression, metric)
    return search.tune(search.space_of(name), score, spec.search.budget, metric, seed)
