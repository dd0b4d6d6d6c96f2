"""Atomic writes and run-folder ownership."""

from __future__ import annotations

import json
import math

import pytest

from qhybrid import io
from qhybrid.errors import QHybridError
from qhybrid.run_folder import claim as claim_run_folder


def test_failed_write_keeps_the_previous_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "metrics.json"
    io.write_json(target, {"ok": 1})

    class Boom:
        def savefig(self, fh, **kwargs):
            fh.write(b"partial")
            raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        io.save_figure(target, Boom())
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_json_writes_undefined_metrics_as_null(tmp_path):
    io.write_json(tmp_path / "m.json", {"roc_auc": math.nan, "nested": [1.0, math.inf]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"roc_auc": None, "nested": [1.0, None]}


def test_a_run_folder_is_claimed_once(tmp_path):
    claim_run_folder(tmp_path / "run")
    with pytest.raises(QHybridError, match="already used by another run"):
        claim_run_folder(tmp_path / "run")


def test_run_folder_names_differ_between_compositions():
    from qhybrid.api import compose

    names = {str(compose([]).hydra.run.dir) for _ in range(3)}
    assert len(names) == 3  # three runs started in the same second get three folders
    cfg = compose([])
    assert str(cfg.hydra.run.dir) == str(cfg.hydra.run.dir)  # one config resolves to one folder


def test_run_dir_pattern_has_the_unique_suffix(compose):
    cfg = compose([], return_hydra_config=True)
    from omegaconf import OmegaConf

    raw = OmegaConf.to_container(cfg.hydra, resolve=False)
    assert raw["run"]["dir"].startswith("outputs/") and "${qh_uid:}" in raw["run"]["dir"]
    assert "${qh_uid:}" in raw["sweep"]["dir"]
