"""The run folder's copy of a circuit given as a file (written by qhybrid.circuit_files): the
run's weights belong to the circuit as it was when it trained, so predict and resume read the
copy, whatever the user's file holds now or wherever the command runs. Light on purpose: the
resume check runs before anything heavy is imported."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Optional

from omegaconf import DictConfig, OmegaConf, open_dict, read_write

log = logging.getLogger("qhybrid")


def run_circuit(run: Path) -> Optional[str]:
    """The model.quantum.circuit that reads the run folder's copy of the circuit's file, if it has one."""
    try:
        source = json.loads((run / "circuit.json").read_text()).get("source")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(source, dict) or not (run / str(source.get("file"))).is_file():
        return None
    path = str(run / source["file"])
    return f"{path}:{source['function']}" if "function" in source else path


def with_run_circuit(config: dict, run: Path) -> dict:
    """A run's config (a plain dict) with model.quantum.circuit reading the run folder's copy."""
    circuit = run_circuit(run)
    if circuit is None:
        return config
    config = copy.deepcopy(config)
    config["model"]["quantum"]["circuit"] = circuit
    return config


def resumed_config(cfg: DictConfig) -> DictConfig:
    """``resume=<folder>``: the composed config with the circuit read from the run's copy, so the
    resumed folds train the circuit the finished ones did (the settings check still compares the
    circuit as given)."""
    resume = cfg.get("resume")
    quantum = OmegaConf.select(cfg, "model.quantum")
    if not isinstance(resume, str) or not isinstance(quantum, DictConfig) or not isinstance(quantum.get("circuit"), str):
        return cfg
    circuit = run_circuit(Path(resume))
    if circuit is None:
        return cfg
    log.info("resume: the circuit is read from the run's copy %s", circuit)
    cfg = copy.deepcopy(cfg)
    with read_write(cfg), open_dict(cfg):
        cfg.model.quantum.circuit = circuit
    return cfg
