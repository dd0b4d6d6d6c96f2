"""What one finished fold hands to the run's summary: written to folds/fold_<k>.json as it
finishes, and read back from there by a resumed run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pandas as pd

from qhybrid.training.plots import FoldCurves


@dataclass
class FoldOutcome:
    row: dict[str, Any]  # folds.csv / metrics.json's fold row
    curves: FoldCurves  # what the plots need
    predictions: pd.DataFrame  # the fold's test rows for predictions.csv
    daily: Optional[pd.DataFrame]  # finance: the test days' strategy and buy-and-hold returns
    baselines: dict[str, tuple[dict[str, Any], Any]]  # name -> (fold row, FoldCurves or None)
