"""The Program of a validated QuantumSpec, from whichever description it has: the built-in
keys (embedding, gating, ansatz; qhybrid.quantum.circuit), a YAML circuit
(qhybrid.quantum.circuit_yaml) or a Python function (qhybrid.quantum.circuit_python), with
its readout (qhybrid.quantum.observables). Compiled once per description and process: a run
builds one model per fold, and recording a Python function imports PennyLane and runs it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from qhybrid.errors import ConfigError
from qhybrid.quantum.circuit import Program, compile_program
from qhybrid.quantum.circuit_ops import compile_ops
from qhybrid.quantum.circuit_python import observables_of, record_function
from qhybrid.quantum.circuit_yaml import ops_from_yaml
from qhybrid.quantum.observables import parse_observables
from qhybrid.registry import file_stamp, import_target

KEY = "model.quantum.circuit"
_CACHE: dict[str, Program] = {}


def program_of(spec) -> Program:
    # weight_shapes' order is the flat weights' order: keep it in the key (sort_keys would not)
    shapes = list((spec.weight_shapes or {}).items())
    key = json.dumps([spec.circuit, _stamp(spec.circuit), shapes, spec.observables, spec.n_inputs,
                      _builtin_fields(spec)], sort_keys=True, default=str)
    if key not in _CACHE:
        program = _compile(spec)
        _CACHE[key] = without_entanglers(program) if spec.separable else program
    return _CACHE[key]


def without_entanglers(program: Program) -> Program:
    """The program with every gate on two or more wires removed: its separable twin (a state
    preparation, AMPLITUDE, is the data's encoding and stays). The removed gates' columns go
    with them (each column feeds one gate); the weights they read stay in the weight tensor,
    unread, so the twin's weights load from the original's."""
    kept = [g for g in program.gates if not g.entangling]
    used = sorted({c for g in kept for c in g.columns})
    new = {old: i for i, old in enumerate(used)}
    return replace(program, gates=[replace(g, columns=tuple(new[c] for c in g.columns)) for g in kept],
                   columns=[program.columns[c] for c in used],
                   constant_columns=frozenset(new[c] for c in program.constant_columns if c in new),
                   _index_cache={})


def _stamp(circuit: Any) -> Any:
    """A circuit file's content digest: an edited file (the Python API, one process) is read again,
    however soon after the last read (an mtime may not have moved)."""
    if not isinstance(circuit, str):
        return None
    path = Path(circuit.rpartition(":")[0] if is_python(circuit) else circuit).expanduser()
    return file_stamp(path) if path.is_file() else None


def _builtin_fields(spec) -> dict:
    return {k: v for k, v in vars(spec).items() if k not in ("circuit", "weight_shapes", "observables", "n_inputs")}


def is_python(circuit: Any) -> bool:
    """A circuit named as a Python function (file.py:function, module:function), not a YAML file."""
    return isinstance(circuit, str) and not circuit.lower().endswith((".yaml", ".yml"))


def _compile(spec) -> Program:
    if spec.circuit is not None and not isinstance(spec.circuit, (str, Mapping)):
        raise ConfigError(f"{KEY}={spec.circuit!r} is neither a circuit description nor a file",
                          "give a YAML description (a mapping), a .yaml file, or <file.py>:<function>")
    if spec.weight_shapes is not None and not isinstance(spec.weight_shapes, Mapping):
        raise ConfigError(f"model.quantum.weight_shapes={spec.weight_shapes!r} is not a mapping",
                          "name each weight and its shape, e.g. {weights: [2, 4, 3]}")
    if spec.circuit is None:
        program = compile_program(spec)
        program.observables = parse_observables(spec.observables, spec.n_qubits)
        return program
    if is_python(spec.circuit):
        return _from_python(spec)
    description = _read_yaml(spec.circuit)
    ops, n_inputs, shape = ops_from_yaml(description, spec.n_qubits)
    return compile_ops(spec.n_qubits, ops, n_inputs, shape or None,
                       parse_observables(spec.observables, spec.n_qubits))


def _read_yaml(circuit: Any) -> Mapping:
    if isinstance(circuit, Mapping):
        return circuit
    path = Path(circuit).expanduser()
    if not path.is_file():
        raise ConfigError(f"{KEY}: no such file: {path.resolve()}",
                          f"check the path (relative paths are read from {Path.cwd()})")
    try:
        description = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{KEY}={circuit} is not valid YAML ({str(err).splitlines()[0]})",
                          "fix the file's YAML syntax") from None
    if not isinstance(description, Mapping):
        raise ConfigError(f"{KEY}={circuit} does not hold a circuit description (a mapping)",
                          "write embedding, layers, reps keys (see the README's circuits section)")
    return description


def _from_python(spec) -> Program:
    fn = import_target(spec.circuit, KEY)
    shapes = {}
    for name, shape in (spec.weight_shapes or {}).items():
        shape = [shape] if isinstance(shape, int) else list(shape)
        if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape):
            raise ConfigError(f"model.quantum.weight_shapes.{name}={shape!r} is not a shape",
                              "give each weight a list of positive sizes, e.g. {weights: [2, 4, 3]}")
        shapes[name] = tuple(shape)
    n_inputs = spec.n_inputs or spec.n_qubits
    ops, measurements, opaque = record_function(fn, spec.n_qubits, n_inputs, shapes)
    observables = spec.observables if spec.observables is not None else observables_of(measurements)
    if len(shapes) == 1:
        shape = next(iter(shapes.values()))
    else:  # several named weights: one flat tensor, in the order weight_shapes lists them
        shape = (sum(math.prod(s) for s in shapes.values()),) if shapes else None
    return compile_ops(spec.n_qubits, ops, n_inputs, shape, parse_observables(observables, spec.n_qubits), opaque)
