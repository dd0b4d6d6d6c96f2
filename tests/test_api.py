"""The Python API runs the CLI's code path and returns what the run folder holds."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from helpers import fast


def test_import_is_light():
    code = "import sys, qhybrid; assert callable(qhybrid.train) and 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_train_and_load(tmp_path):
    import qhybrid
    from qhybrid.data import load_dataset
    from qhybrid.schema import BuiltinDataSpec

    overrides = fast("trainer.max_epochs=3")
    result = qhybrid.train(model="g0", data="iris", overrides=overrides, run_dir=tmp_path / "run")
    stored = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert result.metrics["summary"] == stored["summary"] and result.run_dir == tmp_path / "run"
    for name in (".hydra/config.yaml", ".hydra/overrides.yaml", "train.log", "checkpoints/fold_1.pt"):
        assert (tmp_path / "run" / name).is_file(), name
    assert "trainer.max_epochs=3" in (tmp_path / "run" / ".hydra" / "overrides.yaml").read_text()

    data = load_dataset(BuiltinDataSpec(name="iris"))
    predictor = qhybrid.load(result.run_dir, ensemble=True)
    proba = predictor.predict_proba(data.X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1)
    assert list(predictor.predict(data.X[:2])) == [data.classes[i] for i in proba[:2].argmax(axis=1)]

    # a DataFrame is matched by name, as `qhybrid predict` matches a CSV file's columns
    import pandas as pd
    import pytest

    from qhybrid.errors import QHybridError

    table = pd.DataFrame(data.X, columns=data.feature_names)
    assert np.array_equal(predictor.predict_proba(table[table.columns[::-1]]), proba)
    table.iloc[4, 1] = np.nan
    with pytest.raises(QHybridError) as caught:
        predictor.predict_proba(table)
    assert f"column '{data.feature_names[1]}' has a missing value (NaN) in row 4" in caught.value.message
