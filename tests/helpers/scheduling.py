"""How the tests are spread over the xdist workers (``-n auto --dist loadfile``).

Each test file goes to one worker, whole: a module-scoped fixture (a trained run several tests
read) is made once, and a library a file needs (Qiskit, MLflow, Optuna, submitit) is imported
by one worker, not by both; joblib's worker processes are reused by the file's second sweep.
(``--dist loadgroup`` with ``xdist_group`` marks would group finer, but pytest-xdist 3.8 marks a
group by rewriting ``item._nodeid``, which pytest 9 no longer reads: the marks are ignored.)

Order: the tests marked ``heavy`` (they start qhybrid processes, or train for many seconds) and
so their files are handed out first, so that the workers end together instead of one of them
starting a long file when the other has nothing left to do.
"""

from __future__ import annotations

import pytest

# many seconds: scheduled before the rest (pyproject.toml registers the marker)
HEAVY = pytest.mark.heavy


def heavy_first(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place: the heavy tests first, each part in collection order.

    Under --dist loadfile a file is one unit of work, queued where its first test is: the files
    with heavy tests go out first, and in each file its heavy tests run first."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)
