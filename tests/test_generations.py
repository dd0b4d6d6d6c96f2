"""Every model generation trains end to end; a generation's defaults lose to the command line."""

from __future__ import annotations

import pytest

from helpers import TINY_CIRCUIT, cuda_available, fast
from qhybrid.run import train

GENERATIONS = [f"g{i}" for i in range(11)]
# each generation with its own settings (its INT8 export too, timed once), on one holdout split
# and without baselines; the hybrids on a 2-qubit circuit of their kind
TINY = ["data=iris", "cv=holdout", *fast(keep=["quantization", "cv.n_splits"]), "quantization.latency_repeats=1"]


@pytest.mark.parametrize("generation", GENERATIONS)
def test_generation_trains_on_iris(generation, tmp_path, compose):
    number = int(generation[1:])
    metrics = train(compose([f"model={generation}", *TINY, *(TINY_CIRCUIT if number >= 1 else [])]), tmp_path / "run")
    assert metrics["model"]["name"] == generation and len(metrics["folds"]) == 1
    assert 0 <= metrics["summary"]["accuracy"]["mean"] <= 1
    checkpoints = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    int8 = number >= 4
    assert len(checkpoints) == (2 if int8 else 1)
    assert (metrics["quantization"]["name"] == "int8") == int8
    # g3+ ask for precision=auto: fp16 autocast where the run is on a CUDA GPU, fp32 elsewhere
    assert metrics["precision"]["name"] == ("amp_fp16" if number >= 3 and cuda_available() else "fp32")
    assert metrics["lora"]["enabled"] == (number >= 2)


def test_generation_features_accumulate(compose):
    g10 = compose(["model=g10"])
    assert g10.lora.enabled and g10.precision.name == "auto" and g10.quantization.name == "int8"
    assert g10.data.imbalance == "class_weights" and g10.trainer.early_stopping.monitor == "val_roc_auc"
    assert g10.backend.name == "auto" and g10.backend.max_retries == 5
    assert compose([]).model.name == "g10"  # the recommended default
    g5 = compose(["model=g5"])
    assert g5.backend.name == "lightning_gpu" and g5.backend.fallbacks == ["torch", "lightning_qubit", "default_qubit"]
    assert g5.model.quantum.gating == "soft" and g5.model.quantum.soft_tau_trainable


@pytest.mark.parametrize("overrides, key, value", [
    (["model=g4", "quantization=none"], "quantization.name", "none"),
    (["model=g9", "trainer.early_stopping.monitor=val_loss"], "trainer.early_stopping.monitor", "val_loss"),
    (["model=g5", "backend=torch"], "backend.name", "torch"),
    (["model=g2", "lora.enabled=false"], "lora.enabled", False),
])
def test_the_command_line_wins(overrides, key, value, compose):
    from omegaconf import OmegaConf

    assert OmegaConf.select(compose(overrides), key) == value
