"""qhybrid: a config-driven experiment runner for hybrid quantum-classical neural networks.

Importing the package is cheap on purpose (no torch, no PennyLane): the CLI's --help and
shell completion must stay fast.
"""

__version__ = "0.1.0"
