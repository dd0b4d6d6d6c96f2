"""Every model generation trains end to end; a generation's defaults lose to the command line."""

from __future__ import annotations

import pytest

from qhybrid.run import train

GENERATIONS = [f"g{i}" for i in range(11)]
TINY = ["data=iris", "trainer.max_epochs=2", "quantization.latency_repeats=3"]


@pytest.mark.parametrize("generation", GENERATIONS)
def test_generation_trains_on_iris(generation, tmp_path, compose):
    metrics = train(compose([f"model={generation}", *TINY]), tmp_path / "run")
    assert metrics["model"]["name"] == generation and len(metrics["folds"]) == 5
    assert 0 <= metrics["summary"]["accuracy"]["mean"] <= 1
    checkpoints = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    int8 = int(generation[1:]) >= 4
    assert len(checkpoints) == (10 if int8 else 5)
    assert (metrics["quantization"]["name"] == "int8") == int8
    assert metrics["precision"]["name"] == "fp32"  # g3+ ask for auto: fp16 autocast on CUDA only
    assert metrics["lora"]["enabled"] == (int(generation[1:]) >= 2)


def test_generation_features_accumulate(compose):
    g10 = compose(["model=g10"])
    assert g10.lora.enabled and g10.precision.name == "auto" and g10.quantization.name == "int8"
    assert g10.data.imbalance == "class_weights" and g10.trainer.early_stopping.monitor == "val_roc_auc"
    assert g10.backend.name == "auto" and g10.backend.max_retries == 5
    assert compose([]).model.name == "g10"  # the recommended default
    g5 = compose(["model=g5"])
    assert g5.backend.name == "lightning_gpu" and g5.backend.fallbacks == ["lightning_qubit", "default_qubit"]
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
