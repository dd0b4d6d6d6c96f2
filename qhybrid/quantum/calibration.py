"""A device's calibration, for ``backend.noise.from`` and ``eval_noise.from``: per qubit T1,
T2, readout errors and the one-qubit gate's error and duration; per coupled pair the
two-qubit gate's error and duration.

Two sources. A JSON file, in qhybrid's form (times in seconds)::

    {"name": "my_chip",
     "qubits": [{"t1": 1.2e-4, "t2": 9e-5, "readout_01": 0.05, "readout_10": 0.02,
                 "gate_error": 3e-4, "gate_time": 3.5e-8}, ...],
     "pairs": [{"qubits": [0, 1], "gate_error": 8e-3, "gate_time": 3e-7}, ...]}

or IBM's backend-properties JSON (``backend.properties().to_dict()`` saved to a file, units
as it states them). Or the name of one of the fake backends qiskit-ibm-runtime ships
(``fake_manila``, ``FakeManilaV2`` or ``manila``): snapshots of real devices' calibrations,
read from the package's files without importing it and without a network.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from qhybrid.errors import ConfigError

_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "": 1.0}
QUBIT_KEYS = ("t1", "t2", "readout_01", "readout_10", "gate_error", "gate_time")
TWO_QUBIT_GATES = ("cx", "ecr", "cz")  # IBM's native entanglers, in the order preferred
# sx on today's devices; older ones (fake_london, fake_rochester) calibrate u2, one X90 pulse as
# sx is, and u3, two of them (u1 is a frame change: no error, no time)
ONE_QUBIT_GATES = ("sx", "x", "u2", "u3")


@dataclass(frozen=True)
class QubitCalibration:
    t1: float  # seconds
    t2: float
    readout_01: float  # p(read 0 | prepared 1)
    readout_10: float  # p(read 1 | prepared 0)
    gate_error: float  # the one-qubit gate's average infidelity (randomized benchmarking)
    gate_time: float  # seconds


@dataclass(frozen=True)
class Calibration:
    name: str
    qubits: tuple[QubitCalibration, ...]
    pairs: dict  # (a, b) with a < b -> (error, seconds) of the two-qubit gate
    date: Optional[str] = None

    def pair(self, a: int, b: int) -> tuple[float, float]:
        """The two-qubit gate on (a, b); on a pair the device does not couple, the median over
        its pairs (routing's SWAPs are not modelled: `qhybrid circuit` shows them)."""
        key = (min(a, b), max(a, b))
        if key in self.pairs:
            return self.pairs[key]
        errors, times = zip(*self.pairs.values()) if self.pairs else ((0.0,), (0.0,))
        return statistics.median(errors), statistics.median(times)

    def record(self) -> dict:
        return {"name": self.name, "date": self.date, "n_qubits": len(self.qubits)}


def fake_backend_dir() -> Optional[Path]:
    """Where qiskit-ibm-runtime keeps its fake backends' JSON files (None: not installed)."""
    found = importlib.util.find_spec("qiskit_ibm_runtime")
    if found is None or not found.submodule_search_locations:
        return None
    return Path(list(found.submodule_search_locations)[0]) / "fake_provider" / "backends"


def fake_backend_names() -> list[str]:
    root = fake_backend_dir()
    if root is None:
        return []
    return sorted(f"fake_{d.name}" for d in root.iterdir() if (d / f"props_{d.name}.json").is_file())


def _short(name: str) -> str:
    """fake_manila, FakeManilaV2, FakeManila, manila -> manila."""
    low = name.strip().lower()
    low = low.removeprefix("fake_").removeprefix("fake")
    return low.removesuffix("v2").strip("_")


def fake_name(name: str) -> str:
    """A fake backend's name as qiskit-ibm-runtime spells it: fake_manila."""
    return f"fake_{_short(name)}"


def load_calibration(source: str, key: str = "backend.noise.from") -> Calibration:
    """The calibration ``source`` names (a JSON file or a fake backend); ConfigError, one
    line, for a missing file, an unreadable one or an unknown name."""
    path = Path(source).expanduser()
    if path.suffix.lower() == ".json" or path.exists():
        if not path.is_file():
            raise ConfigError(f"{key}={source}: {'a folder, not a file' if path.is_dir() else 'no such file'}",
                              "give the path of a calibration JSON file, or a fake backend's name (e.g. fake_manila)")
        try:
            raw = json.loads(path.read_text())
            return parse_calibration(raw, path.stem)
        except (ValueError, KeyError, TypeError, IndexError) as err:
            raise ConfigError(f"{key}={source} is not a calibration this can read ({type(err).__name__}: {err})",
                              "see qhybrid.quantum.calibration for the two JSON forms it reads") from None
    root = fake_backend_dir()
    if root is None:
        raise ConfigError(f"{key}={source} names a fake backend, and qiskit-ibm-runtime (which ships them) is not "
                          "installed", "pip install 'qhybrid[qiskit]', or give a calibration JSON file")
    short = _short(source)
    props = root / short / f"props_{short}.json"
    if not props.is_file():
        names = fake_backend_names()
        close = difflib.get_close_matches(f"fake_{short}", names, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else \
            f"qiskit-ibm-runtime has {len(names)}, e.g. {', '.join(names[:4])}; or give a calibration JSON file"
        raise ConfigError(f"{key}={source} is neither a file nor a fake backend of qiskit-ibm-runtime", hint)
    try:
        return parse_calibration(json.loads(props.read_text()), f"fake_{short}")
    except (ValueError, KeyError, TypeError, IndexError) as err:
        raise ConfigError(f"{key}={source}: its calibration cannot be read as noise ({type(err).__name__}: {err})",
                          "choose another fake backend, or give a calibration JSON file") from None


def parse_calibration(raw: dict, name: str) -> Calibration:
    """Either JSON form (the module's docstring) as a Calibration; KeyError or ValueError
    where a value is missing or out of range."""
    qubits = raw["qubits"]
    if qubits and isinstance(qubits[0], list):  # IBM's properties: lists of {name, value, unit}
        return _from_ibm(raw, name)
    parsed = tuple(QubitCalibration(**{k: float(q[k]) for k in QUBIT_KEYS}) for q in qubits)
    pairs = {tuple(sorted(int(i) for i in p["qubits"])): (float(p["gate_error"]), float(p["gate_time"]))
             for p in raw.get("pairs", [])}
    return _checked(Calibration(str(raw.get("name", name)), parsed, pairs, raw.get("date")))


def _value(entries: list[dict], wanted: str) -> float:
    for entry in entries:
        if entry["name"] == wanted:
            return float(entry["value"]) * _SECONDS.get(entry.get("unit", ""), 1.0) \
                if wanted in ("T1", "T2", "gate_length") else float(entry["value"])
    raise KeyError(wanted)


def _from_ibm(raw: dict, name: str) -> Calibration:
    gates: dict[str, dict] = {}
    for gate in raw["gates"]:
        gates.setdefault(gate["gate"], {})[tuple(gate["qubits"])] = gate["parameters"]
    one = next((g for g in ONE_QUBIT_GATES if g in gates), None)
    if one is None:
        raise ValueError(f"no one-qubit gate among its gates ({', '.join(sorted(gates))}); it reads "
                         f"{', '.join(ONE_QUBIT_GATES)}")
    two = next((g for g in TWO_QUBIT_GATES if g in gates), None)
    qubits = []
    for q, entries in enumerate(raw["qubits"]):
        params = gates[one][(q,)]
        qubits.append(QubitCalibration(
            t1=_value(entries, "T1"), t2=_value(entries, "T2"), readout_01=_value(entries, "prob_meas0_prep1"),
            readout_10=_value(entries, "prob_meas1_prep0"), gate_error=_value(params, "gate_error"),
            gate_time=_value(params, "gate_length")))
    pairs: dict = {}
    for wires, params in (gates[two].items() if two else ()):
        key, value = tuple(sorted(wires)), (_value(params, "gate_error"), _value(params, "gate_length"))
        pairs[key] = min(pairs.get(key, value), value)  # both directions calibrated: the better one
    return _checked(Calibration(raw.get("backend_name", name), tuple(qubits), pairs, raw.get("last_update_date")))


def _checked(cal: Calibration) -> Calibration:
    for q, qubit in enumerate(cal.qubits):
        for k in QUBIT_KEYS:
            value = getattr(qubit, k)
            bad = not math.isfinite(value) or value < 0 or (k.startswith(("readout", "gate_error")) and value > 1) \
                or (k in ("t1", "t2") and value == 0)
            if bad:
                raise ValueError(f"qubit {q}: {k}={value} is out of range")
    for wires, (error, seconds) in cal.pairs.items():
        if not (0 <= error <= 1 and math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"pair {wires}: gate_error={error}, gate_time={seconds} out of range")
        if len(set(wires)) != 2 or min(wires) < 0 or max(wires) >= len(cal.qubits):
            raise ValueError(f"pair {list(wires)} is not two of its {len(cal.qubits)} qubits "
                             f"(0..{len(cal.qubits) - 1})")
    if len(cal.qubits) > 1 and not cal.pairs:  # two-qubit gates would run without their error
        raise ValueError("it has no pairs: the two-qubit gates' errors and times are missing")
    return cal
