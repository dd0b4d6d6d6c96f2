"""Circuits as data: model.quantum.circuit as a YAML description (inline, or a .yaml file).

    circuit:
      embedding: {kind: angle, rotation: Y, scale: 1.0}   # or iqp, amplitude, none, or a list of gates
      layers:                                            # one repetition
        - {gate: Rot, wires: all}                        # params default to new weights
        - {gate: RZ, wires: all, params: ["0.5 * x[i]"]} # inputs anywhere: re-uploading
        - {gate: CNOT, wires: ring}
        - {template: strongly_entangling}                # an entry of the ansatz registry
      reps: 2
      reupload: false                                    # the embedding before every repetition
      final: [{gate: Rot, wires: all}]                   # once, after the repetitions

Gate names come from the gate registry (qhybrid.quantum.gate_registry); parameters are
expressions (qhybrid.quantum.expression). ``wires``: a wire, a list, ``all`` (every wire;
every pair for two-wire gates), ``ring`` / ``chain`` (neighbouring pairs, closed or open), or
a list of wire lists. Weights are numbered in the order they appear and shaped (reps, per rep).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from qhybrid.errors import ConfigError
from qhybrid.quantum.ansatze import ANSATZE
from qhybrid.quantum.circuit_ops import Op
from qhybrid.quantum.expression import WEIGHT_BASE, ExpressionError, read_parameter, renumber_weights
from qhybrid.quantum.gate_registry import GATES, gate_kind
from qhybrid.quantum.polynomial import variable

KEY = "model.quantum.circuit"
EMBEDDING_KINDS = ("angle", "iqp", "amplitude", "none")
_CIRCUIT_KEYS = ("embedding", "layers", "reps", "reupload", "final", "n_inputs")
_FIX_GATE = "use a gate of the registry: " + ", ".join(sorted({k.name for k in GATES.values()}))


class _Builder:
    def __init__(self, n_qubits: int):
        self.n, self.ops, self.inputs, self.n_weights = n_qubits, [], set(), 0

    def new_weight(self) -> int:
        self.n_weights += 1
        return self.n_weights - 1

    def param(self, text: Any, symbols: dict, where: str):
        try:
            poly, inputs = read_parameter(text, symbols, self.new_weight)
        except ExpressionError as err:
            raise ConfigError(f"{where}: {err}", "write a parameter like x[i], 1.5 * x[0], x[i] * x[j], w, "
                              "0.5 * w, pi / 2 (i, j: the gate's wires, r: the repetition)") from None
        self.inputs |= inputs
        return poly


def _wire_groups(spec: Any, n: int, arity: int, where: str) -> list[tuple[int, ...]]:
    if spec == "all":
        return [(w,) for w in range(n)] if arity == 1 else list(itertools.combinations(range(n), arity))
    if spec in ("ring", "chain") and arity == 2:
        last = n if (spec == "ring" and n > 2) else n - 1
        return [(w, (w + 1) % n) for w in range(last)]
    if isinstance(spec, int) and not isinstance(spec, bool):
        groups = [(spec,)]
    elif isinstance(spec, (list, tuple)) and spec and all(isinstance(w, int) for w in spec):
        groups = [(w,) for w in spec] if arity == 1 else [tuple(spec)]
    elif isinstance(spec, (list, tuple)) and spec and all(isinstance(g, (list, tuple)) for g in spec):
        groups = [tuple(g) for g in spec]
    else:
        raise ConfigError(f"{where}.wires={spec!r} is not a wire selection",
                          "use a wire, a list of wires, all, ring, chain, or a list of wire lists")
    for group in groups:
        if len(group) != arity or len(set(group)) != arity or not all(0 <= w < n for w in group):
            raise ConfigError(f"{where}.wires={spec!r}: {list(group)} is not {arity} distinct wire(s) of 0..{n - 1}",
                              f"give each gate {arity} distinct wire(s) of the circuit")
    return groups


def _gate(builder: _Builder, entry: Mapping, rep: int, where: str) -> None:
    name = entry.get("gate")
    if name not in GATES:
        raise ConfigError(f"{where}.gate={name!r} is not a known gate", _FIX_GATE)
    kind = gate_kind(name)
    params = entry.get("params", ["w"] * kind.n_params)
    params = [params] if isinstance(params, (str, int, float)) else list(params)
    if len(params) != kind.n_params:
        raise ConfigError(f"{where}: {kind.name} takes {kind.n_params} parameter(s), got {len(params)}",
                          f"give params a list of {kind.n_params}")
    unknown = set(entry) - {"gate", "wires", "params"}
    if unknown:
        raise ConfigError(f"{where} has unknown key(s) {sorted(unknown)}", "a gate entry has gate, wires and params")
    for wires in _wire_groups(entry.get("wires", "all"), builder.n, kind.n_wires, where):
        symbols = {"i": wires[0], "j": wires[-1], "r": rep}
        polys = tuple(builder.param(p, symbols, f"{where}.params[{k}]") for k, p in enumerate(params))
        builder.ops.append(Op(kind.name, wires, polys))


def _template(builder: _Builder, entry: Mapping, rep: int, where: str) -> None:
    """An ansatz of the registry, one layer, reading fresh weights."""
    option = ANSATZE.get(entry.get("template"), key=f"{where}.template")
    unknown = set(entry) - {"template", "rotation", "imprimitive"}
    if unknown:
        raise ConfigError(f"{where} has unknown key(s) {sorted(unknown)}",
                          "a template entry has template, rotation (basic_entangler), imprimitive (strongly_entangling)")
    imprimitive = entry.get("imprimitive", "CNOT")
    if imprimitive not in GATES or gate_kind(imprimitive).n_wires != 2 or gate_kind(imprimitive).n_params:
        raise ConfigError(f"{where}.imprimitive={imprimitive!r} is not a fixed two-qubit gate", "use CNOT, CZ or CY")
    spec = SimpleNamespace(n_qubits=builder.n, entangler_rotation=entry.get("rotation", "X"),
                           imprimitive=gate_kind(imprimitive).name)
    gates, taken = [], {}

    def weight_column(k: int) -> int:
        taken.setdefault(k, builder.new_weight())
        return k
    option.build(gates, rep, spec, weight_column)
    for g in gates:
        polys = tuple(variable(WEIGHT_BASE + taken[c]) for c in g.columns)
        builder.ops.append(Op(g.name, g.wires, polys))


def _embedding(builder: _Builder, spec: Any, where: str) -> None:
    if isinstance(spec, (list, tuple)):  # gates of your own
        _entries(builder, spec, 0, where)
        return
    spec = {"kind": spec} if isinstance(spec, str) or spec is None else dict(spec)
    kind = spec.get("kind", "angle") or "none"
    if kind not in EMBEDDING_KINDS:
        raise ConfigError(f"{where}.kind={kind!r} is not an embedding", f"use one of {', '.join(EMBEDDING_KINDS)}")
    n = builder.n
    if kind == "angle":
        rotation, factor = spec.get("rotation", "X"), spec.get("scale", 1.0)
        if rotation not in ("X", "Y", "Z"):
            raise ConfigError(f"{where}.rotation={rotation!r} is not X, Y or Z", "use rotation: X, Y or Z")
        for w in range(n):
            builder.ops.append(Op("R" + rotation, (w,), (builder.param(f"{factor} * x[{w}]", {}, where),)))
    elif kind == "iqp":
        pairs = _wire_groups(spec.get("pairs", "all"), n, 2, where) if n > 1 else []
        for _ in range(int(spec.get("reps", 1))):
            for w in range(n):
                builder.ops.append(Op("H", (w,)))
                builder.ops.append(Op("RZ", (w,), (builder.param(f"x[{w}]", {}, where),)))
            for a, b in pairs:
                builder.ops.append(Op("IsingZZ", (a, b), (builder.param(f"x[{a}] * x[{b}]", {}, where),)))
    elif kind == "amplitude":
        builder.ops.append(Op("AMPLITUDE", tuple(range(n))))


def ops_from_yaml(description: Mapping, n_qubits: int) -> tuple[list[Op], int, tuple[int, ...]]:
    """(ops, n_inputs, weight shape) of a YAML circuit."""
    unknown = set(description) - set(_CIRCUIT_KEYS)
    if unknown:
        raise ConfigError(f"{KEY} has unknown key(s) {sorted(unknown)}", f"use {', '.join(_CIRCUIT_KEYS)}")
    reps, layers = description.get("reps", 1), description.get("layers") or []
    if not isinstance(reps, int) or isinstance(reps, bool) or reps < 1:
        raise ConfigError(f"{KEY}.reps={reps!r} is out of range", "use a whole number >= 1")
    embedding = description.get("embedding", "none")
    amplitude = (embedding == "amplitude" or (isinstance(embedding, Mapping) and embedding.get("kind") == "amplitude"))
    if amplitude and description.get("reupload"):
        raise ConfigError(f"{KEY}.reupload=true with an amplitude embedding would prepare a state in the middle of "
                          "the circuit", "use reupload with the angle or iqp embedding")
    builder = _Builder(n_qubits)
    for rep in range(reps):
        if rep == 0 or description.get("reupload"):
            _embedding(builder, embedding, f"{KEY}.embedding")
        _entries(builder, layers, rep, f"{KEY}.layers")
    repeated = builder.n_weights
    _entries(builder, description.get("final") or [], reps, f"{KEY}.final")
    n_inputs = _n_inputs(description, builder, n_qubits, amplitude)
    ops = [Op(op.name, op.wires, tuple(renumber_weights(p, n_inputs) for p in op.params)) for op in builder.ops]
    # (reps, per repetition) when the repetitions hold all the weights, else flat
    shape = () if not builder.n_weights else (reps, repeated // reps) if repeated == builder.n_weights \
        else (builder.n_weights,)
    return ops, n_inputs, shape


def _entries(builder: _Builder, entries: Any, rep: int, where: str) -> None:
    if not isinstance(entries, (list, tuple)):
        raise ConfigError(f"{where}={entries!r} is not a list of gate entries", "write a list: [{gate: RY, wires: all}]")
    for k, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}[{k}]={entry!r} is not a gate entry", "write {gate: RY, wires: all} or "
                              "{template: strongly_entangling}")
        (_template if "template" in entry else _gate)(builder, entry, rep, f"{where}[{k}]")


def _n_inputs(description: Mapping, builder: _Builder, n_qubits: int, amplitude: bool) -> int:
    read = max(builder.inputs) + 1 if builder.inputs else 0
    n_inputs = description.get("n_inputs")
    if n_inputs is None:
        return 2**n_qubits if amplitude else max(read, 1)
    if amplitude and not 1 <= n_inputs <= 2**n_qubits:
        raise ConfigError(f"{KEY}.n_inputs={n_inputs} does not fit the amplitude embedding of {n_qubits} qubits",
                          f"use at most {2**n_qubits}")
    if n_inputs < read:
        raise ConfigError(f"{KEY} reads x[{read - 1}], but {KEY}.n_inputs={n_inputs}",
                          f"set {KEY}.n_inputs >= {read}, or read fewer inputs")
    return n_inputs
