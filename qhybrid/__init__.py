"""qhybrid: a config-driven experiment runner for hybrid quantum-classical neural networks.

Importing the package is cheap on purpose (no torch, no PennyLane): the CLI's --help and
shell completion must stay fast.
"""

from importlib import import_module

__version__ = "0.1.0"


def train(model=None, data=None, overrides=(), run_dir=None, *, X=None, y=None, target=None):
    """``qhybrid train`` from Python (qhybrid.api.train): returns metrics and the run folder;
    data in memory as ``X`` and ``y`` (or ``data=<DataFrame>``, ``target=<column>``)."""
    # looked up at call time: the package imports none of its modules (no torch for --help,
    # and no module can import the package back into a cycle)
    return import_module("qhybrid.api").train(model=model, data=data, overrides=overrides, run_dir=run_dir, X=X,
                                              y=y, target=target)


def load(run_dir, checkpoint="best", ensemble=False):
    """A predictor for a run folder (qhybrid.api.load)."""
    return import_module("qhybrid.api").load(run_dir, checkpoint=checkpoint, ensemble=ensemble)
