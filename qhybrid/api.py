"""The one-liner Python API: the CLI's code path without the shell.

    import qhybrid
    result = qhybrid.train(model="g6", data="iris", overrides=["trainer.max_epochs=50"])
    result.metrics["summary"]["roc_auc"], result.run_dir
    predictor = qhybrid.load(result.run_dir)          # or any run folder
    predictor.predict(X), predictor.predict_proba(X)   # X: (rows, features), the run's order

``train`` composes the config with Hydra exactly as ``qhybrid train`` does (the same
config tree, defaults and overrides, the same validation), writes the same run folder
(``.hydra/config.yaml`` and ``overrides.yaml``, ``train.log``, metrics, plots,
checkpoints) and returns what ``metrics.json`` holds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence


@dataclass
class TrainResult:
    metrics: dict[str, Any]
    run_dir: Path

    @property
    def summary(self) -> dict[str, dict[str, Optional[float]]]:
        return self.metrics["summary"]


def compose(overrides: Sequence[str] = ()):
    """The config ``qhybrid train <overrides>`` would run with (Hydra's compose API)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from qhybrid import resolvers

    resolvers.register()
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="qhybrid.conf", version_base="1.3"):
        return hydra_compose(config_name="config", overrides=list(overrides), return_hydra_config=True)


def train(model: Optional[str] = None, data: Optional[str] = None, overrides: Sequence[str] = (),
          run_dir: Optional[str | Path] = None) -> TrainResult:
    """Train like ``qhybrid train model=<model> data=<data> <overrides>``; the run folder is
    ``run_dir`` or, as on the command line, a new one under ./outputs/."""
    from omegaconf import OmegaConf

    from qhybrid.io import write_text
    from qhybrid.run import train as run_train

    given = [*([f"model={model}"] if model else []), *([f"data={data}"] if data else []), *overrides]
    cfg = compose(given)
    out = Path(run_dir) if run_dir is not None else Path(str(cfg.hydra.run.dir))
    # what a Hydra job sees: the config without its hydra node
    job_cfg = OmegaConf.create({k: v for k, v in OmegaConf.to_container(cfg, resolve=False).items() if k != "hydra"})
    handler = _file_log(out)
    try:
        metrics = run_train(job_cfg, out)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    write_text(out / ".hydra" / "config.yaml", OmegaConf.to_yaml(job_cfg))
    write_text(out / ".hydra" / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(given)))
    return TrainResult(metrics=metrics, run_dir=out)


def _file_log(out: Path) -> logging.Handler:
    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "train.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def load(run_dir: str | Path, checkpoint: str = "best", ensemble: bool = False):
    """A predictor for a run folder (qhybrid.predict.Predictor): ``predict(X)``,
    ``predict_proba(X)``, ``frame(DataFrame)``; ``checkpoint`` as in ``qhybrid predict``."""
    from qhybrid.predict import Predictor

    return Predictor(Path(run_dir), checkpoint, ensemble)
