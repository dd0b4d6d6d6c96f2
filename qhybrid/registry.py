"""One registry per config group: an option's name, the schema its YAML is checked against,
the builder that turns the checked spec into objects, and a line saying what it is.

Validation (qhybrid.schema) binds a group's YAML to the schema its ``name`` registers, build
code calls the builder, ``qhybrid train --help`` and ``qhybrid backends`` list the options.
An option is registered by the module that implements it, so adding one is its YAML file
plus that module:

* a module inside qhybrid goes in the group's package of options (``qhybrid/data/sets/``,
  ``qhybrid/quantum/backend_options/``, ...), which the registry imports on first use;
* a module of your own is named by the option's YAML: ``module: my_package.my_data`` or
  ``module: path/to/my_data.py`` (relative to the working directory).

Builders are ``"module:function"`` strings, imported when first called, so that listing the
options (``--help``) imports no simulator or learning library.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from importlib.machinery import SourceFileLoader
from pathlib import Path
from typing import Any, Optional, Union

from qhybrid.errors import ConfigError, first_line

_STAMPS: dict[str, str] = {}  # module name -> file_stamp of the source it was imported from


@dataclass(frozen=True)
class Option:
    name: str
    schema: Optional[type]  # the dataclass the option's YAML is merged onto (None: the group's shared one)
    builder: Union[str, Callable]  # "module:function", or the function itself
    summary: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # what else the group records per option

    def build(self, *args: Any, **kwargs: Any) -> Any:
        return resolve_callable(self.builder)(*args, **kwargs)


class Registry:
    """The options of one config group, in the order they were registered."""

    def __init__(self, group: str, kind: str, package: Optional[str] = None):
        self.group = group
        self.kind = kind  # "data set", "backend": how an error names an option
        self.package = package
        self._options: dict[str, Option] = {}
        self._discovered = package is None

    def add(self, name: str, schema: Optional[type], builder: Union[str, Callable], summary: str = "",
            **extra: Any) -> Option:
        known = self._options.get(name)
        if known is not None and known.builder != builder:
            raise ValueError(f"{self.group} option {name!r} is registered twice")
        option = Option(name, schema, builder, summary, extra)
        self._options[name] = option
        return option

    def names(self) -> list[str]:
        self._discover()
        return list(self._options)

    def options(self) -> list[Option]:
        self._discover()
        return list(self._options.values())

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._options

    def get(self, name: Any, module: Optional[str] = None, key: Optional[str] = None) -> Option:
        """The option ``name``; ``module`` (the YAML's ``module:`` key) is imported first.
        An unknown name is one ConfigError line listing the known ones."""
        if module:
            import_option_module(module, f"{self.group}.module")
        self._discover()
        if isinstance(name, Hashable) and name in self._options:  # a YAML list or mapping is no name
            return self._options[name]
        key = key or f"{self.group}.name"
        close = difflib.get_close_matches(str(name), list(self._options), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ConfigError(f"{key}={name!r} is not a known {self.kind}",
                          f"{hint}use one of {', '.join(self._options)}, or register your own (module: <file>.py "
                          f"in its YAML; see qhybrid/registry.py)")

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        package = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{self.package}.{info.name}")


def resolve_callable(target: Union[str, Callable]) -> Callable:
    if callable(target):
        return target
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def import_option_module(module: str, key: str, reload_changed: bool = False) -> Any:
    """Import (once) the module that registers a user's option: a dotted name or a .py file.
    ``reload_changed``: a .py file whose content changed since it was imported runs again (a
    user's function edited between two runs of one process); registering modules keep the
    default, as running one twice would register its options twice."""
    if module.lower().endswith(".py"):
        return _import_file(Path(module).expanduser(), module, key, reload_changed)
    _execute(lambda: importlib.import_module(module), key, module, None)
    return sys.modules[module]


def file_stamp(path: Path) -> str:
    """A digest of a file's content: unlike its mtime, it changes with every edit, however quick."""
    return _digest(path.read_bytes())


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _import_file(path: Path, module: str, key: str, reload_changed: bool) -> Any:
    if not path.is_file():
        raise ConfigError(f"{key}: no such file: {path.resolve()}",
                          f"check the path (relative paths are read from {Path.cwd()})")
    name = f"qhybrid_option_{path.stem}_{abs(hash(str(path.resolve())))}"
    source = path.read_bytes()
    stamp = _digest(source)
    if name not in sys.modules or (reload_changed and _STAMPS.get(name) != stamp):
        # the loader named: without it, a file.PY (any case but .py) would have no spec
        spec = importlib.util.spec_from_file_location(name, path, loader=SourceFileLoader(name, str(path)))
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        # compiled from the bytes just read, not through the loader: its bytecode cache goes by
        # the mtime in seconds and the size, and would serve an edit made within the same second
        _execute(lambda: exec(compile(source, str(path), "exec"), loaded.__dict__), key, module, name)
        _STAMPS[name] = stamp
    return sys.modules[name]


def import_target(reference: str, key: str) -> Callable:
    """A user's function named ``path/to/file.py:function`` or ``package.module:function``."""
    module, sep, name = str(reference).rpartition(":")
    if not sep or not module or not name.isidentifier():
        raise ConfigError(f"{key}={reference!r} does not name a function",
                          f"write {key}=path/to/file.py:function or {key}=package.module:function")
    target = getattr(import_option_module(module, key, reload_changed=True), name, None)
    if not callable(target):
        raise ConfigError(f"{key}={reference}: {module} has no function {name!r}",
                          "check the function's name (after the colon)")
    return target


def _execute(load: Callable[[], Any], key: str, module: str, name: Optional[str]) -> None:
    try:
        load()
    except ConfigError:
        raise
    except ModuleNotFoundError as err:
        if name:
            sys.modules.pop(name, None)
        raise ConfigError(f"{key}={module}: cannot import it ({first_line(err, typed=True)})",
                          "give an importable module or the path of a .py file") from None
    except Exception as err:  # the user's module failed while it was imported
        if name:
            sys.modules.pop(name, None)
        raise ConfigError(f"{key}={module} failed while it was imported: {first_line(err, typed=True)}",
                          "fix the module (run it with python to see the traceback)") from None


def help_text(registries: list[Registry]) -> str:
    """The options of each registry with their summaries, for ``qhybrid train --help``."""
    lines = []
    for registry in registries:
        lines.append(f"{registry.group}:")
        for option in registry.options():
            lines.append(f"  {option.name:<20} {option.summary}".rstrip())
    return "\n".join(lines)
