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
every pair for two-wire gates), ``ring`` / ``chain`` (neighbouring pairs, closed or open),
``double`` / ``double_odd`` (the pairs (0,1),(2,3).. / (1,2),(3,4)..), or a list of wire lists.
Weights are numbered in the order they appear and shaped (reps, per rep) when the repetitions
hold them all; a weight outside them (``final``, an embedding that is not re-uploaded) makes
them one flat vector in that same order.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from qhybrid.errors import ConfigError
from qhybrid.quantum.ansatze import ANSATZE
from qhybrid.quantum.circuit import ROTATIONS
from qhybrid.quantum.circuit_ops import Op
from qhybrid.quantum.expression import WEIGHT_BASE, ExpressionError, read_parameter, renumber_weights
from qhybrid.quantum.gate_registry import GATES, gate_kind
from qhybrid.quantum.polynomial import variable
from qhybrid.spec_checks import whole_number

KEY = "model.quantum.circuit"
EMBEDDING_KINDS = ("angle", "iqp", "amplitude", "none")
_EMBEDDING_KEYS = {"angle": ("kind", "rotation", "scale"), "iqp": ("kind", "reps", "pairs"),
                   "amplitude": ("kind",), "none": ("kind",)}
PAIR_PATTERNS = ("ring", "chain", "double", "double_odd")
_WIRES_FIX = f"use a wire, a list of wires, all, {', '.join(PAIR_PATTERNS)} (two-wire gates), or a list of wire lists"
_CIRCUIT_KEYS = ("embedding", "layers", "reps", "reupload", "final", "n_inputs")
_FIX_GATE = "use a gate of the registry: " + ", ".join(sorted({k.name for k in GATES.values()}))


# far beyond a circuit a state-vector simulator trains: `reps: 1000000000` is a typo, refused at once
MAX_GATES = 100_000


def _check_size(builder: "_Builder", where: str) -> None:
    if len(builder.ops) > MAX_GATES:
        raise ConfigError(f"{where}: the circuit has more than {MAX_GATES:,} gates", f"lower {where}")


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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unknown_keys(where: str, entry: Mapping, known: tuple[str, ...], what: str) -> None:
    unknown = sorted(map(str, set(entry) - set(known)))
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ConfigError(f"{where} has unknown key(s) {unknown}", f"{hint}{what} has {', '.join(known)}")


def _pattern_pairs(pattern: str, n: int) -> list[tuple[int, int]]:
    if pattern in ("double", "double_odd"):  # the brick layers: even pairs, then odd ones
        return [(w, w + 1) for w in range(0 if pattern == "double" else 1, n - 1, 2)]
    last = n if (pattern == "ring" and n > 2) else n - 1
    return [(w, (w + 1) % n) for w in range(last)]


def _wire_groups(spec: Any, n: int, arity: int, key: str) -> list[tuple[int, ...]]:
    """The wire groups ``spec`` (the value of ``key``) selects for a gate on ``arity`` wires."""
    if spec == "all":
        return [(w,) for w in range(n)] if arity == 1 else list(itertools.combinations(range(n), arity))
    if isinstance(spec, str) and spec in PAIR_PATTERNS and arity == 2:
        return _pattern_pairs(spec, n)
    if _is_int(spec):
        groups = [(spec,)]
    elif isinstance(spec, (list, tuple)) and spec and all(_is_int(w) for w in spec):
        groups = [(w,) for w in spec] if arity == 1 else [tuple(spec)]
    elif isinstance(spec, (list, tuple)) and spec and all(isinstance(g, (list, tuple)) for g in spec):
        groups = [tuple(g) for g in spec]
    else:
        raise ConfigError(f"{key}={spec!r} is not a wire selection", _WIRES_FIX)
    for group in groups:
        if len(group) != arity or len(set(group)) != arity or not all(_is_int(w) and 0 <= w < n for w in group):
            raise ConfigError(f"{key}={spec!r}: {list(group)} is not {arity} distinct wire(s) of 0..{n - 1}",
                              f"give each gate {arity} distinct wire(s) of the circuit")
    return groups


