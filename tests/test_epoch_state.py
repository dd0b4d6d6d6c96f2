"""An interrupted fold continues from its last epoch: weights, optimizer, scheduler, early
stopping and every RNG come back, so the continued training equals an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from qhybrid.errors import QHybridError
from qhybrid.schema import EarlyStoppingSpec, SchedulerSpec, TrainerSpec
from qhybrid.build import build_fit_parts
from qhybrid.training.engine import fit
from qhybrid.training import epoch_state
from qhybrid.training.epoch_state import EpochCheckpoint

# plateau scheduler and early stopping with short patience: their state matters within 40 epochs
SPEC = TrainerSpec(max_epochs=40, batch_size=16, lr=0.05,
                   early_stopping=EarlyStoppingSpec(monitor="val_loss", patience=6),
                   scheduler=SchedulerSpec(name="plateau", patience=2, factor=0.5))


def _data():
    g = torch.Generator().manual_seed(7)
    X = torch.randn(160, 6, generator=g)
    y = ((X[:, 0] + 0.8 * torch.randn(160, generator=g)) > 0).long()
    return X[:120], y[:120], X[120:], y[120:]


class _SamplingDevice:
    """Stands in for PennyLane's default.qubit with shots: the draws come from device._rng."""

    def __init__(self, seed: int):
        self._rng = np.random.default_rng(seed)


class _ShotNoise(nn.Module):
    def __init__(self, sampler: _SamplingDevice):
        super().__init__()
        self.sampler = sampler

    def forward(self, x):
        return x + torch.from_numpy(self.sampler._rng.normal(0.0, 0.3, size=tuple(x.shape))).to(x.dtype)


def _train(checkpoint=None, on_epoch=None, init_seed=0, sampler=None):
    torch.manual_seed(init_seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))  # dropout: global RNG
    if sampler is not None:
        model.insert(1, _ShotNoise(sampler))
    X_fit, y_fit, X_val, y_val = _data()
    result = fit(model, X_fit, y_fit, X_val, y_val, SPEC, build_fit_parts(model, SPEC), n_classes=2, generator=torch.Generator().manual_seed(1),
                 checkpoint=checkpoint, on_epoch=on_epoch)
    return model, result


def _interrupt_at(epoch_to_stop: int):
    def on_epoch(epoch, logs):
        if epoch == epoch_to_stop:
            raise KeyboardInterrupt
    return on_epoch


def _same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("snapshot_seconds,last_kept", [(0.0, 10), (3600.0, 1)])
def test_a_fold_interrupted_mid_training_continues_to_the_uninterrupted_result(tmp_path, monkeypatch,
                                                                             snapshot_seconds, last_kept):
    """Snapshots every epoch, or (a long SNAPSHOT_SECONDS) only the first: the fold resumes
    from the last one kept and replays the epochs since to the same result."""
    whole_model, whole = _train()
    assert whole.stopped_early and 12 < len(whole.history) < SPEC.max_epochs  # the stopper's state matters
    monkeypatch.setattr(epoch_state, "SNAPSHOT_SECONDS", snapshot_seconds)

    path = tmp_path / "fold_0.epoch.pt"
    checkpoint = EpochCheckpoint(path, every_seconds=None)  # written only when interrupted
    with pytest.raises(KeyboardInterrupt):
        try:
            _train(checkpoint, on_epoch=_interrupt_at(11))
        except KeyboardInterrupt:
            checkpoint.flush()
            raise
    torch.rand(100)  # the global RNG moves on, as it would in a new process

    continued = EpochCheckpoint(path, every_seconds=None, resume=True)
    assert continued.resume_state["epoch"] == last_kept
    ran = []
    model, result = _train(continued, on_epoch=lambda epoch, logs: ran.append(epoch), init_seed=123)
    assert ran[0] == last_kept + 1
    assert result.history == whole.history
    assert (result.best_epoch, result.best_score) == (whole.best_epoch, whole.best_score)
    assert _same(model, whole_model)


def test_a_sampling_quantum_device_continues_its_shot_stream(tmp_path):
    whole_model, whole = _train(sampler=_SamplingDevice(3))
    path = tmp_path / "fold_0.epoch.pt"
    sampler = _SamplingDevice(3)
    checkpoint = EpochCheckpoint(path, every_seconds=0, samplers=[sampler])
    with pytest.raises(KeyboardInterrupt):
        _train(checkpoint, on_epoch=_interrupt_at(8), sampler=sampler)

    fresh = _SamplingDevice(99)  # a new process: the device starts from another point of its stream
    model, result = _train(EpochCheckpoint(path, every_seconds=0, resume=True, samplers=[fresh]), init_seed=123,
                           sampler=fresh)
    assert result.history == whole.history and _same(model, whole_model)


def test_a_seeded_sampling_backend_gets_its_own_stream_per_fold():
    from qhybrid.quantum.backends import resolve_backend
    from qhybrid.schema import BackendSpec

    backend = resolve_backend(BackendSpec(name="default_qubit", shots=16), n_wires=2, amplitude=False, run_seed=0)

    def draws(b):
        return b.device._rng.integers(1 << 30, size=4).tolist()

    assert draws(backend.for_fold(0)) == draws(backend.for_fold(0)) != draws(backend.for_fold(1))
    exact = resolve_backend(BackendSpec(name="default_qubit"), n_wires=2, amplitude=False, run_seed=0)
    assert exact.for_fold(1) is exact  # nothing sampled: the run's device serves every fold


def test_a_state_taken_after_the_last_epoch_trains_nothing_more(tmp_path):
    path = tmp_path / "fold_0.epoch.pt"
    whole_model, whole = _train(EpochCheckpoint(path, every_seconds=0))  # written every epoch
    ran = []
    model, result = _train(EpochCheckpoint(path, every_seconds=0, resume=True), on_epoch=lambda e, logs: ran.append(e),
                           init_seed=5)
    assert ran == []
    assert result.history == whole.history and result.best_epoch == whole.best_epoch
    assert _same(model, whole_model)  # the best weights restored, as at the end of the whole run


def test_the_state_is_written_only_when_due_and_discarded_on_request(tmp_path):
    path = tmp_path / "fold_0.epoch.pt"
    _train(EpochCheckpoint(path, every_seconds=3600))
    assert not path.exists()
    checkpoint = EpochCheckpoint(path, every_seconds=0)
    _train(checkpoint)
    assert path.is_file()
    checkpoint.discard()
    assert not path.exists()
    assert EpochCheckpoint(path, every_seconds=0, resume=True).resume_state is None


def test_an_unreadable_state_is_one_error_naming_the_fix(tmp_path):
    path = tmp_path / "fold_0.epoch.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(QHybridError) as err:
        EpochCheckpoint(path, every_seconds=0, resume=True)
    assert "fold_0.epoch.pt" in str(err.value) and "delete it" in err.value.fix
