"""Settings that cannot mean what they say, refused before a run starts: a column given two
roles, a logger list with none in it, a search metric of the other task; and categorical
columns read the same way in training and prediction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qhybrid.errors import ConfigError, DataError


@pytest.mark.parametrize("overrides, words", [
    (["data.features=[a,b]", "data.drop_columns=[a]"], "column 'a' is both in data.features and data.drop_columns"),
    (["data.features=[a,b]", "data.id_column=b"], "column 'b' is both in data.features and data.id_column"),
    (["data.time_column=day", "data.categorical=[day]"], "column 'day' is both data.time_column and data.categorical"),
    (["data.time_column=day", "data.id_column=day"], "column 'day' is both data.id_column and data.time_column"),
])
def test_a_column_in_two_roles_is_refused_before_the_file_is_read(compose, overrides, words):
    from qhybrid.schema import validate

    with pytest.raises(ConfigError) as refused:
        validate(compose(["model=g0", "data=csv", "data.path=not_read.csv", "data.target=y", *overrides]))
    assert words in str(refused.value)


def test_a_categorical_column_empty_in_every_row_is_one_line(compose, tmp_path):
    from qhybrid.data import load_dataset
    from qhybrid.schema import validate

    pd.DataFrame({"a": np.arange(20.0), "site": [None] * 20, "y": [0, 1] * 10}).to_csv(tmp_path / "t.csv", index=False)
    spec = validate(compose(["model=g0", "data=csv", f"data.path={tmp_path / 't.csv'}", "data.target=y",
                             "data.categorical=[site]"]))
    with pytest.raises(DataError) as refused:
        load_dataset(spec.data, spec.task)
    assert "data.categorical has 'site', which is empty in every row" in str(refused.value)


def test_every_feature_categorical_is_one_hot_and_nothing_to_scale():
    from qhybrid import digest  # a checkpoint's digest reads the empty numeric parameters too
    from qhybrid.data.preprocess import FoldPreprocessor

    codes = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, -1.0], [0.0, 1.0]])  # -1: missing
    for scaler in ("standard", "robust", "minmax"):
        pre = FoldPreprocessor(scaler, impute=True, categories={0: ["a", "b", "c"], 1: ["x", "y"]}).fit(codes)
        again = FoldPreprocessor.from_state_dict(pre.state_dict())
        expected = np.array([[1, 0, 0, 0, 1], [0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [1, 0, 0, 0, 1]], dtype=float)
        assert np.array_equal(again.transform(codes), expected) and pre.n_outputs(2) == 5
        assert digest.of({"preprocessing": pre.state_dict()}) == digest.of({"preprocessing": again.state_dict()})


def test_a_whole_number_category_is_one_category_however_written():
    from qhybrid.data.dataset import category_codes, category_text

    values = pd.Series(["3", "3.0", " 3.00 ", "007", "7", "2.5", None, "north"])
    assert category_text(values).tolist()[:6] == ["3", "3", "3", "007", "7", "2.5"]
    assert category_codes(values, ["3", "7", "north"]).tolist() == [0, 0, 0, -1, 1, -1, -1, 2]


def test_logger_none_beside_other_loggers_is_refused_and_an_unknown_one_lists_the_options():
    from qhybrid.api import compose
    from qhybrid.preflight import refuse_repeats

    with pytest.raises(ConfigError) as refused:
        refuse_repeats(["logger=[mlflow,none]"])
    assert "lists none (no tracker) beside other loggers" in str(refused.value)
    refuse_repeats(["logger=none"])  # alone it is the way to say no tracker
    with pytest.raises(ConfigError) as unknown:
        compose(["logger=[csv,tensorbord]"])
    assert "logger has no option 'tensorbord' (options: csv, mlflow, none, tensorboard, wandb)" in str(unknown.value)
    assert "did you mean tensorboard?" in str(unknown.value)


@pytest.mark.parametrize("overrides, words", [
    (["task=regression", "search.metric=roc_auc"], "search.metric=roc_auc is a classification metric, and this run "
                                                   "is regression"),
    (["task=classification", "search.metric=r2"], "search.metric=r2 is a regression metric"),
])
def test_a_search_metric_of_the_other_task_is_refused_at_start(compose, overrides, words):
    from qhybrid.schema import validate

    with pytest.raises(ConfigError) as refused:
        validate(compose(["model=g0", "search.budget=2", *overrides]))
    assert words in str(refused.value)


def test_a_binary_search_metric_on_classes_of_three_is_refused_once_the_data_shows_them(compose):
    from qhybrid.data import load_dataset
    from qhybrid.schema import validate
    from qhybrid.tasks import for_task

    spec = validate(compose(["model=g0", "data=iris", "search.budget=2", "search.metric=sensitivity"]))
    with pytest.raises(ConfigError) as refused:
        for_task(spec, load_dataset(spec.data, spec.task))
    assert "search.metric=sensitivity is defined for binary tasks only" in str(refused.value)


@pytest.mark.parametrize("override, words", [
    ("trainer=0.1", "trainer=0.1 gives trainer a value where one of its options goes"),
    ("eval_noise=0.1", "Fix: set its keys: eval_noise.depolarizing=..."),
    ("plots.formats=png", "Fix: write a list, e.g. plots.formats=[a,b]"),
])
def test_a_value_of_the_wrong_shape_says_which_shape_it_takes(override, words):
    from qhybrid.preflight import Composer, job_config
    from qhybrid.schema import validate

    with pytest.raises(ConfigError) as refused:
        validate(job_config(Composer().compose([override])))
    assert words in str(refused.value)


def test_a_switch_beside_its_blocks_keys_names_the_enabled_key():
    from qhybrid.api import compose

    with pytest.raises(ConfigError) as refused:
        compose(["plots=false", "plots.dpi=300"])
    assert "write plots.enabled=false to keep both" in str(refused.value)


@pytest.mark.parametrize("env, overrides, words", [
    ({"QHYBRID_THREADS": "abc"}, [], "QHYBRID_THREADS='abc' is not a count of threads"),
    ({"QHYBRID_THREADS": "0"}, [], "QHYBRID_THREADS='0' is not a count of threads"),
    ({}, ["trainer.threads=99999999999"], "trainer.threads=99999999999 is not auto or a count of threads"),
    ({}, ["backend=torch", "backend.strategy=fused", "backend.noise.depolarizing=0.01"],
     "backend.strategy=fused chooses how state vectors run, and backend.noise runs density matrices"),
])
def test_thread_counts_and_a_strategy_that_cannot_apply_are_refused_at_start(compose, monkeypatch, env, overrides,
                                                                              words):
    from qhybrid.schema import validate

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        validate(compose(["model=g6", *overrides]))
    assert words in str(refused.value)


def test_a_backend_that_cannot_start_names_its_own_install_line():
    from qhybrid.quantum.backends import _install_hint

    assert _install_hint("lightning_gpu").startswith("pip install 'qhybrid[gpu]'")
    assert _install_hint("qiskit_aer") == "pip install 'qhybrid[qiskit]'"
