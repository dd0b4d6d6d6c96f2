"""OmegaConf resolvers used by conf/config.yaml; registered before Hydra composes."""

from __future__ import annotations

import os

from omegaconf import OmegaConf

# One value per process: Hydra copies the resolver cache from the primary config into
# every job's config, so a run folder name resolves to the same string everywhere.
_PROCESS_UID = os.urandom(3).hex()


def register() -> None:
    if not OmegaConf.has_resolver("qh_uid"):
        OmegaConf.register_new_resolver("qh_uid", lambda: _PROCESS_UID, use_cache=True)
