"""data.id_column and data.drop_columns: an identifier kept out of the features and passed
through to every prediction; columns dropped by name; each role checked in one line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers.presets import fast


def _table(iris_csv, path):
    table = pd.read_csv(iris_csv)
    table.insert(0, "patient_id", [f"P{i:03d}" for i in range(len(table))])
    table["notes"] = "free text"
    table.to_csv(path, index=False)
    return table


def test_the_id_column_is_no_feature_and_reaches_the_predictions(cli, tmp_path, iris_csv):
    table = _table(iris_csv, tmp_path / "patients.csv")
    out = tmp_path / "run"
    result = cli(["train", "model=g0", "data=csv", f"data.path={tmp_path / 'patients.csv'}", "data.target=species",
                  "data.id_column=patient_id", "data.drop_columns=[notes]", *fast(), f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["feature_names"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    predictions = pd.read_csv(out / "predictions.csv")
    assert (predictions["patient_id"] == table["patient_id"].iloc[predictions["row"]].to_numpy()).all()
    table.iloc[:5].to_csv(tmp_path / "new.csv", index=False)
    predicted = cli(["predict", f"run={out}", f"input={tmp_path / 'new.csv'}", f"output={tmp_path / 'p.csv'}"])
    assert predicted.returncode == 0, predicted.stderr
    assert pd.read_csv(tmp_path / "p.csv")["patient_id"].tolist() == [f"P{i:03d}" for i in range(5)]


@pytest.mark.parametrize("overrides, words", [
    (["data.id_column=patient"], "data.id_column='patient' is not a column"),
    (["data.drop_columns=[note]"], "data.drop_columns has 'note', which is not a column"),
    (["data.id_column=species"], "both data.target and data.id_column"),
    (["data.id_column=patient_id", "data.drop_columns=[patient_id]"], "both data.id_column and data.drop_columns"),
])
def test_a_column_role_that_cannot_be_is_one_line(cli, tmp_path, iris_csv, overrides, words):
    _table(iris_csv, tmp_path / "patients.csv")
    result = cli(["train", "model=g0", "data=csv", f"data.path={tmp_path / 'patients.csv'}", "data.target=species",
                  *overrides, *fast(), f"hydra.run.dir={tmp_path / 'run'}"])
    assert result.returncode != 0 and words in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