def _gate(builder: _Builder, entry: Mapping, rep: int, where: str) -> None:
    name = entry.get("gate")
    if not isinstance(name, str) or name not in GATES:
        raise ConfigError(f"{where}.gate={name!r} is not a known gate", _FIX_GATE)
    kind = gate_kind(name)
    params = entry.get("params", ["w"] * kind.n_params)
    if not isinstance(params, (str, int, float, list, tuple)) or isinstance(params, bool):
        raise ConfigError(f"{where}.params={params!r} is not a parameter list",
                          f"give params a list of {kind.n_params} (numbers or expressions like w, x[i]), "
                          "or leave it out for new weights")
    params = [params] if isinstance(params, (str, int, float)) else list(params)
    if len(params) != kind.n_params:
        raise ConfigError(f"{where}: {kind.name} takes {kind.n_params} parameter(s), got {len(params)}",
                          f"give params a list of {kind.n_params}")
    _unknown_keys(where, entry, ("gate", "wires", "params"), "a gate entry")
    for wires in _wire_groups(entry.get("wires", "all"), builder.n, kind.n_wires, f"{where}.wires"):
        symbols = {"i": wires[0], "j": wires[-1], "r": rep}
        polys = tuple(builder.param(p, symbols, f"{where}.params[{k}]") for k, p in enumerate(params))
        builder.ops.append(Op(kind.name, wires, polys))


def _template(builder: _Builder, entry: Mapping, rep: int, where: str) -> None:
    """An ansatz of the registry, one layer, reading fresh weights."""
    option = ANSATZE.get(entry.get("template"), key=f"{where}.template")
    _unknown_keys(where, entry, ("template", "rotation", "imprimitive"),
                 "a template entry (rotation: basic_entangler's, imprimitive: strongly_entangling's)")
    imprimitive, rotation = entry.get("imprimitive", "CNOT"), entry.get("rotation", "X")
    if not isinstance(imprimitive, str) or imprimitive not in GATES or gate_kind(imprimitive).n_wires != 2 \
            or gate_kind(imprimitive).n_params:
        raise ConfigError(f"{where}.imprimitive={imprimitive!r} is not a fixed two-qubit gate", "use CNOT, CZ or CY")
    if rotation not in ROTATIONS:
        raise ConfigError(f"{where}.rotation={rotation!r} is not X, Y or Z", "use rotation: X, Y or Z")
    spec = SimpleNamespace(n_qubits=builder.n, entangler_rotation=rotation, imprimitive=gate_kind(imprimitive).name)
    gates, taken = [], {}

    def weight_column(k: int) -> int:
        taken.setdefault(k, builder.new_weight())
        return k
    option.build(gates, rep, spec, weight_column)
    for g in gates:
        polys = tuple(variable(WEIGHT_BASE + taken[c]) for c in g.columns)
        builder.ops.append(Op(g.name, g.wires, polys))


