"""Everything `qhybrid train` checks before Hydra touches the disk.

Hydra creates the run folder and writes `.hydra/` and the log before the job starts, so a
run refused inside the job has already written into the folder it was refused for: a
user's folder given as hydra.run.dir, or the very run whose settings the refusal tells the
user to read. Here the command line is composed exactly as Hydra will compose it, its
mistakes become one line, the config is validated and the run folder is checked. Hydra
then gets the same overrides with the run folder pinned, so it uses the folder that was
checked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra._internal.utils import create_config_search_path, get_args_parser
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import setup_globals
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from qhybrid import resolvers, run_folder
from qhybrid.circuit_copy import resumed_config
from qhybrid.errors import ConfigError, QHybridError
from qhybrid.hydra_errors import one_line
from qhybrid.schema import validate

# Hydra flags after which no job runs: nothing to check
NO_JOB = ("help", "hydra_help", "shell_completion", "info")
SWEEP_CHECK_LIMIT = 64  # jobs of a sweep composed one by one before it starts


def hydra_value(text: str) -> str:
    """``text`` quoted for Hydra's override grammar (paths with spaces, '=' or quotes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def prepare(args: list[str]) -> list[str]:
    """Check a `qhybrid train` command line; return the arguments to hand Hydra."""
    parsed = get_args_parser().parse_args(args)
    if any(getattr(parsed, flag, None) for flag in NO_JOB):
        return args
    composer = Composer(parsed.config_dir)
    overrides = list(parsed.overrides)
    refuse_repeats(overrides)
    if parsed.cfg:
        composer.compose(overrides)
        return args
    if parsed.multirun:
        return [*args, *_prepare_sweep(composer, overrides)]
    cfg = composer.compose(overrides)
    return [*args, *_prepare_run(cfg)]


def refuse_repeats(overrides: list[str]) -> None:
    """The same key twice (trainer.max_epochs=2 ... trainer.max_epochs=3): Hydra would take the
    last without a word, and which one the user meant is anybody's guess."""
    seen: dict[str, str] = {}
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0]
        if key.startswith(("hydra.", "hydra/")):
            continue
        if key in seen:
            raise ConfigError(f"{key} is given twice: {seen[key]} and {override}", "give each key once")
        seen[key] = override
        if key == "logger" and re.fullmatch(r"\[.*\bnone\b.*,.*\]|\[.*,.*\bnone\b.*\]", override.split("=", 1)[1]):
            # the options' configs merge, so none (no tracker) would silently switch off the others
            raise ConfigError(f"{override} lists none (no tracker) beside other loggers",
                              "drop none from the list, or give logger=none alone")


def job_config(cfg: DictConfig) -> DictConfig:
    """What a Hydra job sees: the composed config without its hydra node."""
    return OmegaConf.create({k: v for k, v in OmegaConf.to_container(cfg, resolve=False).items() if k != "hydra"})


def _prepare_run(cfg: DictConfig) -> list[str]:
    job = job_config(cfg)
    spec = validate(resumed_config(job))
    if spec.resume is not None:
        check_resume(Path(spec.resume), job)
        # the run's own .hydra/ stays as it was: it records how the run was started
        return ["hydra.output_subdir=null"]
    run_dir = Path(str(cfg.hydra.run.dir))
    run_folder.check_new(run_dir)
    run_folder.remember_new(run_dir)
    run_folder.create(run_dir)
    return [f"hydra.run.dir={hydra_value(str(run_dir))}"]  # ${now:} would resolve again, a second later


def check_resume(folder: Path, job: DictConfig) -> None:
    """``resume=<folder>``: an unfinished run, not running elsewhere, started with these settings."""
    from qhybrid.training import resume  # lazy: loads torch; `qhybrid train --help` imports this module

    run_folder.check_not_running(folder)
    resume.check_same_config(folder, OmegaConf.to_container(job, resolve=True))
    run_folder.check_unfinished(folder)
    resume.check_records(folder)


