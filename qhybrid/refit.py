"""refit=true: after cross-validation, one final model trained on every row (a fixed test
set's rows excepted) for the epochs the folds chose (the median of their best epochs), saved
as checkpoints/final.pt, which ``qhybrid predict`` then uses by default.

The folds' scores are the estimate of how well this model does: it has no rows of its own
left to be tested on, and metrics.json says so. Each fold's model is trained on about
(k-1)/k of the rows; the final one on all of them, as a deployed model would be.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from qhybrid.data.dataset import Dataset
from qhybrid.errors import first_line
from qhybrid.in_memory import fit_arrays
from qhybrid.summary import data_files
from qhybrid.training.checkpoints import save_checkpoint

log = logging.getLogger("qhybrid")

FINAL = "final"  # checkpoints/final.pt; predict's checkpoint=final


def refit_final(spec, data: Dataset, rows: list[dict[str, Any]], config: dict, out, builders=None) -> dict[str, Any]:
    """Train and save the final model; metrics.json's "final" record. A failure is a warning
    and the record says so: the cross-validation's results are written whatever happens here."""
    try:
        return _refit(spec, data, rows, config, out, builders)
    except Exception as err:  # noqa: BLE001 - the folds' results are worth more than the final model
        log.warning("refit: the final model could not be trained (%s); the cross-validation's results stand",
                    first_line(err, 200, typed=True))
        return {"error": first_line(err, 300, typed=True)}


def _refit(spec, data: Dataset, rows: list[dict[str, Any]], config: dict, out, builders) -> dict[str, Any]:
    started = time.perf_counter()
    epochs = max(1, int(round(float(np.median([r["best_epoch"] for r in rows])))))
    stopping = replace(spec.trainer.early_stopping, enabled=False)
    trainer = replace(spec.trainer, max_epochs=epochs, val_fraction=0.0, early_stopping=stopping)
    rows_used = _training_rows(data)
    fitted = fit_arrays(replace(spec, trainer=trainer), rows_used, builders)
    thresholds = [r["decision_threshold"] for r in rows if r.get("decision_threshold") is not None]
    threshold = float(np.median(thresholds)) if thresholds else None
    save_checkpoint(out / "checkpoints" / f"{FINAL}.pt", state_dict=fitted.model.state_dict(),
                    model_spec=OmegaConf.to_container(OmegaConf.structured(spec.model)),
                    preprocessor=fitted.preprocessor, classes=data.classes, feature_names=data.feature_names,
                    config=config, fold=-1, best_epoch=epochs, decision_threshold=threshold,
                    data_files=data_files(spec.data), task=data.task,
                    target_scaling=fitted.target.state_dict() if fitted.target is not None else None)
    seconds = time.perf_counter() - started
    log.info("refit: a final model on all %d rows for %d epochs (the folds' median best epoch), %.1fs: "
             "checkpoints/%s.pt, which qhybrid predict uses", rows_used.n_samples, epochs, seconds, FINAL)
    return {"checkpoint": f"checkpoints/{FINAL}.pt", "epochs": epochs, "n_rows": rows_used.n_samples,
            "fold_best_epochs": [r["best_epoch"] for r in rows], "decision_threshold": threshold,
            "train_seconds": seconds,
            "note": "trained on every row: it has no test rows of its own; the folds' scores estimate its quality"}


def _training_rows(data: Dataset) -> Dataset:
    """Every row but a fixed test set's (data.test_path: never trained on)."""
    if data.fixed_test is None:
        return data
    keep = np.setdiff1d(np.arange(data.n_samples), data.fixed_test)
    return replace(data, X=data.X[keep], y=data.y[keep], fixed_test=None,
                   meta=data.meta.iloc[keep] if data.meta is not None else None,
                   fit_mask=data.fit_mask[keep] if data.fit_mask is not None else None)
