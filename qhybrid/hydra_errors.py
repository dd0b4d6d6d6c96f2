"""Hydra's composition errors as qhybrid's one line: what is wrong with which override, and
the fix (the closest key or option, how to quote a value) instead of Hydra's multi-line
text, which for an unknown key suggests `+key=...`, the one thing qhybrid then rejects.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from importlib import resources
from typing import Any, Optional

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from qhybrid.errors import ConfigError, first_line

HELP = "qhybrid train --help lists the groups and options; qhybrid train --cfg job shows every key"


def one_line(err: Exception, overrides: list[str], compose: Callable[[list[str]], Any]) -> ConfigError:
    """The ConfigError for a composition error of ``overrides``; ``compose`` composes another
    list of overrides (used to find the keys that do exist next to a mistyped one)."""
    text = str(err)
    first = first_line(err, 10_000)
    if type(err).__name__ == "OverrideParseException":
        return _unparsable(overrides)
    if "Available options in" in text:
        return _missing_option(text)
    found = re.match(r"Could not override '([^']+)'", first)
    if found:
        return _unknown_key(found.group(1), overrides, compose)
    found = re.match(r"Could not append to config\. An item is already at '([^']+)'", first)
    if found:
        key = found.group(1)
        given = next((o for o in overrides if o.lstrip("+").split("=", 1)[0] == key), f"+{key}=...")
        return ConfigError(f"{key} already exists, so {given} cannot add it", f"drop the +: {given.lstrip('+')}")
    found = re.match(r"Ambiguous value for argument '([^']+)'", first)
    if found:
        given = found.group(1)
        key, _, value = given.partition("=")
        return ConfigError(f"{given} gives several values, and only a sweep runs several",
                           f"add -m to run one job per value (qhybrid train -m {given}), or quote it for one "
                           f"text value: \"{key}='{value}'\", or use brackets for a list: {key}=[{value}]")
    found = re.search(r"Could not load '([\w/]+)/([^'/]+)'", first)
    if found:
        return _unloadable_option(found.group(1), found.group(2))
    found = re.match(r"Could not delete from config\. (?:The value of )?'?([^' ]+)'?", first)
    if found:
        return ConfigError(f"cannot delete {found.group(1)}: {first}", f"check the key's name ({HELP})")
    return ConfigError(f"the overrides cannot be composed into a config ({first})", f"check the override ({HELP})")


def _unparsable(overrides: list[str]) -> ConfigError:
    parser = OverridesParser.create()
    for override in overrides:
        try:
            parser.parse_overrides([override])
        except Exception:  # noqa: BLE001 - Hydra's grammar raises several types
            return ConfigError(*_parse_problem(override))
    return ConfigError("the command line's overrides cannot be read", "write each as key=value or group=option")


def _parse_problem(override: str) -> tuple[str, str]:
    key, equals, value = override.partition("=")
    if not equals:
        return (f"the override {override!r} has no value",
                f"write key=value (e.g. {override}=<value>), or group=option")
    if not value:
        return f"the override {override!r} has an empty value", f"give a value, or null: {key}=null"
    quoted = value.replace("\\", "\\\\").replace("'", "\\'")
    return (f"the value of {key} cannot be read as written ({value!r}: characters such as = ; ' \" ( ) [ ] {{ }} "
            "and spaces need quotes)",
            f"quote it for Hydra, and the whole override for the shell: \"{key}='{quoted}'\"")


def _missing_option(text: str) -> ConfigError:
    wanted = re.search(r"Could not find '([^']+)'", text)
    group_options = re.search(r"Available options in '([^']+)':\n((?:\t[^\n]*\n?)*)", text)
    path = wanted.group(1) if wanted else "?"
    group = group_options.group(1) if group_options else path.rsplit("/", 1)[0]
    options = sorted((o.strip() for o in group_options.group(2).splitlines() if o.strip()),
                     key=_natural) if group_options else []
    name = path.rsplit("/", 1)[-1]
    close = difflib.get_close_matches(name, options, n=1)
    hint = f"did you mean {group}={close[0]}? " if close else ""
    return ConfigError(f"{group}={name} is not an option of the {group} group",
                       f"{hint}the options are {', '.join(options) or 'none'}")


def _natural(name: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name) if p)


def _unknown_key(key: str, overrides: list[str], compose: Callable[[list[str]], Any]) -> ConfigError:
    parent, _, leaf = key.rpartition(".")
    switch = next((o for o in overrides if o.split("=", 1)[0] == parent and o.split("=", 1)[1] in ("true", "false")),
                  None)
    if switch:  # plots=false plots.dpi=300: the switch replaced the block its keys belong to
        return ConfigError(f"{key} is set beside {switch}, which replaces the {parent} block",
                           f"write {parent}.enabled={switch.split('=', 1)[1]} to keep both")
    others = [o for o in overrides if o.lstrip("+~").split("=", 1)[0] != key]
    known = _keys_at(parent, others, compose)
    close = difflib.get_close_matches(leaf, known, n=1, cutoff=0.6)
    where = f"{parent}." if parent else ""
    if close:
        fix = f"did you mean {where}{close[0]}?"
    elif known:
        fix = f"the keys of {parent or 'the config'} are {', '.join(known[:20])}"
    else:
        fix = f"check the key ({HELP})"
    elsewhere = _options_with_key(parent, leaf)
    if elsewhere and not close:
        group = parent.split(".")[0]
        fix = f"{key} belongs to {', '.join(f'{group}={o}' for o in elsewhere)}: pick that option first"
    return ConfigError(f"unknown config key {key}", fix)


def _unloadable_option(group: str, option: str) -> ConfigError:
    """An option of a list (logger=[csv,bogus]) that its group does not have: Hydra says only
    that it could not load it."""
    folder = resources.files("qhybrid.conf") / group
    options = sorted(e.name.removesuffix(".yaml") for e in folder.iterdir()
                     if e.name.endswith(".yaml") and not e.name.startswith("_")) if folder.is_dir() else []
    close = difflib.get_close_matches(option, options, n=1)
    return ConfigError(f"{group} has no option {option!r}" + (f" (options: {', '.join(options)})" if options else ""),
                       f"did you mean {close[0]}?" if close else f"pick one of the options ({HELP})")


def _keys_at(parent: str, overrides: list[str], compose: Callable[[list[str]], Any]) -> list[str]:
    try:
        node: Any = compose(overrides)
        for part in filter(None, parent.split(".")):
            node = node[part]
        return [str(k) for k in node.keys() if str(k) != "hydra"]
    except Exception:  # noqa: BLE001 - only a hint: no keys when the rest does not compose either
        return []


def _options_with_key(parent: str, leaf: str) -> list[str]:
    """The options of the group at the top of ``parent`` whose YAML has the key, e.g.
    data.path exists for data=csv and data=genomics, not for data=iris."""
    group, _, rest = parent.partition(".")
    if not group:
        return []
    folder = resources.files("qhybrid.conf") / group
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: _natural(e.name)):
        if not entry.name.endswith(".yaml"):
            continue
        try:
            node: Optional[Any] = OmegaConf.create(entry.read_text())
            if "# @package _global_" in entry.read_text():
                node = node.get(group)
            for part in filter(None, rest.split(".")):
                node = node.get(part) if node is not None else None
            if node is not None and leaf in list(node.keys()):
                found.append(entry.name.removesuffix(".yaml"))
        except Exception:  # noqa: BLE001 - only a hint
            continue
    return found
