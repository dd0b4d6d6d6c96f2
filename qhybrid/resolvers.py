"""OmegaConf resolvers used by conf/config.yaml; registered before Hydra composes."""

from __future__ import annotations

import os

from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from qhybrid.data.options import DATA
from qhybrid.quantum.ansatze import ANSATZE
from qhybrid.quantum.backend_options import BACKENDS
from qhybrid.registry import help_text
from qhybrid.tracking import LOGGERS
from qhybrid.training.baselines import BASELINES
from qhybrid.training.cv_spec import CV
from qhybrid.training.spec import LOSSES, SCHEDULERS


def _uid() -> str:
    return os.urandom(3).hex()


def register() -> None:
    """``${qh_uid:}``: a new short random id for each composed config (cached within it), so
    two runs started in the same second — two processes, or two qhybrid.train calls in one —
    get two folders. Every job of a sweep shares its sweep folder because qhybrid pins the
    resolved folder on Hydra's command line before the jobs are composed (qhybrid.preflight)."""
    if not OmegaConf.has_resolver("qh_uid"):
        OmegaConf.register_new_resolver("qh_uid", _uid, use_cache=True)
    if not OmegaConf.has_resolver("qh_options"):
        OmegaConf.register_new_resolver("qh_options", options_help)
    if not OmegaConf.has_resolver("qh_groups"):
        OmegaConf.register_new_resolver("qh_groups", groups_help)


# Hydra resolves the help template each time it composes a config (every run, every test),
# so each listing is made once per process and per config search path
_HELP_CACHE: dict[tuple, str] = {}


def groups_help() -> str:
    """``${qh_groups:}``: Hydra's list of config groups without the files a group's options
    include (``_defaults``, named with a leading underscore), which are not options."""
    loader = GlobalHydra.instance().config_loader()
    key = ("groups", *((source.provider, source.path) for source in loader.get_sources()))
    if key not in _HELP_CACHE:
        lines = []
        for group in sorted(g for g in loader.list_groups("") if g != "hydra"):
            options = [o for o in loader.get_group_options(group) if not o.startswith("_")]
            if options:
                lines.append(f"{group}: {', '.join(options)}")
        _HELP_CACHE[key] = "\n".join(lines)
    return _HELP_CACHE[key]


def options_help() -> str:
    """``${qh_options:}`` in ``qhybrid train --help``: the registered options of each group
    with a line about each (qhybrid.registry), so the help lists what the code runs."""
    registries = [DATA, CV, BACKENDS, ANSATZE, BASELINES, LOSSES, SCHEDULERS, LOGGERS]
    key = ("options", *(len(registry.names()) for registry in registries))  # a user's module may add one
    if key not in _HELP_CACHE:
        _HELP_CACHE[key] = help_text(registries)
    return _HELP_CACHE[key]
