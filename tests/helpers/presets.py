"""The fast settings for tests that train.

qhybrid's defaults are a real experiment: the g10 hybrid, 5 folds, up to 200 epochs, three
classical baselines fitted per fold (``baselines=[logreg,svc,mlp]``), an INT8 export timed
30 times per fold (``quantization=int8``) and four figures (``plots``: about 1.3 s a run,
more than a small run's training). A test that is not about one of those runs without
it: ``fast()`` is the preset, ``fast(keep=[...])`` leaves out the keys a test is about (it then
gets qhybrid's or its model generation's value), and ``fast("key=value")`` replaces one.

The model stays explicit in each test (``model=g0`` for a classical one, a generation's name
where the generation is the point); ``TINY_CIRCUIT`` shrinks a hybrid's circuit to 2 qubits.
"""

from __future__ import annotations

from collections.abc import Iterable

# key -> value; the order is the order of the overrides
FAST_SETTINGS: dict[str, str] = {
    "trainer.max_epochs": "2",
    "trainer.early_stopping.patience": "2",
    "baselines": "[]",
    "quantization": "none",
    "cv.n_splits": "2",
    "plots": "false",
}

TINY_CIRCUIT = ["model.quantum.n_qubits=2"]


def fast(*overrides: str, keep: Iterable[str] = ()) -> list[str]:
    """The fast preset as command-line overrides.

    ``overrides`` (``"key=value"``) replace the preset's value of the same key or are added;
    ``keep`` names preset keys to leave out (``"cv.n_splits"`` with ``cv=holdout``, which has no
    such key; ``"baselines"`` in a test about baselines). qhybrid refuses a key given twice, so
    this is the one way to change a preset value."""
    keep = set(keep)
    unknown = keep - set(FAST_SETTINGS)
    assert not unknown, f"fast(keep=...) names keys the preset does not have: {sorted(unknown)}"
    given = {o.split("=", 1)[0].lstrip("+~"): o for o in overrides}
    settings = [f"{key}={value}" for key, value in FAST_SETTINGS.items() if key not in keep and key not in given]
    return [*settings, *overrides]


FAST = fast()
