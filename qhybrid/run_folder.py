"""Run folders: which folder a run may write into, and which process owns it.

A new run writes only into a folder that does not exist yet or is empty: never into a
folder of the user's, never over another run. A run folder carries a marker naming the
process that writes it, so a second process (a `resume=` typed twice, a requeued job whose
first copy still runs) is refused instead of training the same folds in parallel.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any, Optional

from qhybrid import io
from qhybrid.errors import ConfigError, QHybridError, from_os_error

RUN_MARKER = ".qhybrid-run"
# what Hydra writes into the run folder before the job starts (the job's own log, its config)
HYDRA_FILES = frozenset({".hydra", "train.log"})


def is_run(folder: Path) -> bool:
    return (Path(folder) / RUN_MARKER).is_file()


def is_finished(folder: Path) -> bool:
    """metrics.json is written last: a run that has it has nothing left to train."""
    return (Path(folder) / "metrics.json").is_file()


def contents(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in Path(folder).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def check_new(folder: Path, key: str = "hydra.run.dir") -> None:
    """A new run may use ``folder`` only when it is absent or empty."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{key}={folder} is a file, not a folder", "choose a new folder for the run")
    blocking = next((p for p in folder.absolute().parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ConfigError(f"{key}={folder} cannot be created: {blocking} is a file, not a folder",
                          "choose a path whose parent folders exist or can be created")
    found = contents(folder)
    if not found:
        return
    if is_run(folder):
        if is_finished(folder):
            fix = "it is finished: choose a new folder (or leave hydra.run.dir out for a fresh one)"
        elif not has_results(folder):
            fix = "it holds no finished fold (a run stopped at its start): delete the folder, or choose a new one"
        else:
            fix = f"continue it with resume={folder}, or choose a new folder"
        raise ConfigError(f"{key}={folder} is the folder of an existing run; a new run never writes into it", fix)
    shown = ", ".join(found[:5]) + (f", ... ({len(found) - 5} more)" if len(found) > 5 else "")
    raise ConfigError(f"{key}={folder} is not empty (it holds {shown}); qhybrid writes a run only into a new or "
                      "empty folder, so nothing of yours is overwritten",
                      f"choose a new folder, or leave {key} out (a fresh timestamped one is made)")


def create(folder: Path, key: str = "hydra.run.dir") -> None:
    """Make the (new or empty) folder now: a folder that cannot be made or written is found
    before the run starts, as one line."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        probe = Path(folder) / f".qhybrid-probe.{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"{key}={folder} cannot be used ({from_os_error(err).problem})",
                          "choose a folder you can write to (or fix its permissions / free disk space)") from None


# run folders this process checked to be absent or empty -> the first folder of its path that
# did not exist yet (None: the run folder itself existed, empty)
_NEW_FOLDERS: dict[str, Optional[Path]] = {}


def remember_new(folder: Path) -> None:
    """``folder`` was checked to be new or empty: whatever is in it later, this run wrote."""
    folder = Path(folder).absolute()
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    _NEW_FOLDERS[str(folder)] = missing[-1] if missing else None


def has_results(folder: Path) -> bool:
    folder = Path(folder)
    return is_finished(folder) or any((folder / "folds").glob("fold_*")) or any((folder / "checkpoints").glob("*"))


def discard_unused(folder: Path) -> bool:
    """A new run refused before it finished anything leaves nothing behind: the folder goes
    (or, when it was an empty folder of the user's, is emptied again). Returns whether it did."""
    key = str(Path(folder).absolute())
    if key not in _NEW_FOLDERS or has_results(folder):
        return False
    first_new = _NEW_FOLDERS.pop(key)
    if first_new is not None:
        shutil.rmtree(folder, ignore_errors=True)
        for parent in Path(key).parents:  # outputs/<date>/ as well, when this run made them and they are empty
            if not parent.is_relative_to(first_new) or contents(parent):
                break
            parent.rmdir()
        return True
    for entry in contents(folder):
        path = Path(folder) / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return True


def owned_here(folder: Path) -> bool:
    """Whether this process claimed (or took over) the run folder."""
    try:
        return owner(folder).get("pid") == os.getpid()
    except OSError:
        return False


def _process_start(pid: int) -> Optional[str]:
    """When the process started (Linux: clock ticks since boot), so that a reused pid is
    not taken for the run's own process; None where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _owner_record() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "process_start": _process_start(pid)}


def owner(folder: Path) -> dict[str, Any]:
    """The marker's record; markers of earlier versions hold only 'pid N'."""
    text = (Path(folder) / RUN_MARKER).read_text()
    try:
        record = json.loads(text)
        return record if isinstance(record, dict) else {}
    except ValueError:
        words = text.split()
        return {"pid": int(words[1])} if len(words) == 2 and words[1].isdigit() else {}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def running_owner(folder: Path) -> Optional[dict[str, Any]]:
    """The record of the process that still writes ``folder``, or None. A process on
    another host cannot be checked from here and counts as gone (a requeued job)."""
    try:
        record = owner(folder)
    except OSError:
        return None
    pid = record.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return None
    if record.get("host", socket.gethostname()) != socket.gethostname() or not alive(pid):
        return None
    started = record.get("process_start")
    if started is not None and _process_start(pid) not in (None, started):
        return None  # the pid now belongs to another process
    return record


def claim(folder: Path) -> Path:
    """Create the run's marker atomically (two runs never share a folder); the folder may
    hold only what Hydra wrote for this very job."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    foreign = [name for name in contents(folder) if name not in HYDRA_FILES]
    if foreign and not is_run(folder):
        check_new(folder, "run folder")
    try:
        fd = os.open(folder / RUN_MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise QHybridError(f"run folder {folder} is already used by another run",
                           "start the run again (a new folder is chosen), or set hydra.run.dir") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(_owner_record()) + "\n")
    return folder


def check_not_running(folder: Path) -> None:
    """``resume=<folder>``: refused while the process that writes the run is alive."""
    record = running_owner(folder)
    if record is not None:
        raise ConfigError(f"resume={folder}: the run is still running (process {record['pid']} on this machine); "
                          "two processes would train the same folds", f"wait for it to end, or stop it first "
                          f"(kill {record['pid']}: it keeps its last epoch), then resume")


def check_unfinished(folder: Path) -> None:
    if is_finished(folder):
        raise ConfigError(f"resume={folder}: the run is finished (it has metrics.json); there is nothing to resume",
                          "start a new run (leave resume out)")


def take_over(folder: Path) -> None:
    """A resumed run becomes the folder's owner."""
    io.write_text(Path(folder) / RUN_MARKER, json.dumps(_owner_record()) + "\n")
