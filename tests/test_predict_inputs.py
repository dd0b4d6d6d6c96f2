"""Prediction is trustworthy: the Python API checks its input as `qhybrid predict` checks a
CSV file (columns by name, numbers only, finite, within float32), a run folder predicts
without its training data, and nothing the user has is overwritten."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import fast, iris_frame, run_cli, run_in_process, write_csv

import qhybrid
from qhybrid import digest
from qhybrid.errors import QHybridError

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    """A run trained from a CSV file named by a relative data.path (shared, never modified);
    5 folds: the tests use folds 0 to 4."""
    tmp = tmp_path_factory.mktemp("csv_run")
    write_csv(tmp / "iris.csv", iris_frame())
    result = run_in_process(["train", "model=g0", "data=csv", "data.path=iris.csv", "data.target=species",
                             *fast(keep=["cv.n_splits"]), f"hydra.run.dir={tmp / 'run'}"], cwd=tmp)
    assert result.returncode == 0, result.stderr
    return tmp / "run"


@pytest.fixture(scope="module")
def table(csv_run):
    return pd.read_csv(csv_run.parent / "iris.csv")


@pytest.fixture(scope="module")
def predictor(csv_run):
    return qhybrid.load(csv_run)


def _one_line_error(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def _copy_run(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run_copy"
    shutil.copytree(run, copy)
    return copy


# --------------------------------------------------------------------- the Python path


class TestPythonInput:
    def test_columns_are_matched_by_name(self, predictor, table):
        reordered = table[table.columns[::-1]]
        expected = predictor.predict_proba(table)
        assert np.array_equal(predictor.predict_proba(reordered), expected)
        assert np.array_equal(predictor.predict_proba(table[predictor.feature_names].to_numpy()), expected)
        assert list(predictor.frame(reordered.iloc[5:8]).index) == [5, 6, 7]

    @pytest.mark.parametrize("value, what", [(np.nan, "missing value (NaN)"), (np.inf, "infinite value"),
                                             (-np.inf, "infinite value"), (1e308, "beyond float32's range")])
    def test_non_finite_rows_are_refused_with_the_column_and_rows(self, predictor, table, value, what):
        bad = table.copy()
        bad.loc[[3, 40], "petal_width"] = value
        with pytest.raises(QHybridError, match="petal_width") as caught:
            predictor.predict_proba(bad)
        assert what in caught.value.message and "rows 3, 40 (DataFrame index)" in caught.value.message

    @pytest.mark.parametrize("make, message", [
        (lambda t: t.drop(columns="sepal_width"), "lacks 1 feature column(s) the model needs: sepal_width"),
        (lambda t: t.assign(zip=1.0), "the model does not know: zip"),
        (lambda t: pd.concat([t, t[["sepal_width"]]], axis=1), "sepal_width more than once"),
        (lambda t: t.astype(object).assign(sepal_width=lambda d: d.sepal_width.where(d.index != 7, "abc")),
         "'sepal_width' holds the text 'abc' in row 7"),
        (lambda t: t.assign(sepal_width=pd.Timestamp("2020-01-01")), "'sepal_width' holds datetime64"),
        (lambda t: t.iloc[:0], "the input has no rows"),
    ])
    def test_bad_dataframes_are_one_line(self, predictor, table, make, message):
        with pytest.raises(QHybridError) as caught:
            predictor.predict(make(table))
        assert message in caught.value.message and "\n" not in caught.value.message

    @pytest.mark.parametrize("X, message", [
        (np.ones((2, 3)), "has 3 column(s); the model reads 4"),
        (np.ones(4), "1 dimension(s)"),
        (np.ones((1, 2, 4)), "3 dimension(s)"),
        ([[5.1, "abc", 1.0, 0.2]], "'sepal_width' holds the text 'abc' in row 0 (0-based)"),
        ([["5.1", "3.5", "1.4", "0.2"]], "'sepal_length' holds the text '5.1' in row 0"),
        ([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]], "rows differ in length"),
        ([[1.0, None, 3.0, 4.0]], "'sepal_width' has a missing value (NaN) in row 0 (0-based)"),
        (np.ones((2, 4), dtype=complex), "complex128"),
    ])
    def test_bad_arrays_are_one_line(self, predictor, X, message):
        with pytest.raises(QHybridError) as caught:
            predictor.predict_proba(X)
        assert message in caught.value.message

    def test_target_column_is_ignored_and_bools_are_numbers(self, predictor, table):
        features = table[predictor.feature_names]
        assert np.array_equal(predictor.predict_proba(table), predictor.predict_proba(features))
        flags = features.assign(sepal_width=features["sepal_width"] > 3)
        assert np.array_equal(predictor.predict_proba(flags),
                              predictor.predict_proba(flags.astype({"sepal_width": float})))

    def test_values_the_scaling_takes_beyond_float32_are_refused(self, predictor, table):
        bad = table.copy()
        bad.loc[9, "petal_width"] = 3e38  # float32 holds it; divided by the fold's std it does not fit
        with pytest.raises(QHybridError, match=r"row 9 \(DataFrame index\).*beyond float32"):
            predictor.predict_proba(bad)

    def test_a_run_that_imputes_accepts_missing_values(self, csv_run, table, tmp_path):
        run = _copy_run(csv_run, tmp_path)
        path = run / "checkpoints" / "fold_0.pt"
        payload = torch.load(path, weights_only=True)
        medians = torch.tensor(table[FEATURES].median().to_numpy())
        payload["preprocessing"]["params"]["fill"] = medians
        torch.save(digest.sign(payload), path)  # as a run that imputes writes it
        predictor = qhybrid.load(run, checkpoint="fold_0")
        holes = table.copy()
        holes.loc[[2, 5], "petal_length"] = np.nan
        filled = holes.fillna({"petal_length": float(medians[2])})
        assert np.array_equal(predictor.predict_proba(holes), predictor.predict_proba(filled))

    def test_load_refuses_bad_choices(self, csv_run):
        with pytest.raises(QHybridError, match="one of: fold_0, fold_1"):
            qhybrid.load(csv_run, checkpoint="fold_9")
        with pytest.raises(QHybridError, match="not a valid choice"):
            qhybrid.load(csv_run, checkpoint="../../etc/passwd")
        with pytest.raises(QHybridError, match="names one fold"):
            qhybrid.load(csv_run, checkpoint="fold_1", ensemble=True)
        with pytest.raises(QHybridError, match="not true or false"):
            qhybrid.load(csv_run, ensemble="yes")


# ------------------------------------------------------------------------ the CLI input


BAD_FILES = [
    ("text.csv", "sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4\n\n5,abc,1,1\n",
     "'sepal_width' holds the text 'abc' in line 4 of"),
    ("nan.csv", "sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4\n5,,1,1\n",
     "missing value (NaN) in line 3"),
    ("inf.csv", "sepal_length,sepal_width,petal_length,petal_width\n1,2,3,-inf\n", "'petal_width' has an infinite "
     "value in line 2"),
    ("big.csv", "sepal_length,sepal_width,petal_length,petal_width\n1,1e308,3,4\n", "'sepal_width' has a value beyond"),
    ("empty.csv", "", "is empty"),
    ("header.csv", "sepal_length,sepal_width,petal_length,petal_width\n", "has a header but no data rows"),
    ("dup.csv", "sepal_length,sepal_length,petal_length,petal_width\n1,2,3,4\n", "repeats column name(s) in its header: 'sepal_length'"),
    ("semi.csv", "sepal_length;sepal_width;petal_length;petal_width\n1;2;3;4\n", "looks semicolon-separated"),
    ("ragged.csv", "sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4,5\n", "line 2 has 5 fields but the header names 4"),
    ("ragged2.csv", "sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4\n1,2,3,4,5\n", "could not be parsed"),
]


@pytest.mark.parametrize("name, text, message", BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_bad_input_files_are_one_line(csv_run, tmp_path, cli, name, text, message):
    (tmp_path / name).write_text(text)
    error = _one_line_error(cli(["predict", f"run={csv_run}", f"input={name}"], cwd=tmp_path))
    assert message in error
    assert not (tmp_path / name.replace(".csv", "_predictions.csv")).exists()


def test_a_bad_cell_is_one_line_from_the_installed_command(csv_run, tmp_path):
    name, text, message = BAD_FILES[0]
    (tmp_path / name).write_text(text)
    assert message in _one_line_error(run_cli(["predict", f"run={csv_run}", f"input={name}"], cwd=tmp_path))


def test_a_run_folder_predicts_without_its_training_data(csv_run, tmp_path, cli):
    """data.path was relative to the training folder: from elsewhere (or once it moved) the
    model still builds."""
    run = _copy_run(csv_run, tmp_path)
    shutil.copy(csv_run.parent / "iris.csv", tmp_path / "new.csv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli(["predict", f"run={run}", "input=../new.csv", "checkpoint=fold_2"], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(elsewhere / "new_predictions.csv")) == 150


def _record_data_files(run: Path, files: dict[str, str]) -> None:
    """What run.py stores through save_checkpoint(data_files=...)."""
    for path in (run / "checkpoints").glob("fold_*.pt"):
        payload = torch.load(path, weights_only=True)
        payload["data_files"] = files
        torch.save(digest.sign(payload), path)  # as the run signs what it writes


def test_input_fold_reads_the_recorded_absolute_paths(csv_run, tmp_path, cli):
    run = _copy_run(csv_run, tmp_path)
    data = tmp_path / "kept" / "iris.csv"
    data.parent.mkdir()
    shutil.copy(csv_run.parent / "iris.csv", data)
    _record_data_files(run, {"data.path": str(data)})
    result = cli(["predict", f"run={run}", "input=fold_2", "checkpoint=fold_2", "output=f2.csv"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    n_test = int((pd.read_csv(run / "predictions.csv")["fold"] == 2).sum())
    assert len(pd.read_csv(tmp_path / "f2.csv")) == n_test
    data.unlink()
    error = _one_line_error(cli(["predict", f"run={run}", "input=fold_2", "output=again.csv"], cwd=tmp_path))
    assert f"data.path={data} is gone" in error and "input=<file>" in error


def test_save_checkpoint_stores_data_files_only_when_given(tmp_path):
    from qhybrid.data.preprocess import FoldPreprocessor
    from qhybrid.training.checkpoints import load_checkpoint, save_checkpoint

    common = dict(state_dict={"w": torch.zeros(2)}, model_spec={"name": "g0"},
                  preprocessor=FoldPreprocessor("standard").fit(np.eye(3)), classes=["a", "b"],
                  feature_names=["x", "y", "z"], config={}, fold=0, best_epoch=1)
    save_checkpoint(tmp_path / "plain.pt", **common)
    save_checkpoint(tmp_path / "files.pt", data_files={"data.path": "/abs/train.csv"}, **common)
    assert "data_files" not in load_checkpoint(tmp_path / "plain.pt")
    assert load_checkpoint(tmp_path / "files.pt")["data_files"] == {"data.path": "/abs/train.csv"}


# ----------------------------------------------------------------------------- the run


def test_broken_run_folders_are_one_line(csv_run, tmp_path, cli):
    run = _copy_run(csv_run, tmp_path)
    shutil.copy(csv_run.parent / "iris.csv", tmp_path / "x.csv")
    (run / "metrics.json").unlink()
    error = _one_line_error(cli(["predict", f"run={run}", "input=x.csv"], cwd=tmp_path))
    assert "no readable metrics.json" in error and "checkpoint=fold_<k>" in error
    error = _one_line_error(cli(["predict", f"run={run}", "input=fold_7", "checkpoint=fold_0"], cwd=tmp_path))
    assert "the run has no fold 7" in error
    for path in (run / "checkpoints").glob("*.pt"):
        path.unlink()
    error = _one_line_error(cli(["predict", f"run={run}", "input=x.csv", "ensemble=true"], cwd=tmp_path))
    assert "has no fold checkpoints" in error


@pytest.mark.parametrize("text", ["[]", "{not json", '{"folds": [3, {"fold": "x"}]}'])
def test_a_damaged_metrics_json_is_one_line_for_checkpoint_best(csv_run, tmp_path, text):
    run = _copy_run(csv_run, tmp_path)
    (run / "metrics.json").write_text(text)
    if text.startswith('{"folds"'):  # readable, no usable fold scores: fold 0, as for a run that recorded none
        assert qhybrid.load(run).payloads[0]["fold"] == 0
        return
    with pytest.raises(QHybridError, match="no readable metrics.json"):
        qhybrid.load(run)


def test_an_incomplete_checkpoint_is_one_line(csv_run, tmp_path):
    run = _copy_run(csv_run, tmp_path)
    torch.save({"format_version": 1, "classes": ["a"]}, run / "checkpoints" / "fold_0.pt")
    with pytest.raises(QHybridError, match=r"not a complete qhybrid checkpoint \(state_dict, model_spec"):
        qhybrid.load(run, checkpoint="fold_0")


# --------------------------------------------------------------------------- the output


class TestOutput:
    @pytest.fixture
    def here(self, csv_run, tmp_path):
        shutil.copy(csv_run.parent / "iris.csv", tmp_path / "new.csv")
        return tmp_path

    def test_an_existing_output_is_kept_unless_overwrite(self, csv_run, here, cli):
        for output in ("output=mine.csv", None):  # named, and the default new_predictions.csv
            target = here / ("mine.csv" if output else "new_predictions.csv")
            target.write_text("precious\n")
            args = ["predict", f"run={csv_run}", "input=new.csv", *([output] if output else [])]
            error = _one_line_error(cli(args, cwd=here))
            assert "already exists" in error and "overwrite=true" in error
            assert target.read_text() == "precious\n"
            assert cli([*args, "overwrite=true"], cwd=here).returncode == 0
            assert list(pd.read_csv(target).columns)[0] == "prediction"

    def test_the_input_is_never_the_output(self, csv_run, here, cli):
        before = (here / "new.csv").read_text()
        for output in ("new.csv", "./new.csv", str(here / "new.csv")):
            args = ["predict", f"run={csv_run}", "input=new.csv", f"output={output}", "overwrite=true"]
            assert "is the input file" in _one_line_error(cli(args, cwd=here))
        assert (here / "new.csv").read_text() == before

    def test_an_output_through_a_file_or_in_a_folder_it_cannot_write(self, csv_run, here, cli, monkeypatch):
        from qhybrid import io

        error = _one_line_error(cli(["predict", f"run={csv_run}", "input=new.csv", "output=new.csv/p.csv"],
                                        cwd=here))
        assert f"goes through {here / 'new.csv'}, which is a file" in error

        def refuse(path, text):
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(io, "write_text", refuse)
        error = _one_line_error(cli(["predict", f"run={csv_run}", "input=new.csv", "output=locked/p.csv"],
                                            cwd=here))
        assert f"cannot write output={here / 'locked' / 'p.csv'} (Permission denied)" in error

    def test_a_file_of_the_run_folder_is_never_replaced(self, csv_run, here, cli):
        run = _copy_run(csv_run, here)
        before = (run / "predictions.csv").read_bytes()
        args = ["predict", f"run={run}", "input=new.csv", f"output={run / 'predictions.csv'}", "overwrite=true"]
        assert "would replace a file of the run folder" in _one_line_error(cli(args, cwd=here))
        assert (run / "predictions.csv").read_bytes() == before


# -------------------------------------------------------------------------- checkpoints


class _WouldRunCode:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _evil_run(csv_run: Path, tmp_path: Path) -> tuple[Path, Path]:
    run = _copy_run(csv_run, tmp_path)
    marker = tmp_path / "code-ran"
    payload = torch.load(run / "checkpoints" / "fold_0.pt", weights_only=True)
    payload["config"]["note"] = _WouldRunCode(marker)
    for k in range(5):
        torch.save(payload, run / "checkpoints" / f"fold_{k}.pt")
    return run, marker


def test_a_checkpoint_that_would_run_code_is_refused_everywhere(csv_run, tmp_path, cli):
    from qhybrid.training.checkpoints import load_checkpoint

    run, marker = _evil_run(csv_run, tmp_path)
    shutil.copy(csv_run.parent / "iris.csv", tmp_path / "x.csv")
    with pytest.raises(QHybridError) as caught:
        load_checkpoint(run / "checkpoints" / "fold_0.pt")
    assert "could run code" in caught.value.message and "weights_only" not in caught.value.message
    for args in (["predict", f"run={run}", "input=x.csv"],
                 ["train", "model=g0", "data=csv", "data.path=x.csv", "data.target=species", "trainer.max_epochs=1",
                  "baselines=[]", "quantization=none", f"init_from={run}", f"hydra.run.dir={tmp_path / 'tuned'}"]):
        error = _one_line_error(cli(args))
        assert "could run code" in error and "weights_only" not in error
    assert not marker.exists()


def test_a_truncated_or_foreign_checkpoint_is_one_line_without_torch_hints(csv_run, tmp_path):
    from qhybrid.training.checkpoints import load_checkpoint

    data = (csv_run / "checkpoints" / "fold_0.pt").read_bytes()
    for name, content in (("half.pt", data[: len(data) // 2]), ("text.pt", b"hello"), ("empty.pt", b"")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(QHybridError) as caught:
            load_checkpoint(tmp_path / name)
        message = caught.value.message
        assert "not a readable qhybrid checkpoint" in message
        assert "weights_only" not in message and "If you are seeing" not in message
