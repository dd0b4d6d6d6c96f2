"""Loaders: bundled data sets, a user's CSV, and one clear error per kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qhybrid.data import load_dataset
from qhybrid.schema import BuiltinDataSpec, CsvDataSpec

from helpers import FAST, fast, one_line, run_cli


class TestBuiltin:
    def test_iris(self):
        d = load_dataset(BuiltinDataSpec(name="iris"))
        assert d.X.shape == (150, 4) and d.X.dtype == np.float64
        assert d.classes == ["setosa", "versicolor", "virginica"] and d.task == "multiclass"
        assert np.bincount(d.y).tolist() == [50, 50, 50]

    def test_iris_binary_is_versicolor_vs_virginica(self):
        d = load_dataset(BuiltinDataSpec(name="iris_binary", positive_class="virginica"))
        assert d.X.shape == (100, 4) and d.classes == ["versicolor", "virginica"]

    def test_breast_cancer_positive_class_is_index_1(self):
        d = load_dataset(BuiltinDataSpec(name="breast_cancer", positive_class="malignant"))
        assert d.X.shape == (569, 30) and d.classes == ["benign", "malignant"]
        assert int((d.y == 1).sum()) == 212  # 212 malignant cases in the Wisconsin data


class TestCsv:
    def test_reads_features_and_labels(self, iris_csv):
        d = load_dataset(CsvDataSpec(path=str(iris_csv), target="species"))
        assert d.X.shape == (150, 4) and d.feature_names[0] == "sepal_length"
        assert d.classes == ["setosa", "versicolor", "virginica"]

    def test_feature_subset_and_positive_class(self, tmp_path):
        path = tmp_path / "d.csv"
        pd.DataFrame({"a": [1, 2, 3, 4], "b": [5, 6, 7, 8], "c": [0, 0, 0, 0], "y": [1, 0, 1, 0]}).to_csv(path, index=False)
        d = load_dataset(CsvDataSpec(path=str(path), target="y", features=["b", "a"], positive_class="0"))
        assert d.feature_names == ["b", "a"] and d.X[0].tolist() == [5.0, 1.0]
        assert d.classes == ["1", "0"] and d.y.tolist() == [0, 1, 0, 1]

    def test_no_header(self, tmp_path):
        path = tmp_path / "d.csv"
        path.write_text("1.0,2.0,a\n3.0,4.0,b\n5.0,6.0,a\n")
        d = load_dataset(CsvDataSpec(path=str(path), target="2", header=False))
        assert d.feature_names == ["0", "1"] and d.classes == ["a", "b"]

    def test_nan_policy_drop_and_impute(self, tmp_path):
        path = tmp_path / "d.csv"
        path.write_text("a,b,y\n1,2,x\n,4,y\n5,6,y\n7,8,\n9,10,x\n")
        dropped = load_dataset(CsvDataSpec(path=str(path), target="y", nan_policy="drop"))
        assert dropped.X.tolist() == [[1, 2], [5, 6], [9, 10]] and dropped.y.tolist() == [0, 1, 0]
        kept = load_dataset(CsvDataSpec(path=str(path), target="y", nan_policy="impute"))
        # the unlabelled row is dropped; the missing feature stays NaN for the per-fold imputer
        assert kept.n_samples == 4 and np.isnan(kept.X[1, 0]) and kept.X[1, 1] == 4

    def test_fixed_test_file_rows_are_marked(self, tmp_path, iris_csv):
        frame = pd.read_csv(iris_csv)
        train, test = tmp_path / "train.csv", tmp_path / "test.csv"
        frame.iloc[::2].to_csv(train, index=False)
        frame.iloc[1::2].to_csv(test, index=False)
        d = load_dataset(CsvDataSpec(path=str(train), target="species", test_path=str(test)))
        assert d.n_samples == 150 and d.fixed_test.tolist() == list(range(75, 150))
        np.testing.assert_array_equal(d.X[75:], frame.iloc[1::2].drop(columns="species").to_numpy())


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (overrides, expected fragment of the one error line)."""
    good = "a,b,label\n" + "".join(f"{i},{i % 3},{'x' if i % 2 else 'y'}\n" for i in range(20))
    other_cols = _write(tmp / "other.csv", "a,c,label\n1,2,x\n3,4,y\n")
    regression = "a,label\n" + "".join(f"{i},{i * 0.37}\n" for i in range(30))
    return {
        "missing_file": (["data.path=missing.csv", "data.target=label"], "data.path: file not found:"),
        "empty_file": ([f"data.path={_write(tmp / 'empty.csv', '')}", "data.target=label"], "is empty"),
        "header_only": ([f"data.path={_write(tmp / 'hdr.csv', 'a,b,label')}", "data.target=label"], "has a header but no data rows"),
        "folder": ([f"data.path={tmp}", "data.target=label"], "is a folder, not a CSV file"),
        "not_text": ([f"data.path={tmp / 'bin.csv'}", "data.target=label"], "is not a UTF-8 text file"),
        "no_target_given": ([f"data.path={_write(tmp / 'g0.csv', good)}"], "data.target is not set; the columns of"),
        "missing_target": ([f"data.path={_write(tmp / 'g1.csv', good)}", "data.target=species"],
                           "data.target='species' is not a column"),
        "non_numeric": ([f"data.path={_write(tmp / 'nn.csv', 'a,b,label' + chr(10) + 'x,1,p' + chr(10) + 'y,2,q' + chr(10))}",
                         "data.target=label"], "non-numeric feature columns"),
        "nans": ([f"data.path={_write(tmp / 'nan.csv', good + ',3,x' + chr(10))}", "data.target=label"],
                 "missing values (NaN or empty cells) in 1 row, column(s) 'a': line 22"),
        "single_class": ([f"data.path={_write(tmp / 'one.csv', 'a,label' + chr(10) + '1,x' + chr(10) + '2,x' + chr(10))}",
                          "data.target=label"], "single class"),
        "too_few_per_class": ([f"data.path={_write(tmp / 'few.csv', good + '5,5,z' + chr(10))}", "data.target=label"],
                              "class 'z' has a single row (of 21)"),
        "test_columns_differ": ([f"data.path={_write(tmp / 'g2.csv', good)}", "data.target=label",
                                 f"data.test_path={other_cols}", "cv=holdout"], "different columns than data.path"),
        "semicolons": ([f"data.path={_write(tmp / 'semi.csv', good.replace(',', ';'))}", "data.target=label"],
                       "looks semicolon-separated"),
        "infinite_value": ([f"data.path={_write(tmp / 'inf.csv', good + 'inf,1,x' + chr(10))}", "data.target=label"],
                           "column(s) 'a' hold values a float32 network cannot use"),
        "repeated_column": ([f"data.path={_write(tmp / 'dup.csv', good.replace('a,b,label', 'a,a,label'))}",
                             "data.target=label"], "repeats column name(s) in its header: 'a' (columns 1, 2)"),
        "continuous_target": ([f"data.path={_write(tmp / 'reg.csv', regression)}", "data.target=label",
                               "task=classification"],
                              "data.target='label' looks continuous (30 distinct values in 30 rows"),
    }


