"""OmegaConf resolvers used by conf/config.yaml; registered before Hydra composes."""

from __future__ import annotations

import os

from omegaconf import OmegaConf


def _uid() -> str:
    return os.urandom(3).hex()


def register() -> None:
    """``${qh_uid:}``: a new short random id for each composed config (cached within it), so
    two runs started in the same second — two processes, or two qhybrid.train calls in one —
    get two folders. Every job of a sweep shares its sweep folder because qhybrid pins the
    resolved folder on Hydra's command line before the jobs are composed (qhybrid.preflight)."""
    if not OmegaConf.has_resolver("qh_uid"):
        OmegaConf.register_new_resolver("qh_uid", _uid, use_cache=True)
