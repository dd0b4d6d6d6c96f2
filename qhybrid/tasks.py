"""The run's settings against its task (classification or regression).

A setting given for the other task is refused with one line when it cannot mean anything here
(a regression loss for classes, a decision threshold or class weights for a regression
target): with ``task`` set explicitly this happens before any data is read, with ``task=auto``
as soon as the data shows the task. Settings that the defaults and the generation presets bring
for classes (g8's class weights, g9's early stopping on val_roc_auc, the stratified k-fold
default, the classifier baselines) are switched to their regression counterparts with one log
line each, so ``qhybrid train data=diabetes`` runs with qhybrid's defaults.
"""

from __future__ import annotations

import dataclasses
import logging

from qhybrid.errors import ConfigError
from qhybrid.training.baselines import baselines_for
from qhybrid.training.cv_spec import KFoldSpec
from qhybrid.training.metrics import BINARY_EXTRAS, BINARY_ONLY_MONITORS, is_regression_metric
from qhybrid.training.spec import LOSSES

log = logging.getLogger("qhybrid")


def check_task(spec, task: str, source: str = "") -> None:
    """Refuse what ``task`` ("classification" or "regression") cannot do; ``source`` says where
    the task came from (e.g. "data=diabetes has a continuous target")."""
    why = f" ({source})" if source else ""
    regression = task == "regression"
    loss = spec.trainer.loss
    if loss != "auto" and LOSSES.get(loss).extra["regression"] != regression:
        fits = ", ".join(o.name for o in LOSSES.options() if o.extra["regression"] == regression)
        raise ConfigError(f"trainer.loss={loss} is a {'classification' if regression else 'regression'} loss, and "
                          f"this run is {task}{why}", f"use trainer.loss=auto or one of {fits}")
    monitor = spec.trainer.early_stopping.monitor
    if not regression and is_regression_metric(monitor):
        raise ConfigError(f"trainer.early_stopping.monitor={monitor} is a regression metric, and this run is "
                          f"classification{why}", "monitor val_loss or a classification metric, e.g. val_roc_auc")
    metric = spec.search.metric if spec.search.active else None
    if metric is not None and is_regression_metric(metric) != regression:
        fits = "r2, rmse or mae" if regression else "roc_auc, accuracy, f1, log_loss or another classification metric"
        raise ConfigError(f"search.metric={metric} is a {'classification' if regression else 'regression'} metric, "
                          f"and this run is {task}{why}", f"score the trials by {fits}")
    if not regression:
        return
    if spec.decision.threshold != "argmax":
        raise ConfigError(f"decision.threshold={spec.decision.threshold} turns class probabilities into classes, "
                          f"and this run is regression{why}", "drop it (decision.threshold=argmax)")
    if spec.trainer.class_weights is not None:
        raise ConfigError(f"trainer.class_weights={spec.trainer.class_weights} weights classes, and this run is "
                          f"regression{why}", "drop it (trainer.class_weights=null)")


def for_task(spec, data):
    """The run's spec for the data's task: refused settings raise, switched ones are logged."""
    if not data.regression:
        _check_classes(spec, data)
        return dataclasses.replace(spec, baselines=baselines_for(spec.baselines, "classification"))
    check_task(spec, "regression", f"data={data.name} has a continuous target")
    if getattr(spec.data, "positive_class", None) is not None:
        raise ConfigError(f"data.positive_class={spec.data.positive_class} names a class, and data={data.name} has "
                          "a continuous target (regression)", "drop it (data.positive_class=null)")
    trainer, data_spec, cv = spec.trainer, spec.data, spec.cv
    stopping = trainer.early_stopping
    if stopping.monitor != "val_loss" and not is_regression_metric(stopping.monitor):
        log.info("trainer.early_stopping.monitor=%s is a classification metric: this regression run monitors "
                 "val_loss (or choose val_r2, val_rmse, val_mae)", stopping.monitor)
        trainer = dataclasses.replace(trainer, early_stopping=dataclasses.replace(stopping, monitor="val_loss",
                                                                                  mode="auto"))
    if data_spec.imbalance != "none":
        log.info("data.imbalance=%s balances classes, and a regression target has none: not applied",
                 data_spec.imbalance)
        data_spec = dataclasses.replace(data_spec, imbalance="none")
    if cv.name == "stratified_kfold":
        log.info("cv=stratified_kfold stratifies by class, and a regression target has none: plain k-fold (cv=kfold) "
                 "with the same %d splits%s", cv.n_splits, f", shuffled with seed {cv.seed}" if cv.shuffle else "")
        cv = KFoldSpec(n_splits=cv.n_splits, shuffle=cv.shuffle, seed=cv.seed,
                       allow_shuffle_time_series=cv.allow_shuffle_time_series)
    return dataclasses.replace(spec, trainer=trainer, data=data_spec, cv=cv,
                               baselines=baselines_for(spec.baselines, "regression"))


def _check_classes(spec, data) -> None:
    check_task(spec, "classification", f"data={data.name} has classes")
    monitor = spec.trainer.early_stopping.monitor
    if data.task != "binary" and monitor in BINARY_ONLY_MONITORS:
        raise ConfigError(f"trainer.early_stopping.monitor={monitor} is defined for binary tasks only, "
                          f"but {data.name} has {data.n_classes} classes", "monitor val_loss or val_roc_auc")
    metric = spec.search.metric if spec.search.active else None
    if data.task != "binary" and metric in BINARY_EXTRAS:
        raise ConfigError(f"search.metric={metric} is defined for binary tasks only, but {data.name} has "
                          f"{data.n_classes} classes", "score the trials by roc_auc, accuracy, f1 or log_loss")
    if data.task != "binary" and spec.decision.threshold != "argmax":
        raise ConfigError(f"decision.threshold={spec.decision.threshold} is defined for binary tasks only, but "
                          f"{data.name} has {data.n_classes} classes", "use decision.threshold=argmax")
