"""Every config file under conf/ is composed and validated; bad values are one clear error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from qhybrid.errors import ConfigError
from qhybrid.schema import RunSpec, validate

from helpers import CONF, fast

CSV_REQUIRED = ["data.path=${oc.env:QH_TEST_CSV}", "data.target=y"]


@pytest.fixture(autouse=True)
def _a_csv_file(tmp_path, monkeypatch):
    path = tmp_path / "x.csv"
    path.write_text("a,y\n1,p\n2,q\n")
    monkeypatch.setenv("QH_TEST_CSV", str(path))
    return path


def _config_files() -> list[Path]:
    """Every option's file (a file named _*.yaml holds keys its group's options include)."""
    return sorted(p for p in CONF.rglob("*.yaml")
                  if "local" not in p.relative_to(CONF).parts[:1] and not p.stem.startswith("_"))


def _overrides_for(path: Path) -> tuple[list[str], bool]:
    rel = path.relative_to(CONF).with_suffix("")
    parts = rel.parts
    if parts == ("config",):
        return [], False
    if parts[0] == "hydra":
        return [f"hydra/{parts[1]}={parts[2]}"], True
    group, option = "/".join(parts[:-1]), parts[-1]
    extra = {("data", "csv"): CSV_REQUIRED, ("backend", "pennylane"): ["backend.device=default.qubit"]}.get(
        (group, option), [])
    return [f"{group}={option}", *extra], False


def test_there_are_config_files_to_test():
    groups = {p.parent.name for p in _config_files()}
    assert {"model", "backend", "precision", "quantization", "data", "cv", "trainer"} <= groups


@pytest.mark.parametrize("path", _config_files(), ids=lambda p: str(p.relative_to(CONF)))
def test_every_config_file_composes_and_validates(path: Path, compose):
    overrides, hydra_file = _overrides_for(path)
    cfg = compose(overrides, return_hydra_config=hydra_file)
    if overrides == ["data=memory"]:  # a table handed to qhybrid.train from Python: none on the command line
        with pytest.raises(ConfigError, match=re.escape("qhybrid.train(X=..., y=...)")):
            validate(cfg)
        return
    if hydra_file:
        kind = path.relative_to(CONF).parts[1]
        node = cfg.hydra[kind]
        if kind == "job_logging":
            filename = OmegaConf.to_container(node, resolve=False)["handlers"]["file"]["filename"]
            assert filename.endswith("${hydra.job.name}.log") and cfg.hydra.job.name == "train"
        if kind == "help":
            assert node.app_name == "qhybrid train"
        return
    spec = validate(cfg)
    assert isinstance(spec, RunSpec)
    if overrides:
        group, option = overrides[0].split("=")
        own = OmegaConf.load(path)
        if group == "experiment":  # a global preset: check the data group it picks and its values
            assert OmegaConf.to_container(own).get("data", {}).items() <= OmegaConf.to_container(cfg.data).items()
            return
        if group == "model" or (group == "data" and "data" in own):  # global presets: keys sit under the group
            own = own[group]
        if group == "logger" and "name" not in own:  # csv, tensorboard, wandb: their block beside the main logger's
            (key,) = own.keys()
            assert getattr(spec.logger, key) is not None and cfg.logger[key] == own[key]
        elif "name" in own:
            assert getattr(spec, group.split("/")[0]).name == own.name == cfg[group].name
        else:  # trainer/default.yaml has no name: compare its values
            assert cfg[group].max_epochs == own.max_epochs


BAD_VALUES = [
    ("trainer.max_epochs=0", "trainer.max_epochs=0 is out of range"),
    ("trainer.max_epochs=abc", "trainer.max_epochs"),
    ("trainer.lr=-0.1", "trainer.lr=-0.1 is out of range"),
    ("trainer.val_fraction=1.5", "trainer.val_fraction=1.5 is out of range"),
    ("trainer.early_stopping.monitor=val_banana", "trainer.early_stopping.monitor='val_banana'"),
    ("trainer.early_stopping.mode=up", "trainer.early_stopping.mode='up'"),
    ("trainer.scheduler.name=step", "trainer.scheduler.name='step'"),
    ("trainer.device=gpu", "trainer.device='gpu'"),
    ("trainer.class_weights=[1,-2]", "trainer.class_weights"),
    ("+trainer.max_epoch=3", "unknown config key trainer.max_epoch"),
    ("cv.n_splits=1", "cv.n_splits=1 is out of range"),
    ("data.scaler=zscore", "data.scaler='zscore'"),
    ("model.dropout=1.5", "model.dropout=1.5 is out of range"),
    ("model.hidden_dims=[8,0]", "model.hidden_dims[1]=0 is out of range"),
    ("model.init=orthogonal", "model.init='orthogonal'"),
    ("seed=-1", "seed=-1"),
    ("data.imbalance=oversample", "data.imbalance='oversample'"),
    ("data.smote_k_neighbors=0", "data.smote_k_neighbors=0 is out of range"),
    ("decision.threshold=youden", "decision.threshold='youden'"),
    ("decision.target_sensitivity=1.5", "decision.target_sensitivity=1.5 is out of range"),
]


@pytest.mark.parametrize("override,expected", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_bad_values_are_one_clear_error(override, expected, compose):
    with pytest.raises(ConfigError) as err:
        validate(compose([override]))
    message = str(err.value)
    assert expected in message
    assert "\n" not in message and "Fix:" in message


def test_unknown_key_suggests_the_close_one(compose):
    with pytest.raises(ConfigError, match="did you mean trainer.max_epochs"):
        validate(compose(["+trainer.max_epoch=3"]))


def test_csv_requires_path_and_target(compose):
    with pytest.raises(ConfigError, match="data.path is required"):
        validate(compose(["data=csv"]))


def test_test_path_needs_holdout(compose, _a_csv_file):
    with pytest.raises(ConfigError, match="cv=holdout"):
        validate(compose(["data=csv", *CSV_REQUIRED, f"data.test_path={_a_csv_file}"]))


def test_a_missing_file_is_found_at_validation(compose):
    from qhybrid.errors import DataError

    with pytest.raises(DataError, match="data.path: file not found: .*missing.csv"):
        validate(compose(["data=csv", "data.path=missing.csv"]))
    with pytest.raises(DataError, match="data.test_path: file not found"):
        validate(compose(["data=csv", *CSV_REQUIRED, "data.test_path=gone.csv", "cv=holdout"]))


def test_early_stopping_needs_validation_rows(compose):
    with pytest.raises(ConfigError, match="val_fraction=0"):
        validate(compose(["trainer.val_fraction=0"]))
    spec = validate(compose(["trainer.val_fraction=0", "trainer.early_stopping.enabled=false",
                             "trainer.scheduler.name=none"]))
    assert spec.trainer.val_fraction == 0


def test_cv_seed_follows_the_run_seed(compose):
    assert validate(compose(["seed=7"])).cv.seed == 7


def test_bad_value_on_the_command_line_fails_before_data_is_read(tmp_path, cli):
    run_dir = tmp_path / "run"
    result = cli(["train", "trainer.max_epochs=-3", f"hydra.run.dir={run_dir}",
                  *fast(keep=["trainer.max_epochs"])])
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines == ["qhybrid: error: trainer.max_epochs=-3 is out of range. Fix: set trainer.max_epochs to a value > 0"]
    assert "Traceback" not in result.stdout + result.stderr
    assert not (run_dir / "environment.json").exists()  # stopped before any data or model work