def _prepare_sweep(composer: Composer, overrides: list[str]) -> list[str]:
    """Every job of a sweep must compose and validate before the first one starts (a typo in
    one value would otherwise stop the sweep half-way, or after hours); the sweep folder must
    be new. What only a job's data can tell (a bad file's contents) fails that job alone,
    and the sweep reports it."""
    if any(o.split("=", 1)[0] == "resume" for o in overrides):
        raise ConfigError("resume= continues one interrupted run; it cannot be part of a sweep (-m)",
                          "resume each run on its own: qhybrid train <its overrides> resume=<its folder>")
    jobs = _sweep_jobs(overrides)
    swept = {o.split("=", 1)[0] for o in overrides if o not in _without_sweeps(overrides)}
    for job in jobs:
        try:
            validate(job_config(composer.compose(job)))
        except QHybridError as err:
            values = " ".join(o for o in job if o.split("=", 1)[0] in swept)
            raise type(err)(f"the sweep's job {values}: {err.problem}", err.fix) from None
    cfg = composer.compose(jobs[0] if jobs else _without_sweeps(overrides))
    sweep_dir = Path(str(cfg.hydra.sweep.dir))
    run_folder.check_new(sweep_dir, "hydra.sweep.dir")
    run_folder.create(sweep_dir, "hydra.sweep.dir")
    return [f"hydra.sweep.dir={hydra_value(str(sweep_dir))}"]


def _sweep_jobs(overrides: list[str]) -> list[list[str]]:
    """The overrides of each job, for sweeps of listed values (a,b,c / range / choice);
    [] when a sweep Hydra's basic sweeper cannot expand here (an optimiser's interval)."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    if any(o.is_sweep_override() and not o.is_discrete_sweep() for o in parsed):
        return []
    jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    if len(jobs) <= SWEEP_CHECK_LIMIT:
        return jobs
    return _covering(jobs)


def _covering(jobs: list[list[str]]) -> list[list[str]]:
    """A few jobs that, together, use every value of every swept key."""
    chosen, seen = [], set()
    for job in jobs:
        new = set(job) - seen
        if new:
            chosen.append(job)
            seen |= new
    return chosen


def _without_sweeps(overrides: list[str]) -> list[str]:
    parsed = OverridesParser.create().parse_overrides(overrides)
    return [o.input_line for o in parsed if not o.is_sweep_override()]


class Composer:
    """Hydra's own config loader, with qhybrid's config tree (and ``-cd <dir>`` before it),
    as ``@hydra.main`` builds it; composition errors become one line."""

    def __init__(self, config_dir: Optional[str] = None):
        setup_globals()  # ${now:...} in the run folder's name
        resolvers.register()
        search_path = create_config_search_path("pkg://qhybrid.conf")
        if config_dir is not None:
            folder = Path(config_dir).expanduser().resolve()
            if not folder.is_dir():
                raise ConfigError(f"--config-dir {config_dir}: no such folder ({folder})",
                                  "give the folder that holds your config groups")
            search_path.prepend(provider="command-line", path=f"file://{folder}",
                                anchor=SearchPathQuery(provider="schema"))
        self.loader = ConfigLoaderImpl(config_search_path=search_path)

    def _load(self, overrides: list[str]) -> DictConfig:
        return self.loader.load_configuration("config", list(overrides), RunMode.RUN, from_shell=True)

    def compose(self, overrides: list[str]) -> DictConfig:
        try:
            cfg = self._load(overrides)
            str(cfg.hydra.run.dir), str(cfg.hydra.sweep.dir)  # resolve now: a bad interpolation is found here
            return cfg
        except (HydraException, OmegaConfBaseException) as err:
            raise one_line(err, list(overrides), self._load) from None
        except ValueError as err:  # Hydra's own: trainer=0.1, a number where a group's option goes
            if "Config group override must be" not in str(err):
                raise
            given = next((o for o in overrides if "." not in o.split("=", 1)[0] and "=" in o
                          and re.fullmatch(r"[-+0-9.eE_]+|true|false", o.split("=", 1)[1].strip().lower())), None)
            group = given.split("=", 1)[0].lstrip("+~") if given else "a group"
            raise ConfigError(f"{given or 'an override'} gives {group} a value where one of its options goes",
                              f"name an option (qhybrid train --help lists them: {group}=<option>), or set one of "
                              f"its keys: {group}.<key>={given.split('=', 1)[1] if given else '...'}") from None
