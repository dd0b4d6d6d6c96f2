"""qhybrid: a config-driven experiment runner for hybrid quantum-classical neural networks.

Importing the package is cheap on purpose (no torch, no PennyLane): the CLI's --help and
shell completion must stay fast.
"""

__version__ = "0.1.0"


def train(model=None, data=None, overrides=(), run_dir=None):
    """``qhybrid train`` from Python (qhybrid.api.train): returns metrics and the run folder."""
    from qhybrid.api import train as _train

    return _train(model=model, data=data, overrides=overrides, run_dir=run_dir)


def load(run_dir, checkpoint="best", ensemble=False):
    """A predictor for a run folder (qhybrid.api.load)."""
    from qhybrid.api import load as _load

    return _load(run_dir, checkpoint=checkpoint, ensemble=ensemble)
