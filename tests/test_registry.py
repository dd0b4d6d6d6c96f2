"""One registry per config group (qhybrid/registry.py): what the YAML offers is what the code
runs, and a new data set or backend is its YAML plus one module — shown here by adding one of
each in a temporary config folder, as a user would."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from helpers import CONF, TINY_CIRCUIT, fast, one_line
from qhybrid.data.options import DATA
from qhybrid.quantum.backend_options import BACKENDS
from qhybrid.tracking import LOGGERS
from qhybrid.training.cv_spec import CV

BLOBS_MODULE = '''
"""A synthetic data set: three Gaussian blobs in five dimensions."""
import numpy as np
from sklearn.datasets import make_blobs

from qhybrid.data.dataset import Dataset
from qhybrid.data.options import DATA
from qhybrid.data.spec import BuiltinDataSpec


def load(spec):
    X, y = make_blobs(n_samples=90, n_features=5, centers=3, random_state=0)
    return Dataset(name="blobs", X=X.astype(np.float64), y=y, classes=["a", "b", "c"],
                   feature_names=[f"f{i}" for i in range(5)])


DATA.add("blobs", BuiltinDataSpec, load, "three Gaussian blobs")
'''

MIXED_MODULE = '''
from qhybrid.quantum.backend_options import pennylane_device

pennylane_device("mixed", "default.mixed", "PennyLane's density-matrix simulator")
'''


@pytest.fixture(autouse=True)
def _registries_as_they_were():
    """A user's module registers into the process's registries: take its options out again
    so that the next test sees qhybrid's own."""
    registries = (DATA, BACKENDS, CV, LOGGERS)
    for registry in registries:
        registry.names()  # qhybrid's own options, found before the test adds one
    saved = {registry: dict(registry._options) for registry in registries}
    yield
    for registry, options in saved.items():
        registry._options.clear()
        registry._options.update(options)


def _options(group: str) -> set[str]:
    return {p.stem for p in (CONF / group).glob("*.yaml") if not p.stem.startswith("_")}


@pytest.mark.parametrize("group, registry", [("data", DATA), ("backend", BACKENDS), ("cv", CV), ("logger", LOGGERS)])
def test_every_yaml_option_is_registered_and_every_registered_option_has_a_yaml(group, registry):
    assert _options(group) == set(registry.names())


def _config_dir(tmp_path: Path, group: str, name: str, yaml: str, module: str) -> Path:
    conf = tmp_path / "conf"
    (conf / group).mkdir(parents=True)
    module_file = tmp_path / f"{name}_option.py"
    module_file.write_text(textwrap.dedent(module))
    (conf / group / f"{name}.yaml").write_text(textwrap.dedent(yaml).format(module=module_file))
    return conf


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


@pytest.mark.heavy
def test_a_data_set_of_ones_own_is_a_yaml_and_one_module(tmp_path, cli):
    conf = _config_dir(tmp_path, "data", "blobs", """\
        name: blobs
        module: {module}
        scaler: standard
        """, BLOBS_MODULE)
    run = tmp_path / "run"
    result = cli(["train", "--config-dir", str(conf), "data=blobs", "model=g0", *fast(), f"hydra.run.dir={run}"])
    assert result.returncode == 0, result.stderr
    record = _metrics(run)
    assert record["data"]["name"] == "blobs"
    assert record["classes"] == ["a", "b", "c"]


@pytest.mark.heavy
def test_a_backend_of_ones_own_is_a_yaml_and_one_module(tmp_path, cli):
    conf = _config_dir(tmp_path, "backend", "mixed", """\
        defaults: [_defaults, _self_]
        name: mixed
        module: {module}
        """, MIXED_MODULE)
    run = tmp_path / "run"
    # g6: no gating (PennyLane's default.mixed gives NaN gradients by backprop through a gate
    # that hard gating made the identity)
    result = cli(["train", "--config-dir", str(conf), "backend=mixed", "model=g6", *TINY_CIRCUIT,
                  *fast("trainer.max_epochs=1"), f"hydra.run.dir={run}"])
    assert result.returncode == 0, result.stderr
    backend = _metrics(run)["backend"]
    assert (backend["name"], backend["device"]) == ("mixed", "default.mixed")


JOURNAL_MODULE = '''
"""A logger that appends one JSON line per event to journal.jsonl in the run folder."""
import json

from qhybrid.tracking import LOGGERS


class Journal:
    def __init__(self, out):
        self.path = out / "journal.jsonl"

    def _write(self, **event):
        with open(self.path, "a") as f:
            f.write(json.dumps(event) + "\\n")

    def fold(self, index, outcome):
        self._write(fold=index)

    def finish(self, metrics, out):
        self._write(summary=sorted(metrics["summary"]))

    def end(self, status):
        self._write(status=status)


LOGGERS.add("journal", None, lambda spec, out, config, resumed: Journal(out), "one JSON line per event")
'''


@pytest.mark.heavy
def test_a_logger_of_ones_own_is_a_yaml_and_one_module(tmp_path, cli):
    conf = _config_dir(tmp_path, "logger", "journal", """\
        name: journal
        module: {module}
        """, JOURNAL_MODULE)
    run = tmp_path / "run"
    result = cli(["train", "--config-dir", str(conf), "logger=journal", "model=g0", *fast(), f"hydra.run.dir={run}"])
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in (run / "journal.jsonl").read_text().splitlines()]
    assert events[:2] == [{"fold": 0}, {"fold": 1}]
    assert "roc_auc" in events[2]["summary"] and events[-1] == {"status": "FINISHED"}


def test_an_option_nobody_registered_is_one_line(tmp_path, cli):
    conf = _config_dir(tmp_path, "data", "nosuch", "name: nosuch\n", "")
    one_line(cli(["train", "--config-dir", str(conf), "data=nosuch", *fast()]), "data.name='nosuch'",
             "not a known data set")
    assert not (tmp_path / "outputs").exists()


def test_a_module_that_fails_to_import_is_one_line(tmp_path, cli):
    conf = _config_dir(tmp_path, "data", "broken", "name: broken\nmodule: {module}\n", "raise RuntimeError('oops')\n")
    one_line(cli(["train", "--config-dir", str(conf), "data=broken", *fast()]), "data.module=", "oops")
    missing = _config_dir(tmp_path / "b", "data", "gone", "name: gone\nmodule: no_such_module_xyz\n", "")
    one_line(cli(["train", "--config-dir", str(missing), "data=gone", *fast()]), "no_such_module_xyz")


def test_train_help_lists_the_registered_options(cli):
    result = cli(["train", "--help"])
    assert result.returncode == 0, result.stderr
    for registry in (DATA, CV, BACKENDS):
        for option in registry.options():
            assert f"  {option.name:<20} {option.summary}" in result.stdout
    assert "_defaults" not in result.stdout  # shared keys, not an option
