"""`qhybrid <command> [overrides]`.

Hydra has no subcommands: the command word is stripped here and the rest of argv is handed
to ``@hydra.main``. Shell completion gets the same treatment (the command word is removed
from COMP_LINE before Hydra completes the overrides). Nothing heavy is imported at module
level: ``qhybrid --help`` must not pay for torch.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from pathlib import Path

from qhybrid import __version__
from qhybrid.errors import QHybridError, report

# command -> one-line description; the Hydra-backed ones take config overrides
COMMANDS: dict[str, str] = {
    "train": "train a model with cross-validation; writes a run folder under outputs/",
    "predict": "apply a run's saved models to a CSV file (qhybrid predict --help)",
    "backends": "list the quantum backends: can each start here, plugin version, GPU, why not",
    "bench": "time training steps of the quantum executors side by side (qhybrid bench --help)",
    "report": "one table (terminal, CSV, Markdown, HTML) for a run or a sweep (qhybrid report --help)",
    "circuit": "draw the configured circuit and print its resources (qhybrid circuit --help)",
}
HYDRA_COMMANDS = ("train",)

HELP = f"""\
qhybrid {__version__}: config-driven experiment runner for hybrid quantum-classical neural networks

usage: qhybrid <command> [group=option ...] [key=value ...]

commands:
{chr(10).join(f"  {name:<10} {text}" for name, text in COMMANDS.items())}

