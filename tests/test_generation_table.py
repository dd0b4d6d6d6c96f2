"""The README's generation table says what `qhybrid train model=g<k> --cfg job` gives: its
last column lists every setting in which generation k differs from generation k-1 (g0: its
model), computed here from the composed configs. The presets are flat: none includes another."""

from __future__ import annotations

import re

import pytest
import yaml

from helpers import CONF, REPO

GENERATIONS = [f"g{k}" for k in range(11)]


def _flat(node, prefix: str = "") -> dict:
    out = {}
    for key, value in node.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(_flat(value, name))
        else:
            out[name] = value
    return out


def _value(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def _settings(before: dict, after: dict) -> list[str]:
    """``key=value`` for each setting of ``after`` that ``before`` lacks or has otherwise."""
    absent = object()
    keys = sorted(k for k in after if before.get(k, absent) != after[k] and k != "model.name")
    return [f"{key}={_value(after[key])}" for key in keys]


@pytest.fixture(scope="module")
def composed() -> dict[str, dict]:
    """Each generation's job config, as `qhybrid train model=g<k> --cfg job` prints it."""
    from helpers import run_in_process

    configs = {}
    for name in GENERATIONS:
        result = run_in_process(["train", f"model={name}", "--cfg", "job"])
        assert result.returncode == 0, result.stderr
        configs[name] = _flat(yaml.safe_load(result.stdout))
    return configs


def _readme_rows() -> dict[str, list[str]]:
    rows = {}
    for line in (REPO / "README.md").read_text().splitlines():
        match = re.match(r"\| `(g\d+)` \|.*\| (.*) \|$", line)
        if match:
            rows[match.group(1)] = re.findall(r"`([^`]+)`", match.group(2))
    return rows


def test_the_readme_table_lists_what_each_generation_changes(composed):
    expected = {"g0": [s for s in _settings({}, composed["g0"]) if s.startswith("model.")]}
    for before, after in zip(GENERATIONS, GENERATIONS[1:]):
        expected[after] = _settings(composed[before], composed[after])
    rows = _readme_rows()
    wrong = {name: " ".join(f"`{s}`" for s in settings) or "-" for name, settings in expected.items()
             if rows.get(name) != settings}
    assert not wrong, "README generation table, last column should read:\n" + \
        "\n".join(f"{name}: {cell}" for name, cell in wrong.items())


def test_every_preset_is_flat_and_says_first_what_it_is():
    for name in GENERATIONS:
        text = (CONF / "model" / f"{name}.yaml").read_text()
        assert text.startswith(f"# @package _global_\n# {name}: "), name  # Hydra reads the package line first
        assert "/model/" not in text, f"{name} includes another preset"