def _embedding(builder: _Builder, spec: Any, rep: int, where: str) -> None:
    if isinstance(spec, (list, tuple)):  # gates of your own
        _entries(builder, spec, rep, where)
        return
    if not (spec is None or isinstance(spec, (str, Mapping))):
        raise ConfigError(f"{where}={spec!r} is not an embedding", f"use one of {', '.join(EMBEDDING_KINDS)}, a "
                          "mapping such as {kind: angle, rotation: Y}, or a list of gate entries")
    spec = {"kind": spec} if isinstance(spec, str) or spec is None else dict(spec)
    kind = spec.get("kind", "angle")
    kind = "none" if kind is None else kind  # YAML's null; false or 0 are mistakes, refused below
    if kind not in EMBEDDING_KINDS:
        raise ConfigError(f"{where}.kind={kind!r} is not an embedding", f"use one of {', '.join(EMBEDDING_KINDS)}")
    _unknown_keys(where, spec, _EMBEDDING_KEYS[kind], f"the {kind} embedding")
    n = builder.n
    if kind == "angle":
        rotation, factor = spec.get("rotation", "X"), spec.get("scale", 1.0)
        if rotation not in ROTATIONS:
            raise ConfigError(f"{where}.rotation={rotation!r} is not X, Y or Z", "use rotation: X, Y or Z")
        for w in range(n):  # the scale in brackets: "0.5 + w" scales x as a whole
            scaled = builder.param(f"({factor}) * x[{w}]", {"i": w, "j": w, "r": rep}, f"{where}.scale")
            builder.ops.append(Op("R" + rotation, (w,), (scaled,)))
    elif kind == "iqp":
        pairs = _wire_groups(spec.get("pairs", "all"), n, 2, f"{where}.pairs") if n > 1 else []
        for _ in range(whole_number(f"{where}.reps", spec.get("reps", 1), 1)):
            for w in range(n):
                builder.ops.append(Op("H", (w,)))
                builder.ops.append(Op("RZ", (w,), (builder.param(f"x[{w}]", {}, where),)))
            for a, b in pairs:
                builder.ops.append(Op("IsingZZ", (a, b), (builder.param(f"x[{a}] * x[{b}]", {}, where),)))
            _check_size(builder, f"{where}.reps")
    elif kind == "amplitude":
        builder.ops.append(Op("AMPLITUDE", tuple(range(n))))


def ops_from_yaml(description: Mapping, n_qubits: int) -> tuple[list[Op], int, tuple[int, ...]]:
    """(ops, n_inputs, weight shape) of a YAML circuit."""
    _unknown_keys(KEY, description, _CIRCUIT_KEYS, "a circuit")
    reps, layers = whole_number(f"{KEY}.reps", description.get("reps", 1), 1), description.get("layers") or []
    reupload = description.get("reupload", False)
    if not isinstance(reupload, bool):
        raise ConfigError(f"{KEY}.reupload={reupload!r} is not true or false", f"set {KEY}.reupload to true or false")
    embedding = description.get("embedding", "none")
    amplitude = (embedding == "amplitude" or (isinstance(embedding, Mapping) and embedding.get("kind") == "amplitude"))
    if amplitude and reupload:
        raise ConfigError(f"{KEY}.reupload=true with an amplitude embedding would prepare a state in the middle of "
                          "the circuit", "use reupload with the angle or iqp embedding")
    builder, before = _Builder(n_qubits), 0
    for rep in range(reps):
        if rep == 0 or reupload:
            _embedding(builder, embedding, rep, f"{KEY}.embedding")
        if rep == 0 and not reupload:
            before = builder.n_weights  # an embedding's weights, ahead of the repetitions
        _entries(builder, layers, rep, f"{KEY}.layers")
        _check_size(builder, f"{KEY}.reps")
    repeated = builder.n_weights - before
    _entries(builder, description.get("final") or [], reps, f"{KEY}.final")
    n_inputs = _n_inputs(description, builder, n_qubits, amplitude)
    ops = [Op(op.name, op.wires, tuple(renumber_weights(p, n_inputs) for p in op.params)) for op in builder.ops]
    # (reps, per repetition) when the repetitions hold all the weights; else one flat vector in
    # the order the weights were numbered (before, repetitions, final): one tensor has one layout
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
        n_inputs = 2**n_qubits if amplitude else max(read, 1)
    elif whole_number(f"{KEY}.n_inputs", n_inputs, 1) > 2**n_qubits and amplitude:
        raise ConfigError(f"{KEY}.n_inputs={n_inputs} does not fit the amplitude embedding of {n_qubits} qubits",
                          f"use at most {2**n_qubits}")
    if read > n_inputs:
        if amplitude and read > 2**n_qubits:
            raise ConfigError(f"{KEY} reads x[{read - 1}], but the amplitude embedding of {n_qubits} qubits takes "
                              f"{2**n_qubits} inputs", f"read only x[0] .. x[{2**n_qubits - 1}], or use more qubits")
        raise ConfigError(f"{KEY} reads x[{read - 1}], but {KEY}.n_inputs={n_inputs}",
                          f"set {KEY}.n_inputs >= {read}, or read fewer inputs")
    return n_inputs
