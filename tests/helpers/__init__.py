"""Shared test helpers: ``from helpers import FAST, fast, run_cli, run_in_process, ...``.

- ``presets``: the fast settings every CLI / end-to-end test starts from (``FAST``, ``fast()``).
- ``cli``: the command in a subprocess (``run_cli``: the process boundary is the point) or in
  this process (``run_in_process``: the same code path without paying for a new interpreter).
- ``data``: small data files and config folders.
- ``devices``: what this machine has (CUDA, lightning.gpu), for tests that must pass on both.
- ``fixtures``: the pytest fixtures conftest.py makes available to every test.
- ``threads``, ``scheduling``: one compute thread per core per xdist worker; which tests the
  workers get first (conftest.py applies both).
"""

from helpers.cli import CliResult, one_line, qhybrid_executable, run_cli, run_in_process
from helpers.data import iris_frame, write_csv
from helpers.devices import cuda_available, lightning_gpu_starts
from helpers.paths import CONF, REPO
from helpers.presets import FAST, TINY_CIRCUIT, fast

__all__ = ["CONF", "FAST", "REPO", "TINY_CIRCUIT", "CliResult", "cuda_available", "fast", "iris_frame",
           "lightning_gpu_starts", "one_line", "qhybrid_executable", "run_cli", "run_in_process", "write_csv"]
