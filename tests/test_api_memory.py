"""qhybrid.train(X=..., y=...) and qhybrid.train(data=<DataFrame>, target=...): data in memory,
no file; the same run folder, a final model refitted on every row that qhybrid.load predicts
with; bad inputs are one ConfigError line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import qhybrid
from helpers.presets import fast
from qhybrid.errors import ConfigError


def test_arrays_in_memory_train_a_run_whose_final_model_predicts(tmp_path, iris_csv):
    table = pd.read_csv(iris_csv)
    X, y = table.drop(columns="species").to_numpy(), table["species"].to_numpy()
    result = qhybrid.train(model="g0", X=X, y=y, overrides=fast(), run_dir=tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_samples"] == 150 and metrics["feature_names"] == ["x0", "x1", "x2", "x3"]
    assert metrics["classes"] == ["setosa", "versicolor", "virginica"] and metrics["final"]["n_rows"] == 150
    predictor = qhybrid.load(result.run_dir)
    assert predictor.payloads[0]["fold"] == -1  # the refitted model
    assert set(predictor.predict(X)) <= {"setosa", "versicolor", "virginica"}


def test_a_dataframe_and_its_target_column(tmp_path, iris_csv):
    frame = pd.read_csv(iris_csv)
    result = qhybrid.train(model="g0", data=frame, target="species", overrides=[*fast(), "refit=false"],
                           run_dir=tmp_path / "run")
    assert result.metrics["feature_names"] == [c for c in frame.columns if c != "species"]
    assert "final" not in result.metrics  # refit=false given: no final model


@pytest.mark.parametrize("kwargs, words", [
    ({"X": np.zeros((4, 2))}, "X and y go together"),
    ({"X": np.zeros((4, 2)), "y": [0, 1]}, "y has shape (2,) for 4 rows"),
    ({"X": np.zeros(4), "y": [0, 1, 0, 1]}, "not rows x features"),
    ({"data": pd.DataFrame({"a": [1, 2]}), "target": "b"}, "target='b' is not a column"),
    ({"X": pd.DataFrame({"target": [1.0, 2.0]}), "y": [0, 1]}, "already has a column 'target'"),
    ({"data": 3}, "neither a data set's name nor a DataFrame"),
    ({"X": np.zeros((4, 2)), "y": [0, 1, 0, 1], "data": "iris"}, "both data='iris' and X, y are given"),
    ({"data": "iris", "target": "species"}, "target='species' is given without a table"),
    ({"X": pd.DataFrame(np.zeros((4, 2)), columns=["a", "a"]), "y": [0, 1, 0, 1]}, "more than one column 'a'"),
    ({"X": np.zeros((0, 2)), "y": []}, "the table has no rows"),
    ({"X": np.zeros((4, 2)), "y": [0, 1, 0, 1], "overrides": ["data.categorical=[x0]"]},
     "data.categorical is a key of data files, not of a table in memory"),
])
def test_bad_in_memory_data_is_one_line(tmp_path, kwargs, words):
    kwargs = {"overrides": [], **kwargs}
    with pytest.raises(ConfigError) as refused:
        qhybrid.train(model="g0", run_dir=tmp_path / "run", **{**kwargs, "overrides": [*fast(), *kwargs["overrides"]]})
    assert words in str(refused.value) and "\n" not in str(refused.value)
    assert not (tmp_path / "run").exists()


def test_data_memory_on_the_command_line_says_it_is_for_python(cli, tmp_path):
    result = cli(["train", "model=g0", "data=memory", *fast(), f"hydra.run.dir={tmp_path / 'run'}"])
    assert result.returncode != 0 and "qhybrid.train(X=..., y=...)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_table_is_known_by_its_content_and_any_column_names_work(tmp_path):
    from qhybrid.data.memory import register

    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 3)))  # integer column names 0, 1, 2
    frame[3] = np.repeat([0, 1], 20)
    assert register(frame.rename(columns=str), "3") == register(frame.rename(columns=str).copy(), "3")
    assert register(frame.rename(columns=str), "3") != register(frame.rename(columns=str).iloc[:39], "3")
    result = qhybrid.train(model="g0", data=frame, target=3, overrides=fast(), run_dir=tmp_path / "run")
    assert result.metrics["feature_names"] == ["0", "1", "2"] and result.metrics["classes"] == ["0", "1"]


@pytest.mark.parametrize("labels", [[0.0, 1.0, np.nan, 1.0, 0.0, np.nan], ["a", "b", None, "b", "a", "a"]])
def test_a_missing_label_in_memory_is_refused_with_its_rows(labels):
    from qhybrid.data.memory import MemoryDataSpec, load_memory, register
    from qhybrid.errors import DataError

    frame = pd.DataFrame({"x": np.arange(6.0), "y": labels})
    with pytest.raises(DataError) as refused:
        load_memory(MemoryDataSpec(key=register(frame, "y")))
    missing = ", ".join(str(i) for i in np.flatnonzero(pd.isna(frame["y"])))
    assert f"y is missing (NaN or None) on {frame['y'].isna().sum()} row(s): {missing}" in str(refused.value)