BAD_NAMES = ["missing_file", "empty_file", "header_only", "folder", "not_text", "no_target_given", "missing_target",
             "non_numeric",
             "nans", "single_class", "too_few_per_class", "test_columns_differ", "semicolons", "infinite_value",
             "repeated_column", "continuous_target"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_input_is_one_line_and_exit_2(name, tmp_path, cli):
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81\x90garbage\xff\n\x80\x81")
    overrides, expected = _bad_inputs(tmp_path)[name]
    preset = fast(keep=["cv.n_splits"]) if "cv=holdout" in overrides else FAST  # holdout has no n_splits
    result = cli(["train", "data=csv", *overrides, *preset, f"hydra.run.dir={tmp_path / 'run'}"])
    assert result.returncode == 2, result.stderr
    line = one_line(result, expected, "Fix:")
    assert line.startswith("qhybrid: error: ")


def test_missing_file_named_even_without_a_target(tmp_path):
    """From the installed command: exit code 2 and one line, before any run folder is made."""
    result = run_cli(["train", "data=csv", "data.path=missing.csv"], cwd=tmp_path)
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"file not found: {tmp_path / 'missing.csv'}" in lines[0]
    assert not (tmp_path / "outputs").exists() or not list((tmp_path / "outputs").rglob("environment.json"))


def test_debug_flag_shows_the_traceback(tmp_path):
    result = run_cli(["train", "data=csv", "data.path=missing.csv", "data.target=y", "--debug",
                      f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr and "file not found" in result.stderr