examples:
  qhybrid train
  qhybrid train model=g0 data=breast_cancer cv=stratified_kfold
  qhybrid train data=csv data.path=train.csv data.target=label data.test_path=test.csv cv=holdout
  qhybrid train -m seed=0,1,2            (a sweep: one run folder per job)
  qhybrid train --help                   (config groups, options and defaults)
  qhybrid train --cfg job                (the composed config, without running)
  qhybrid predict run=outputs/<date>/<run> input=new.csv [output=<csv>] [overwrite=true] [checkpoint=int8]
  qhybrid report outputs/<date>/<time>-<id>-sweep   (a sweep's runs and baselines in one table)
  qhybrid circuit model=g6               (the circuit drawn, its qubits, depth, gates, executions)

options:
  -h, --help       this message            -V, --version   print the version
  --debug          full tracebacks for errors (also QHYBRID_DEBUG=1 or HYDRA_FULL_ERROR=1)
  -sc install=bash|zsh|fish   print a shell completion script: eval "$(qhybrid -sc install=bash)"
"""


def _debug() -> bool:
    return os.environ.get("QHYBRID_DEBUG") == "1" or os.environ.get("HYDRA_FULL_ERROR") == "1"


def run() -> None:
    """The console script: ``main``, then an exit that skips the interpreter's teardown.

    By the time ``main`` returns every file a command writes is written and closed (atomic
    writes); what is left is freeing torch, PennyLane, scikit-learn and the rest module by
    module, which took seconds after each command here (docs/benchmarks.md). The rest of a
    normal exit still happens first: other non-daemon threads are waited for, atexit
    handlers run (logging's flush, a tracker's last upload), and the streams are flushed."""
    code = main()
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing left to flush into
            stream.flush()
    os._exit(code if isinstance(code, int) else 1)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader of the output went away (`qhybrid train --help | head`): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a process ended by SIGPIPE


def _main(argv: list[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args:
        args.remove("--debug")
        os.environ["QHYBRID_DEBUG"] = "1"
    if not args or args[0] in ("-h", "--help", "help"):
        print(HELP, end="")
        return 0
    if args[0] in ("-V", "--version"):
        print(f"qhybrid {__version__}")
        return 0
    if args[0] in ("-sc", "--shell-completion"):
        return _shell_completion(args[1:])
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        return report(QHybridError(f"unknown command {command!r}",
                                   f"use one of {', '.join(COMMANDS)} (qhybrid --help lists them)"))
    if command == "backends":
        return _backends(rest)
    if command == "predict":
        from qhybrid.predict import run as predict

        return predict(rest)
    if command == "bench":
        from qhybrid.bench import main as bench_main

        return bench_main(rest)
    if command == "report":
        from qhybrid.report import run as report_command

        return report_command(rest)
    if command == "circuit":
        from qhybrid.circuit_command import run as circuit_command

        return circuit_command(rest)
    return _run_hydra_command(command, rest)


def _backends(args: list[str]) -> int:
    if args and args[0] in ("-h", "--help"):
        print("usage: qhybrid backends\n\nTry to start every known quantum backend (and every installed PennyLane "
              "device) with 2 wires; show what works here and why the others do not.")
        return 0
    from rich.markup import escape
    from rich.table import Table

    from qhybrid.console import get_console
    from qhybrid.quantum.backends import survey

    rows = survey()
    gpu = "a CUDA GPU is visible to torch" if rows and rows[0]["gpu_visible"] else "no CUDA GPU is visible to torch"
    table = Table(title=f"quantum backends on this machine ({gpu})", title_justify="left")
    for column in ("backend", "device", "starts", "plugin version", "gradients", "why not"):
        table.add_column(column, overflow="fold")
    for r in rows:
        version = f"{r['plugin']} {r['version']}" if r["plugin"] else "-"
        table.add_row(r["backend"], r["device"], "yes" if r["available"] else "no", version,
                      ", ".join(r["diff_methods"]) or "-", escape(r["why_not"]))
    get_console().print(table)
    return 0


# launcher options -> the plugin package they need
LAUNCHER_PLUGINS = {"joblib": ("hydra_joblib_launcher", "'qhybrid[cluster]'"),
                    "slurm": ("hydra_submitit_launcher", "'qhybrid[cluster]'"),
                    "slurm_local": ("hydra_submitit_launcher", "'qhybrid[cluster]'"),
                    "submitit_slurm": ("hydra_submitit_launcher", "'qhybrid[cluster]'"),
                    "submitit_local": ("hydra_submitit_launcher", "'qhybrid[cluster]'")}


def _missing_launcher(args: list[str]) -> QHybridError | None:
    """One line naming the plugin a `hydra/launcher=<name>` needs when it is not installed."""
    import importlib.util

    for arg in args:
        key, _, name = arg.partition("=")
        if key.lstrip("+~") == "hydra/launcher" and name in LAUNCHER_PLUGINS:
            module, package = LAUNCHER_PLUGINS[name]
            if importlib.util.find_spec(f"hydra_plugins.{module}") is None:
                return QHybridError(f"hydra/launcher={name} needs the {module.replace('_', '-')} plugin, which "
                                    "is not installed", f"pip install {package}")
    return None


def _run_hydra_command(command: str, args: list[str]) -> int:
    import hydra

    missing = _missing_launcher(args)
    if missing:
        return report(missing)

    from hydra_plugins.qhybrid_sweeper import optuna_cv
    from qhybrid import preflight, resolvers

    resolvers.register()
    optuna_cv.register()
    failures: list[str] = []

    @hydra.main(version_base="1.3", config_path="pkg://qhybrid.conf", config_name="config")
    def job(cfg):
        return _run_job(command, cfg, failures)

    from qhybrid import sweep

    args = _resume_in_place(args)
    try:  # before Hydra writes anything: a refused run leaves every existing file as it was
        args = preflight.prepare(args)
    except QHybridError as err:
        if _debug():
            raise
        return report(err)
    saved = sys.argv
    sys.argv = [str(Path(saved[0]).with_name("qhybrid")) if saved else "qhybrid", *args]
    sweep.FAILED.clear()
    try:
        job()
    finally:
        sys.argv = saved
    # jobs run in this process report here; those of parallel launchers through their folders
    failed = sweep.FAILED or failures
    if failed:
        print(f"qhybrid: {len(failed)} job(s) failed: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _run_job(command: str, cfg, failures: list[str]):
    import logging

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hydra_cfg = HydraConfig.get()
    out = Path(hydra_cfg.runtime.output_dir)
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    log = logging.getLogger("qhybrid")
    _limit_threads(hydra_cfg)
    _stop_on_sigterm()
    try:
        from qhybrid.run import train

        metrics = train(cfg, out)
        # a sweeper that optimises (hydra/sweeper=optuna_cv) reads the mean CV metrics from here
        return {name: stat["mean"] for name, stat in metrics["summary"].items()}
    except KeyboardInterrupt:
        _interrupted(out, hydra_cfg)
    except Exception as raised:  # noqa: BLE001 - every failure of a job is one line; its traceback goes to the log
        if _debug():
            raise
        err = _failed(raised, out, hydra_cfg.job.name, multirun, log)
        if multirun:
            failures.append(f"{out.name}: {err}")
            return None
        raise SystemExit(err.exit_code) from None


def _failed(raised: Exception, out: Path, job_name: str, multirun: bool, log):
    """Print a job's failure as one line and decide what its folder keeps: a sweep's job keeps
    its log (the sweep and the report list it); a single run refused before it finished
    anything leaves no folder; a bug keeps its traceback in the log."""
    import logging

    from qhybrid import run_folder
    from qhybrid.console import log_to_file_only
    from qhybrid.errors import unexpected

    expected = isinstance(raised, QHybridError)
    err = raised if expected else unexpected(raised, out / f"{job_name}.log")
    report(err)
    if not multirun and expected and run_folder.discard_unused(out):
        return err
    if not expected:
        log_to_file_only(log, logging.DEBUG, "the failure's traceback:", exc_info=raised)
    if multirun or not expected or run_folder.owned_here(out):  # a refused resume leaves the run's log alone
        log_to_file_only(log, logging.ERROR, str(err))
    return err


def _interrupted(out: Path, hydra_cfg) -> None:
    from qhybrid.run_folder import is_run

    if is_run(out):
        overrides = [o for o in hydra_cfg.overrides.task if not o.startswith(("resume=", "hydra.run.dir="))]
        print(f"qhybrid: interrupted. Finished folds and the current fold's last epoch are kept in {out}; "
              f"continue with: qhybrid train "
              f"{' '.join(overrides)} resume={out}".replace("  ", " "), file=sys.stderr)
    else:
        print("qhybrid: interrupted before the run started", file=sys.stderr)
    raise SystemExit(130) from None


def _resume_in_place(args: list[str]) -> list[str]:
    """`resume=<folder>` continues in that folder: Hydra's run dir becomes it (the log is
    appended to, the folds already there are kept)."""
    folder = next((a.split("=", 1)[1] for a in args if a.startswith("resume=")), None)
    if folder and not any(a.startswith("hydra.run.dir=") for a in args) and "-m" not in args \
            and "--multirun" not in args:
        from qhybrid.preflight import hydra_value

        return [*args, f"hydra.run.dir={hydra_value(folder)}"]
    return args


def _stop_on_sigterm() -> None:
    """SLURM pre-emption and `kill` send SIGTERM: stop like Ctrl-C, between two atomic writes."""
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def _limit_threads(hydra_cfg) -> None:
    """A job of a parallel launcher (joblib's processes) computes on one thread: the
    launcher already runs a job per core, and a thread pool per job on top would
    oversubscribe the cores. QHYBRID_THREADS=N sets the count for any run or job (a value
    that is not a count is refused at validation). Otherwise trainer.threads decides
    (qhybrid.threads)."""
    from qhybrid import threads as thread_policy  # lazy: loads torch; `qhybrid --help` must not

    wanted = os.environ.get("QHYBRID_THREADS")
    target = str(hydra_cfg.launcher.get("_target_", ""))
    if wanted is None and "joblib" not in target.lower():
        thread_policy.fix(None)
        return
    from qhybrid.training.spec import env_threads  # checked at validation: a bad value never gets here

    count = env_threads() or 1
    thread_policy.fix(count, f"QHYBRID_THREADS={wanted}" if wanted is not None else "one per parallel job")


def _shell_completion(args: list[str]) -> int:
    """`-sc install=SHELL` prints Hydra's script; the script calls back `qhybrid -sc query=SHELL`."""
    spec = args[0] if args else ""
    if spec.startswith(("install=", "uninstall=")):
        return _run_hydra_command(HYDRA_COMMANDS[0], ["-sc", spec])
    if not spec.startswith("query="):
        return report(QHybridError("expected -sc install=bash|zsh|fish", 'eval "$(qhybrid -sc install=bash)"'))
    shell = spec.split("=", 1)[1]
    line = os.environ.get("COMP_LINE", "")
    words = line.split()
    if len(words) <= 1 or (len(words) == 2 and not line.endswith(" ")):
        prefix = words[1] if len(words) == 2 else ""
        matches = [c for c in COMMANDS if c.startswith(prefix)]
        print(("\n" if shell == "fish" else " ").join(matches))
        return 0
    if words[1] not in HYDRA_COMMANDS:
        return 0
    parts = line.lstrip().split(None, 2)
    os.environ["COMP_LINE"] = f"{parts[0]} {parts[2] if len(parts) > 2 else ''}"
    os.environ["COMP_POINT"] = str(len(os.environ["COMP_LINE"]))
    return _run_hydra_command(words[1], ["-sc", spec])


if __name__ == "__main__":
    sys.exit(main())
