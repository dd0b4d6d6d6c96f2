"""LoRA (classical and quantum), fine-tuning with init_from, and mixed precision."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from helpers import FAST, TINY_CIRCUIT, one_line
from torch import nn

from qhybrid.models.lora import LoRALinear, apply_lora, freeze_base, merge_lora, parameter_counts, plain_state_dict
from qhybrid.schema import QuantumSpec


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))


def _perturb_adapters(model: nn.Module) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.normal_(0, 0.3)


class TestClassicalLoRA:
    def test_adapted_model_starts_where_the_base_was(self):
        base = _mlp()
        adapted = copy.deepcopy(base)
        assert apply_lora(adapted, ["all"], rank=2, alpha=4.0) == ["0", "2"]
        x = torch.randn(7, 5)
        torch.testing.assert_close(adapted(x), base(x))

    def test_merged_export_equals_the_adapted_model(self):
        model = _mlp()
        apply_lora(model, ["2"], rank=2, alpha=4.0)
        _perturb_adapters(model)
        x = torch.randn(11, 5)
        expected = model(x)
        plain = _mlp()
        plain.load_state_dict(plain_state_dict(model))  # the checkpoint's form
        torch.testing.assert_close(plain(x), expected, rtol=1e-5, atol=1e-6)
        merged = merge_lora(model)
        assert not any(isinstance(m, LoRALinear) for m in merged.modules())
        torch.testing.assert_close(merged(x), expected, rtol=1e-5, atol=1e-6)

    def test_targets_that_match_nothing_are_an_error(self):
        with pytest.raises(ValueError, match="match no Linear layer"):
            apply_lora(_mlp(), ["encoder"], rank=2, alpha=4.0)

    def test_a_frozen_base_fine_tune_changes_only_the_adapters(self):
        model = _mlp()
        apply_lora(model, ["all"], rank=2, alpha=4.0)
        freeze_base(model)
        counts = parameter_counts(model)
        assert counts["trainable"] == 2 * (5 + 8) + 2 * (8 + 3) and counts["total"] == counts["trainable"] + 75
        before = {k: v.clone() for k, v in model.state_dict().items()}
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1)
        for _ in range(3):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(torch.randn(16, 5)), torch.randint(0, 3, (16,))).backward()
            optimizer.step()
        after = model.state_dict()
        changed = {k for k in before if not torch.equal(before[k], after[k])}
        assert changed == {k for k in before if "lora_" in k}


class TestQuantumLoRA:
    def _layer(self):
        from qhybrid.quantum.layer import QuantumLayer
        from qhybrid.quantum.native import NativeExecutor

        torch.manual_seed(1)
        return QuantumLayer(QuantumSpec(n_qubits=3, n_layers=2), lambda program, cols: NativeExecutor(program))

    def test_gradients_reach_only_the_low_rank_factors(self):
        layer = self._layer()
        x = torch.randn(6, 3, dtype=torch.float64)
        expected = layer(x)
        layer.add_lora(rank=2, alpha=2.0)
        layer.weights.requires_grad_(False)
        out = layer(x)
        torch.testing.assert_close(out, expected)  # U starts at zero
        out.sum().backward()
        assert layer.weights.grad is None
        assert layer.lora_u.grad is not None and layer.lora_u.grad.abs().sum() > 0
        assert layer.lora_u.shape == (2, 2) and layer.lora_v.shape == (2, 3 * 3)

    def test_merged_circuit_equals_the_adapted_one(self):
        layer = self._layer()
        layer.add_lora(rank=2, alpha=2.0)
        with torch.no_grad():
            layer.lora_u.normal_(0, 0.5)
        x = torch.randn(6, 3, dtype=torch.float64)
        plain = self._layer()
        state = plain_state_dict(layer)
        assert set(state) == set(plain.state_dict())
        plain.load_state_dict(state)
        torch.testing.assert_close(plain(x), layer(x))


class TestPrecision:
    def test_bf16_autocast_leaves_the_quantum_layer_in_its_dtype(self, compose):
        from qhybrid.build import build_backend, build_run_model
        from qhybrid.schema import validate
        from qhybrid.training.precision import resolve_precision

        spec = validate(compose(["model=g3", "precision=amp_bf16"]))
        model, _ = build_run_model(spec, 4, 3, build_backend(spec))
        seen = {}
        model.encoder.register_forward_hook(lambda m, i, o: seen.__setitem__("encoder", o.dtype))
        model.quantum.executor.register_forward_hook(lambda m, i, o: seen.__setitem__("quantum", o.dtype))
        model.head.register_forward_hook(lambda m, i, o: seen.__setitem__("head", o.dtype))
        precision = resolve_precision(spec.precision.name, "cpu")
        with precision.autocast():
            model(torch.randn(8, 4))
        assert seen == {"encoder": torch.bfloat16, "quantum": torch.float64, "head": torch.bfloat16}

    def test_auto_on_a_cpu_falls_back_to_fp32_with_a_warning(self, caplog):
        from qhybrid.training.precision import resolve_precision

        resolved = resolve_precision("auto", "cpu")
        assert resolved.dtype is None and resolved.name == "fp32"
        assert "float16 autocast needs CUDA" in caplog.text

    def test_fp16_on_a_cpu_is_one_clear_error(self, cli):
        result = cli(["train", "model=g0", "precision=amp_fp16", "trainer.device=cpu", *FAST])
        assert result.returncode == 2
        one_line(result, "precision=amp_fp16 needs a CUDA device")

    def test_the_command_line_beats_the_generation(self, compose):
        assert compose(["model=g3"]).precision.name == "auto"
        assert compose(["model=g3", "precision=fp32"]).precision.name == "fp32"
        assert compose(["model=g3", "lora.rank=2"]).lora.rank == 2 and compose(["model=g3"]).lora.enabled


def test_fine_tune_with_frozen_base_and_new_classes(tmp_path, cli):
    source = tmp_path / "source"
    result = cli(["train", "model=g2", "data=iris", *FAST, *TINY_CIRCUIT, f"hydra.run.dir={source}"])
    assert result.returncode == 0, result.stderr
    tuned = tmp_path / "tuned"
    result = cli(["train", "model=g2", "data=iris_binary", *FAST, *TINY_CIRCUIT, f"init_from={source}",
                  "lora.freeze_base=true", f"hydra.run.dir={tuned}"])
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tuned / "metrics.json").read_text())
    counts = metrics["parameters"]
    # frozen: encoder and head bases; trainable: every adapter plus the re-initialised head (2 classes now)
    assert 0 < counts["trainable"] < counts["total"]
    log = (tuned / "train.log").read_text()
    assert "head.weight has another shape here" in log and f"{counts['trainable']} trainable" in log
    assert metrics["init_from"] == str(source)


def test_fine_tune_on_other_features_names_them(tmp_path, cli):
    source = tmp_path / "source"
    assert cli(["train", "model=g0", "data=iris", *FAST, f"hydra.run.dir={source}"]).returncode == 0
    result = cli(["train", "model=g0", "data=breast_cancer", *FAST, f"init_from={source}"])
    assert result.returncode == 2
    one_line(result, "was trained on 4 features (sepal length (cm)", "mean radius")
