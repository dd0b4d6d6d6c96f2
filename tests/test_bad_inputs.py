"""Bad input, each kind once: a wrong override, value, file, column or folder is one line on
stderr naming what is wrong, a non-zero exit code, no traceback — and a refused command
leaves every file the user had as it was.

The commands run in this process (`qhybrid.cli.main`), as the console script runs them:
most are refused before any training, so the whole battery costs seconds.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import FAST, cuda_available, fast, lightning_gpu_starts, one_line, write_csv
from helpers.scheduling import HEAVY


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def table(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["age", "dose", "weight"])
    frame["label"] = np.where(frame["age"] + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    return frame


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    import qhybrid

    run = tmp_path_factory.mktemp("finished") / "run"
    qhybrid.train(model="g0", data="iris_binary", overrides=FAST, run_dir=run)
    return run


# ---------------------------------------------------------------- config and command line

CONFIG_CASES = [
    (["trainer.lrr=1"], ["trainer.lrr", "trainer.lr"]),
    (["model=g99"], ["model=g99", "g10"]),
    (["model.quantum.n_qubitz=3"], ["model.quantum.n_qubitz", "n_qubits"]),
    (["foo=bar"], ["foo"]),
    (["data=iris", "data.path=x.csv"], ["data.path", "data=csv"]),
    (["+trainer.lr=1"], ["trainer.lr=1"]),
    (["trainer.lr"], ["trainer.lr"]),
    (["data=csv,iris"], ["-m"]),
    (["data.sep=;"], ["data.sep", "'"]),
    (["trainer=fast"], ["trainer=fast", "default"]),
    (["experiment=nope"], ["experiment=nope", "medical"]),
    (["hydra/launcher=nope"], ["nope", "joblib"]),
    (["trainer.lr=nan"], ["trainer.lr=nan"]),
    (["trainer.lr=inf"], ["trainer.lr=inf"]),
    (["trainer.weight_decay=-inf"], ["trainer.weight_decay"]),
    (["trainer.lr=-1"], ["trainer.lr"]),
    (["trainer.max_epochs=0"], ["trainer.max_epochs"]),
    (["trainer.batch_size=many"], ["trainer.batch_size"]),
    (["trainer.val_fraction=1.5"], ["trainer.val_fraction"]),
    (["trainer.early_stopping.monitor=val_nope"], ["trainer.early_stopping.monitor"]),
    (["cv.n_splits=1"], ["cv.n_splits"]),
    (["seed=-1"], ["seed"]),
    (["backend=nope"], ["backend=nope"]),
    (["baselines=[logreg,nope]"], ["baselines[1]"]),
    (["model.quantum.n_qubits=40"], ["n_qubits=40", "iB"]),
    (["model=g6", "model.quantum.n_qubits=20", "backend.strategy=fused"], ["backend.strategy=fused", "TiB"]),
    (["model=g6", "model.quantum.n_qubits=14", "backend.noise.depolarizing=0.01"], ["backend.noise", "TiB"]),
    (["model=g6", "backend.noise.readout=2"], ["backend.noise.readout=2", "[0, 1]"]),
    (["model=g6", "backend.noise.depolarising=0.1"], ["backend.noise.depolarising", "depolarizing"]),
    (["model=g6", "model.quantum.embedding=nope"], ["model.quantum.embedding"]),
    (["data=csv"], ["data.path"]),
    (["data=csv", "data.path=missing.csv"], ["missing.csv"]),
    (["init_from=no/such/run"], ["init_from"]),
    (["resume=no/such/run"], ["resume=no/such/run"]),
    (["--config-dir", "no/such/conf"], ["no/such/conf"]),
    (["trainer.scheduler=cosin"], ["trainer.scheduler", "trainer.scheduler.name=cosin"]),
    (["~seed"], ["cv.seed", "seed"]),
    (["trainer.max_epochs=2", "trainer.max_epochs=3"], ["trainer.max_epochs", "twice"]),
    (["-m", "model=g0", "seed=0,1,x"], ["seed=x"]),
    (["-m", "model=g0", "trainer.lr=0.01,nan"], ["trainer.lr=nan"]),
]


@pytest.mark.parametrize("args, named", CONFIG_CASES, ids=[" ".join(a) for a, _ in CONFIG_CASES])
def test_a_bad_override_is_one_line_and_writes_nothing(cli, tmp_path, args, named):
    one_line(cli(["train", *args]), *named)
    assert list(tmp_path.iterdir()) == []  # no run folder, no outputs/


def test_an_unknown_command_or_argument_is_one_line(cli):
    one_line(cli(["fly"]), "fly")
    one_line(cli(["predict", "run=x", "input=y", "colour=blue"]), "colour=blue")
    one_line(cli(["report", "no/such/folder"]), "no/such/folder")


# ---------------------------------------------------------------------------- data files


def _bad_tables(tmp_path: Path) -> list[tuple[str, Path, list[str], list[str]]]:
    """(case, file, extra overrides, names the line must hold)"""
    def frame_with(column: str, row: int, value) -> pd.DataFrame:
        frame = table().astype({column: object})
        frame.loc[row, column] = value
        return frame

    semicolon = tmp_path / "semicolon.csv"
    table().to_csv(semicolon, sep=";", index=False)
    duplicate = tmp_path / "duplicate.csv"
    duplicate.write_text("age,dose,age,label\n" + "\n".join(f"{i},{i % 3},{i * 2},{'ab'[i % 2]}"
                                                            for i in range(20)) + "\n")
    continuous = table()
    continuous["label"] = np.linspace(0.1, 9.9, len(continuous))
    lonely = table()
    lonely.loc[0, "label"] = "rare"
    header_only = tmp_path / "header_only.csv"
    header_only.write_text("age,dose,weight,label\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    return [
        ("inf", write_csv(tmp_path / "inf.csv", frame_with("dose", 3, np.inf)), [], ["dose"]),
        ("-inf", write_csv(tmp_path / "minf.csv", frame_with("weight", 5, -np.inf)), [], ["weight"]),
        ("1e308", write_csv(tmp_path / "huge.csv", frame_with("age", 7, 1e308)), [], ["age"]),
        ("nan", write_csv(tmp_path / "nan.csv", frame_with("age", 2, np.nan)), [], ["age", "nan_policy"]),
        ("text in a number column", write_csv(tmp_path / "text.csv", frame_with("dose", 4, "high")), [], ["dose"]),
        ("duplicate columns", duplicate, [], ["age"]),
        ("semicolons", semicolon, [], ["data.sep"]),
        ("continuous target", write_csv(tmp_path / "continuous.csv", continuous), ["task=classification"],
         ["label", "continuous"]),
        ("a class with one row", write_csv(tmp_path / "lonely.csv", lonely), [], ["rare"]),
        ("no such target", write_csv(tmp_path / "target.csv", table()), ["data.target=outcome"], ["outcome"]),
        ("no such feature", write_csv(tmp_path / "features.csv", table()), ["data.features=[age,height]"],
         ["height"]),
        ("header only", header_only, [], ["header_only.csv"]),
        ("empty file", empty, [], ["empty.csv"]),
        ("a folder", tmp_path, [], ["data.path"]),
        ("one class written two ways", write_csv(tmp_path / "float_labels.csv", table().assign(
            label=["1", "0", "1.0", "0"] * 10)), [], ["'1'", "'1.0'"]),
        ("four rows", write_csv(tmp_path / "four.csv", table(4).assign(label=["x", "y", "x", "y"])), [],
         ["no row of class"]),
    ]


@HEAVY
def test_a_bad_data_file_is_one_line(cli, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for case, path, extra, named in _bad_tables(data):
        target = [] if any(e.startswith("data.target=") for e in extra) else ["data.target=label"]
        line = one_line(cli(["train", "model=g0", "data=csv", f"data.path={path}", *target, *extra, *FAST]), *named)
        assert "Fix:" in line, (case, line)
        assert not (tmp_path / "outputs").exists(), case  # a refused run leaves no folder behind


def test_a_test_file_with_other_columns_is_one_line(cli, tmp_path):
    train = write_csv(tmp_path / "train.csv", table())
    test = write_csv(tmp_path / "test.csv", table().rename(columns={"dose": "dosage"}))
    one_line(cli(["train", "model=g0", "data=csv", f"data.path={train}", "data.target=label",
                  f"data.test_path={test}", "cv=holdout", "trainer.max_epochs=2", "baselines=[]"]), "dosage")


def test_a_test_file_that_holds_the_training_rows_is_refused(cli, tmp_path):
    train = write_csv(tmp_path / "train.csv", table())
    copy = write_csv(tmp_path / "copy.csv", table())
    for test in (train, copy):
        one_line(cli(["train", "model=g0", "data=csv", f"data.path={train}", "data.target=label",
                      f"data.test_path={test}", "cv=holdout", "trainer.max_epochs=2", "baselines=[]"]), "data.path")


def test_a_refused_run_leaves_the_users_empty_folder_empty_and_usable(cli, tmp_path):
    bad = write_csv(tmp_path / "bad.csv", table().assign(dose=np.inf))
    good = write_csv(tmp_path / "good.csv", table())
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    args = ["train", "model=g0", "data=csv", "data.target=label", *FAST, f"hydra.run.dir={chosen}"]
    one_line(cli([*args, f"data.path={bad}"]), "dose")
    assert list(chosen.iterdir()) == []
    code, out, err = cli([*args, f"data.path={good}"])
    assert code == 0, err


def test_a_genotype_file_with_a_bad_value_is_one_line(cli, tmp_path):
    genotypes = pd.DataFrame({"snp_0": [0, 1, 2, 3] * 5, "snp_1": [1, 0, 2, 1] * 5, "population": ["a", "b"] * 10})
    path = write_csv(tmp_path / "genotypes.csv", genotypes)
    one_line(cli(["train", "model=g0", "experiment=genomics", f"data.path={path}", *FAST]), "snp_0")


def test_a_missing_gpu_is_one_line(cli, tmp_path):
    """Where there is no GPU (or no lightning.gpu) asking for it is one line; where there is,
    the same command trains on it."""
    import json

    gpu = cli(["train", "model=g0", "trainer.device=cuda", *FAST, f"hydra.run.dir={tmp_path / 'cuda'}"])
    if cuda_available():
        assert gpu.returncode == 0, gpu.stderr
        assert json.loads((tmp_path / "cuda" / "metrics.json").read_text())["device"].startswith("cuda")
    else:
        one_line(gpu, "trainer.device=cuda")
    strict = cli(["train", "model=g1", "backend=lightning_gpu", "backend.strict=true", *FAST,
                  f"hydra.run.dir={tmp_path / 'lightning'}"])
    if lightning_gpu_starts():
        assert strict.returncode == 0, strict.stderr
        assert json.loads((tmp_path / "lightning" / "metrics.json").read_text())["backend"]["name"] == "lightning_gpu"
    else:
        one_line(strict, "lightning")


# ------------------------------------------------------------------ folders and resuming


def test_a_users_folder_is_never_a_run_folder(cli, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "predictions.csv").write_text("id,prediction\n1,yes\n")
    (mine / "notes.txt").write_text("do not touch")
    before = snapshot(mine)
    one_line(cli(["train", "model=g0", *FAST, f"hydra.run.dir={mine}"]), str(mine), "not empty")
    assert snapshot(mine) == before


def test_a_finished_run_is_never_written_again(cli, finished_run):
    before = snapshot(finished_run)
    one_line(cli(["train", "model=g0", "data=iris_binary", *FAST, f"hydra.run.dir={finished_run}"]),
             str(finished_run))
    one_line(cli(["train", "model=g0", "data=iris_binary", *FAST, f"resume={finished_run}"]), "finished")
    # the refusal names the difference; the run's own record of its settings is left as it was
    one_line(cli(["train", "model=g0", "data=iris_binary", *FAST, "trainer.lr=0.5", f"resume={finished_run}"]),
             "trainer.lr")
    assert snapshot(finished_run) == before


def _unfinished_copy(finished: Path, where: Path) -> Path:
    import shutil

    run = where / "unfinished"
    shutil.copytree(finished, run)
    (run / "metrics.json").unlink()
    return run


def test_resume_of_a_run_that_is_still_running_is_refused(cli, tmp_path, finished_run):
    import json
    import socket

    run = _unfinished_copy(finished_run, tmp_path)
    still = subprocess.Popen(["sleep", "60"])
    try:
        (run / ".qhybrid-run").write_text(json.dumps({"pid": still.pid, "host": socket.gethostname()}))
        before = snapshot(run)
        one_line(cli(["train", "model=g0", "data=iris_binary", *FAST, f"resume={run}"]), "still running",
                 str(still.pid))
        assert snapshot(run) == before
    finally:
        still.kill()
        still.wait()


def test_resume_of_a_folder_that_is_not_a_run_touches_nothing(cli, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "results.csv").write_text("a,b\n1,2\n")
    before = snapshot(other)
    one_line(cli(["train", "model=g0", f"resume={other}"]), "not a qhybrid run folder")
    assert snapshot(other) == before
    one_line(cli(["train", "model=g0", f"resume={tmp_path / 'typo'}"]), "typo")
    assert not (tmp_path / "typo").exists()


def test_a_run_folder_under_a_file_is_one_line(cli, tmp_path):
    (tmp_path / "a_file").write_text("x")
    one_line(cli(["train", "model=g0", *FAST, f"hydra.run.dir={tmp_path / 'a_file' / 'run'}"]), "a_file")
    one_line(cli(["train", "model=g0", *FAST, f"hydra.run.dir={tmp_path / 'a_file'}"]), "a_file")


def test_a_corrupt_fold_record_is_one_line_naming_it(cli, tmp_path, finished_run):
    run = _unfinished_copy(finished_run, tmp_path)
    (run / "folds" / "fold_0.json").write_text('{"row": {"fold": 0}, "predi')
    before = snapshot(run / "folds")
    one_line(cli(["train", "model=g0", "data=iris_binary", *FAST, f"resume={run}"]), "fold_0.json")
    assert snapshot(run / "folds") == before


# -------------------------------------------------------------------- predict and report


def test_bad_predict_inputs_are_one_line(cli, tmp_path, finished_run):
    features = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    good = pd.DataFrame(np.ones((3, 4)), columns=features)
    cases = {
        "unknown column": (good.rename(columns={features[0]: "sepal"}), ["sepal"]),
        "missing column": (good.drop(columns=features[1]), [features[1]]),
        "nan": (good.assign(**{features[2]: [1.0, np.nan, 1.0]}), [features[2]]),
        "inf": (good.assign(**{features[3]: [np.inf, 1.0, 1.0]}), [features[3]]),
        "text": (good.astype(object).assign(**{features[0]: ["1", "wide", "2"]}), [features[0]]),
    }
    for case, (frame, named) in cases.items():
        path = write_csv(tmp_path / f"{case}.csv", frame)
        one_line(cli(["predict", f"run={finished_run}", f"input={path}", f"output={tmp_path / 'out.csv'}"]), *named)
    assert not (tmp_path / "out.csv").exists()
    source = write_csv(tmp_path / "good.csv", good)
    one_line(cli(["predict", f"run={tmp_path / 'nothing'}", f"input={source}"]), "nothing")
    one_line(cli(["predict", f"run={finished_run}", f"input={tmp_path / 'missing.csv'}"]), "missing.csv")
    one_line(cli(["predict", f"run={finished_run}", f"input={source}", "checkpoint=fold_9"]), "fold_9")
    (tmp_path / "a_file").write_text("x")
    one_line(cli(["predict", f"run={finished_run}", f"input={source}", f"output={tmp_path / 'a_file' / 'p.csv'}"]),
             "a_file")


def test_predict_never_overwrites_a_file(cli, tmp_path, finished_run):
    features = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    source = write_csv(tmp_path / "rows.csv", pd.DataFrame(np.ones((2, 4)), columns=features))
    mine = tmp_path / "mine.csv"
    mine.write_text("my,own\n1,2\n")
    before = snapshot(tmp_path)
    one_line(cli(["predict", f"run={finished_run}", f"input={source}", f"output={mine}"]), "mine.csv")
    one_line(cli(["predict", f"run={finished_run}", f"input={source}", f"output={source}"]), "rows.csv")
    assert snapshot(tmp_path) == before


def test_an_unsafe_checkpoint_is_refused_without_the_unsafe_advice(cli, tmp_path, finished_run):
    import shutil

    import torch

    class RunsCode:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    for checkpoint in (run / "checkpoints").glob("*.pt"):
        torch.save({"format_version": 1, "payload": RunsCode()}, checkpoint)
    source = write_csv(tmp_path / "rows.csv", pd.DataFrame(np.ones((2, 4))))
    line = one_line(cli(["predict", f"run={run}", f"input={source}"]), "checkpoints")
    assert "weights_only" not in line and not (tmp_path / "pwned").exists()
    line = one_line(cli(["train", "model=g0", "data=iris_binary", *FAST, f"init_from={run}"]), "checkpoints")
    assert "weights_only" not in line and not (tmp_path / "pwned").exists()


def test_a_folder_of_another_tool_is_one_line_for_report(cli, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "metrics.json").write_text('{"accuracy": 0.9}')
    one_line(cli(["report", str(other)]), "metrics.json")
    one_line(cli(["report", str(tmp_path), "metrics=nope"]), "nope")


# ----------------------------------------------------------- failures after the run starts


def _png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_labels_with_dollars_train_and_draw_every_plot(cli, tmp_path):
    frame = table()
    frame["label"] = np.where(frame["label"] == "yes", "$0_$50k", "$50k+ [red]")
    path = write_csv(tmp_path / "income.csv", frame)
    run = tmp_path / "run"
    code, out, err = cli(["train", "model=g0", "data=csv", f"data.path={path}", "data.target=label",
                          *fast(keep=["plots"]), f"hydra.run.dir={run}"])
    assert code == 0, err
    import json

    assert json.loads((run / "metrics.json").read_text())["classes"] == ["$0_$50k", "$50k+ [red]"]
    for name in ("roc.png", "pr.png", "confusion_matrix.png", "learning_curves.png"):
        assert _png(run / name), name


def test_a_plot_that_cannot_be_drawn_is_a_warning_after_the_metrics(cli, tmp_path, monkeypatch):
    from qhybrid.training import plots

    def broken(*args, **kwargs):
        raise RuntimeError("no room for the legend")

    monkeypatch.setattr(plots, "plot_roc", broken)
    run = tmp_path / "run"
    code, out, err = cli(["train", "model=g0", "data=iris_binary", *fast(keep=["plots"]), f"hydra.run.dir={run}"])
    assert code == 0, err
    assert (run / "metrics.json").is_file() and _png(run / "pr.png") and not (run / "roc.png").exists()
    assert "could not draw roc.png" in out + (run / "train.log").read_text()


def test_an_unexpected_failure_is_one_line_with_the_traceback_in_the_log(cli, tmp_path, monkeypatch):
    import qhybrid.run

    real = qhybrid.run.train

    def fails_on_iris(cfg, out):
        if cfg.data.name == "iris":
            return {}["no such key"]
        return real(cfg, out)

    monkeypatch.setattr(qhybrid.run, "train", fails_on_iris)
    run = tmp_path / "run"
    line = one_line(cli(["train", "model=g0", *FAST, f"hydra.run.dir={run}"]), "KeyError", "train.log")
    assert "Traceback" in (run / "train.log").read_text()

    sweep = tmp_path / "sweep"
    code, out, err = cli(["train", "-m", "model=g0", "data=iris,iris_binary", *FAST, f"hydra.sweep.dir={sweep}"])
    assert code == 1 and "Traceback" not in out + err, err
    assert err.strip().splitlines()[-1].startswith("qhybrid: 1 job(s) failed: 0: unexpected KeyError")
    assert (sweep / "1" / "metrics.json").is_file()  # the other job ran to the end
    assert line.startswith("qhybrid: error: unexpected KeyError")


def test_an_output_folder_that_cannot_be_written_is_one_line(cli, tmp_path, monkeypatch):
    # the tests run as root, for whom permissions do not stop a write: the file system says no here
    real_touch = Path.touch

    def read_only(self, *args, **kwargs):
        if "qhybrid-probe" in self.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_touch(self, *args, **kwargs)

    monkeypatch.setattr(Path, "touch", read_only)
    one_line(cli(["train", "model=g0", *FAST, f"hydra.run.dir={tmp_path / 'run'}"]), "Permission denied", "run")
    one_line(cli(["train", "-m", "model=g0", *FAST, f"hydra.sweep.dir={tmp_path / 'sweep'}"]), "Permission denied")


# ------------------------------------------------------------- records changed after writing


def test_an_edited_fold_record_or_checkpoint_is_refused(cli, tmp_path, finished_run):
    import json

    import torch

    run = _unfinished_copy(finished_run, tmp_path)
    record = json.loads((run / "folds" / "fold_0.json").read_text())
    record["row"]["accuracy"] = 0.99
    (run / "folds" / "fold_0.json").write_text(json.dumps(record))
    one_line(cli(["train", "model=g0", "data=iris_binary", *FAST, f"resume={run}"]), "fold_0.json", "changed")

    checkpoint = finished_run / "checkpoints" / "fold_0.pt"
    payload = torch.load(checkpoint, weights_only=True)
    payload["feature_names"] = payload["feature_names"][::-1]
    edited = tmp_path / "edited"
    import shutil

    shutil.copytree(finished_run, edited)
    torch.save(payload, edited / "checkpoints" / "fold_0.pt")
    rows = write_csv(tmp_path / "rows.csv", pd.DataFrame(np.ones((2, 4)), columns=payload["feature_names"]))
    one_line(cli(["predict", f"run={edited}", f"input={rows}", "checkpoint=fold_0"]), "fold_0.pt", "changed")


def test_fine_tuning_on_other_features_is_refused(cli, tmp_path, finished_run):
    renamed = table().rename(columns={"age": "sepal", "dose": "petal", "weight": "stem"})
    renamed["extra"] = 1.0
    path = write_csv(tmp_path / "other.csv", renamed)
    one_line(cli(["train", "model=g0", "data=csv", f"data.path={path}", "data.target=label", *FAST,
                  f"init_from={finished_run}"]), "init_from", "sepal length (cm)")
    one_line(cli(["train", "model=g0", *FAST, f"init_from={tmp_path / 'other.csv'}"]), "init_from")


def test_fold_rows_of_a_changed_training_file_are_refused(cli, tmp_path):
    import qhybrid

    data = write_csv(tmp_path / "train.csv", table())
    run = tmp_path / "run"
    qhybrid.train(model="g0", overrides=["data=csv", f"data.path={data}", "data.target=label", *FAST], run_dir=run)
    code, out, err = cli(["predict", f"run={run}", "input=fold_0", f"output={tmp_path / 'p.csv'}"])
    assert code == 0, err
    changed = table()
    changed.loc[0, "age"] = 42.0
    write_csv(data, changed)
    one_line(cli(["predict", f"run={run}", "input=fold_0", f"output={tmp_path / 'q.csv'}"]), "train.csv", "changed")


def test_predict_says_why_it_prints_no_metrics(cli, tmp_path, finished_run):
    features = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    rows = pd.DataFrame(np.ones((2, 4)), columns=features)
    rows["target"] = ["versicolor", "maybe"]
    source = write_csv(tmp_path / "rows.csv", rows)
    code, out, err = cli(["predict", f"run={finished_run}", f"input={source}"])
    assert code == 0 and "maybe" in err and "no metrics" in err


def test_the_python_api_refuses_overrides_given_as_one_string(tmp_path):
    import qhybrid
    from qhybrid.errors import ConfigError

    with pytest.raises(ConfigError, match="not a list of strings"):
        qhybrid.train(model="g0", overrides="trainer.max_epochs=2", run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
