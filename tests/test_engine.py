"""The training loop: early stopping, best-weight restore, seeding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from qhybrid.models.hybrid import build_hybrid_net
from qhybrid.schema import EarlyStoppingSpec, SchedulerSpec, TrainerSpec
from qhybrid.build import build_fit_parts
from qhybrid.training.engine import EarlyStopping, fit, predict_logits


class TestEarlyStopping:
    def test_min_mode_with_patience_and_delta(self):
        model = nn.Linear(1, 1)
        es = EarlyStopping("min", patience=2, min_delta=0.1)
        assert es.step(1.0, 1, model)
        assert not es.step(0.95, 2, model)  # not better by more than min_delta
        assert not es.should_stop
        assert not es.step(0.99, 3, model)
        assert es.should_stop and es.best_epoch == 1 and es.best_score == 1.0

    def test_max_mode(self):
        model = nn.Linear(1, 1)
        es = EarlyStopping("max", patience=1)
        es.step(0.5, 1, model)
        assert es.step(0.7, 2, model) and es.best_epoch == 2

    def test_restore_brings_back_the_best_weights(self):
        model = nn.Linear(2, 1)
        es = EarlyStopping("min", patience=5)
        es.step(0.1, 1, model)
        best = {k: v.clone() for k, v in model.state_dict().items()}
        with torch.no_grad():
            model.weight.add_(1.0)
        es.step(0.2, 2, model)
        es.restore(model)
        for k, v in model.state_dict().items():
            assert torch.equal(v, best[k])


def _noisy_problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = (X[:, 0] + rng.normal(scale=1.5, size=120) > 0).astype(np.int64)  # noisy: overfits quickly
    t = lambda a: torch.as_tensor(a)
    return t(X[:80]), t(y[:80]), t(X[80:]), t(y[80:])


def test_fit_restores_the_best_epochs_weights():
    X, y, Xv, yv = _noisy_problem()
    torch.manual_seed(0)
    model = build_hybrid_net(6, 2, hidden_dims=(64,), activation_threshold=0.0)
    spec = TrainerSpec(max_epochs=300, batch_size=8, lr=0.05, weight_decay=0.0, grad_clip=None,
                       early_stopping=EarlyStoppingSpec(patience=15), scheduler=SchedulerSpec(name="none"))
    result = fit(model, X, y, Xv, yv, spec, build_fit_parts(model, spec), n_classes=2, generator=torch.Generator().manual_seed(0))
    history = {h["epoch"]: h["val_loss"] for h in result.history}
    last = result.history[-1]["epoch"]
    assert result.stopped_early and result.best_epoch < last
    assert history[result.best_epoch] == min(history.values())
    assert history[last] != pytest.approx(history[result.best_epoch])
    # the model in hand is the best epoch's model, not the last one
    loss_now = float(nn.functional.cross_entropy(predict_logits(model, Xv), yv))
    assert loss_now == pytest.approx(history[result.best_epoch], rel=1e-6)


def test_early_stopping_on_a_validation_metric():
    X, y, Xv, yv = _noisy_problem(1)
    torch.manual_seed(0)
    model = build_hybrid_net(6, 2)
    spec = TrainerSpec(max_epochs=40, early_stopping=EarlyStoppingSpec(monitor="val_roc_auc", patience=5))
    result = fit(model, X, y, Xv, yv, spec, build_fit_parts(model, spec), n_classes=2, generator=torch.Generator().manual_seed(0))
    scores = [h["val_roc_auc"] for h in result.history]
    assert result.best_score == max(scores)


def test_same_seed_same_result_different_seed_different_result():
    X, y, Xv, yv = _noisy_problem(2)

    def once(seed):
        torch.manual_seed(seed)
        model = build_hybrid_net(6, 2, dropout=0.2)
        spec = TrainerSpec(max_epochs=5)
        fit(model, X, y, Xv, yv, spec, build_fit_parts(model, spec), n_classes=2, generator=torch.Generator().manual_seed(seed))
        return predict_logits(model, Xv)

    assert torch.equal(once(3), once(3))
    assert not torch.equal(once(3), once(4))


def test_hard_threshold_zeroes_small_activations():
    model = build_hybrid_net(3, 2, hidden_dims=(8,), activation_threshold=0.5)
    model.eval()
    h = model.encoder(torch.randn(50, 3))
    assert torch.all((h == 0) | (h.abs() >= 0.5)) and (h == 0).any()


def test_divergence_is_a_clear_error():
    from qhybrid.errors import QHybridError

    X, y, Xv, yv = _noisy_problem()
    model = build_hybrid_net(6, 2)
    with torch.no_grad():
        model.head.weight.fill_(float("nan"))
    with pytest.raises(QHybridError, match="training diverged"):
        fit(model, X, y, Xv, yv, TrainerSpec(max_epochs=2), build_fit_parts(model, TrainerSpec(max_epochs=2)), n_classes=2, generator=torch.Generator())
