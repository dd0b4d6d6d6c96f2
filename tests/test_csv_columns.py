"""data.id_column and data.drop_columns: an identifier kept out of the features and passed
through to every prediction; columns dropped by name; each role checked in one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

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
    (["data.categorical=[region]"], "data.categorical has 'region', which is not a column"),
    (["data.categorical=[patient_id]", "data.id_column=patient_id"], "both data.id_column and data.categorical"),
])
def test_a_column_role_that_cannot_be_is_one_line(cli, tmp_path, iris_csv, overrides, words):
    _table(iris_csv, tmp_path / "patients.csv")
    result = cli(["train", "model=g0", "data=csv", f"data.path={tmp_path / 'patients.csv'}", "data.target=species",
                  *overrides, *fast(), f"hydra.run.dir={tmp_path / 'run'}"])
    assert result.returncode != 0 and words in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_categorical_columns_are_one_hot_per_fold_and_predict_encodes_them_the_same(cli, tmp_path, iris_csv):
    table = pd.read_csv(iris_csv)
    table["site"] = ["north", "south", "east"] * 50
    table.loc[::17, "site"] = None  # a missing category: no category
    table.to_csv(tmp_path / "sites.csv", index=False)
    out = tmp_path / "run"
    result = cli(["train", "model=g0", "data=csv", f"data.path={tmp_path / 'sites.csv'}", "data.target=species",
                  "data.categorical=[site]", *fast(), f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stderr
    checkpoint = torch.load(out / "checkpoints" / "fold_0.pt", weights_only=True)
    assert checkpoint["n_model_inputs"] == 4 + 3  # four numbers, one column per site
    assert checkpoint["preprocessing"]["categories"] == {"4": ["east", "north", "south"]}
    reproduced = cli(["predict", f"run={out}", "input=fold_1", f"output={tmp_path / 'f1.csv'}"])
    assert reproduced.returncode == 0, reproduced.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert json.loads(reproduced.stdout.strip().splitlines()[-1])["accuracy"] == \
        pytest.approx(metrics["folds"][1]["accuracy"])
    new = table.iloc[:3].copy()
    new.loc[new.index[0], "site"] = "west"  # a site the training file never had
    new.to_csv(tmp_path / "new.csv", index=False)
    predicted = cli(["predict", f"run={out}", f"input={tmp_path / 'new.csv'}", f"output={tmp_path / 'p.csv'}"])
    assert predicted.returncode == 0 and "column 'site' has value(s) the training data never had on 1 row(s) " \
        "('west')" in predicted.stderr, predicted.stderr
    assert pd.read_csv(tmp_path / "f1.csv")["row"].tolist() == \
        pd.read_csv(out / "predictions.csv").query("fold == 1")["row"].tolist()
    import qhybrid
    from qhybrid.errors import QHybridError

    with pytest.raises(QHybridError, match="categorical column"):  # its codes cannot be read off an array
        qhybrid.load(out).predict(np.zeros((2, 5)))


def test_a_category_the_fit_rows_lack_is_no_signal():
    from qhybrid.data.preprocess import FoldPreprocessor

    X = np.array([[1.0, 0], [2.0, 1], [3.0, 0], [4.0, 2], [5.0, -1]])
    pre = FoldPreprocessor("standard", categories={1: ["a", "b", "c"]}).fit(X[:3])  # c never in the fit rows
    encoded = pre.transform(X)
    np.testing.assert_array_equal(encoded[:, 1:], [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]])
    assert pre.n_outputs(2) == 4
    again = FoldPreprocessor.from_state_dict(pre.state_dict())
    np.testing.assert_array_equal(again.transform(X), encoded)
