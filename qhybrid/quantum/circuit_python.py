"""Circuits as Python: model.quantum.circuit=<file.py or module>:<function>.

The function takes ``(inputs, **weights)`` (``weights`` named as in
model.quantum.weight_shapes) and applies PennyLane operations, templates included; it may
return measurements (expval of Pauli words, probs), which become the readout unless
model.quantum.observables is set. qhybrid records it once on a random probe, decomposes
templates into registry gates, and reads each gate parameter as a polynomial of the inputs and
weights: from its value, gradient and Hessian at the probe (exact for degree <= 2), checked
against a second recording at another probe. The result is a list of Ops
(qhybrid.quantum.circuit_ops), compiled like a YAML circuit.

Operations PennyLane cannot decompose into registry gates stay as they are (their PennyLane
name); such a circuit runs through PennyLane, and the run's log says which operation. What a pure
state vector cannot run as PennyLane would (mid-circuit measurements, qml.cond, noise channels)
and readouts whose coefficients depend on the inputs or weights are refused in one line.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Callable
from typing import Any, Optional

import numpy as np
import torch

from qhybrid.errors import ConfigError, first_line
from qhybrid.quantum.circuit_ops import Op
from qhybrid.quantum.gate_registry import GATES
from qhybrid.quantum.polynomial import Poly

KEY = "model.quantum.circuit"
_BY_PENNYLANE = {kind.pennylane: kind.name for kind in GATES.values()}
_TOLERANCE = 1e-8


def _record(fn: Callable, z: torch.Tensor, n_inputs: int, shapes: dict[str, tuple[int, ...]]):
    import pennylane as qml  # lazy: only user circuits written in Python load PennyLane here

    weights, offset = {}, n_inputs
    for name, shape in shapes.items():
        size = math.prod(shape)
        weights[name] = z[offset : offset + size].reshape(shape)
        offset += size
    with qml.queuing.AnnotatedQueue() as queue:
        try:
            fn(z[:n_inputs], **weights)
        except Exception as err:  # the user's code: any failure is theirs to fix, in one line
            raise ConfigError(f"{KEY}: the function failed while recorded: {first_line(err, typed=True)}",
                              f"make it run with inputs of length {n_inputs} and weights shaped "
                              f"{ {k: list(v) for k, v in shapes.items()} } (model.quantum.n_inputs, "
                              "model.quantum.weight_shapes)") from None
    tape = qml.tape.QuantumScript.from_queue(queue)
    _refuse_unfaithful(tape.operations)
    _refuse_trainable_readout(tape.measurements)
    with warnings.catch_warnings():  # an operation that stays as it is gets qhybrid's own log line
        warnings.filterwarnings("ignore", message=".*does not define a decomposition.*")
        try:
            (tape,), _ = qml.transforms.decompose(tape, gate_set=set(_BY_PENNYLANE))
        except Exception as err:  # an operation of the user's whose decomposition fails
            raise ConfigError(f"{KEY}: PennyLane could not decompose the circuit's operations "
                              f"({first_line(err, typed=True)})",
                              "check the decomposition of your own operations, or use registry gates "
                              "(README: Circuits of your own)") from None
    _refuse_unfaithful(tape.operations)  # a template's own mid-circuit measurement or channel
    return tape


def _refuse_unfaithful(operations: list) -> None:
    """Operations a pure state vector without classical control cannot run as PennyLane would:
    refused, rather than run as opaque operations that give other numbers (or none)."""
    import pennylane as qml  # lazy: as in _record

    # where PennyLane keeps mid-circuit measurements has moved between versions (>= 0.42)
    measurements = tuple(c for c in (getattr(qml.ops, "MidMeasure", None), getattr(qml.ops, "PauliMeasure", None),
                                     getattr(qml.measurements, "MidMeasureMP", None)) if isinstance(c, type))
    for op in operations:
        where = f"{KEY}: {_named(op)}"
        if isinstance(op, measurements):
            raise ConfigError(f"{where} is a mid-circuit measurement (qml.measure), which qhybrid cannot run",
                              "measure only at the end: return expvals or probs (and put any decision on "
                              "a result in the classical layers after the circuit)")
        if isinstance(op, qml.ops.Conditional):
            raise ConfigError(f"{where} is conditioned on a mid-circuit measurement (qml.cond), which qhybrid "
                              "cannot run", "apply the gate unconditionally, or put the decision in the "
                              "classical layers after the circuit")
        if isinstance(op, qml.operation.Channel):
            raise ConfigError(f"{where} is a noise channel, but qhybrid runs circuits of yours as pure states",
                              "remove it: noise (and shots) for circuits of yours belong to a later feature; "
                              "a mixed-state device (default.mixed) is not supported for them here")


def _refuse_trainable_readout(measurements: list) -> None:
    for m in measurements:
        if m.obs is not None and any(isinstance(d, torch.Tensor) and d.requires_grad for d in m.obs.data):
            raise ConfigError(f"{KEY}: the function returns {_short(m)}, whose coefficients depend on the "
                              "inputs or weights (trainable coefficients), which qhybrid cannot read out",
                              "return expvals of Pauli words with constant coefficients; the classical "
                              "layers after the circuit learn how to weigh them")


def _short(measurement: Any) -> str:
    text = " ".join(str(measurement).split())
    return text if len(text) <= 120 else text[:117] + "..."


def _scalars(op) -> list:
    """op's parameters as 0-d tensors: torch tensors keep their graph (they read the probe), numbers
    and numpy values of one element are constants; anything else is one line."""
    return [_scalar(value, f"{KEY}: parameter {k} of {_named(op)}") for k, value in enumerate(op.data)]


def _scalar(value: Any, where: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        shape, kind = list(value.shape), "c" if value.is_complex() else "f"
    else:
        value = np.asarray(value)
        shape, kind = list(value.shape), value.dtype.kind
    if math.prod(shape) != 1:
        raise ConfigError(f"{where} holds {math.prod(shape)} values (shape {shape}), not one number, which qhybrid "
                          "cannot compile", "give each gate parameter one number (no broadcasting); build a state "
                          "with gates (or the YAML circuit's embedding: amplitude)")
    if kind not in "biuf":
        raise ConfigError(f"{where} is {value!r}, not a real number", "give each gate parameter a real number")
    scalar = value.reshape(()) if isinstance(value, torch.Tensor) else torch.tensor(float(value.reshape(())),
                                                                                   dtype=torch.float64)
    if not math.isfinite(float(scalar.detach())):
        raise ConfigError(f"{where} is {float(scalar.detach())}, not a finite number",
                          "check how the function computes it (a division by zero, an overflow)")
    return scalar


def _named(op: Any) -> str:
    return f"{op.name} on wires [{', '.join(map(str, op.wires.tolist()))}]"


def _polynomial(p: torch.Tensor, z: torch.Tensor) -> Poly:
    """p's Taylor polynomial of degree 2 at the probe z (from its gradient and Hessian there)."""
    V = z.shape[0]
    if not p.requires_grad:
        return {(): float(p)} if float(p) else {}
    (g,) = torch.autograd.grad(p, z, create_graph=True, allow_unused=True)
    g = torch.zeros_like(z) if g is None else g
    H = torch.zeros(V, V, dtype=z.dtype)
    if g.requires_grad:
        for v in torch.nonzero(g.detach()).flatten().tolist():
            (row,) = torch.autograd.grad(g[v], z, retain_graph=True, allow_unused=True)
            if row is not None:
                H[v] = row.detach()
    g, z0, p0 = g.detach(), z.detach(), float(p.detach())
    poly: Poly = {(): p0 - float(g @ z0) + 0.5 * float(z0 @ H @ z0)}
    linear = g - H @ z0
    for v in torch.nonzero(linear.abs() > 1e-14).flatten().tolist():
        poly[(v,)] = float(linear[v])
    for u, v in torch.nonzero(torch.triu(H).abs() > 1e-14).tolist():
        poly[(u, v)] = float(H[u, v]) * (0.5 if u == v else 1.0)
    return {k: c for k, c in poly.items() if c != 0.0}


def _evaluate(poly: Poly, z: torch.Tensor) -> float:
    return sum(c * math.prod(float(z[v]) for v in key) for key, c in poly.items())


def record_function(fn: Callable, n_qubits: int, n_inputs: int, shapes: dict[str, tuple[int, ...]],
                    seed: int = 0) -> tuple[list[Op], list, dict]:
    """(ops, returned measurements, the PennyLane classes of operations outside the registry)
    of ``fn``; raises ConfigError for what cannot compile."""
    V = n_inputs + sum(math.prod(s) for s in shapes.values())
    generator = torch.Generator().manual_seed(seed)
    first = torch.rand(V, generator=generator, dtype=torch.float64) * 2 - 1
    # a second probe of opposite signs catches branches on a value's sign
    probes = [z.requires_grad_() for z in (first, -0.8 * first, torch.rand(V, generator=generator,
                                                                              dtype=torch.float64) * 4 - 2)]
    tapes = [_record(fn, z, n_inputs, shapes) for z in probes]
    _refuse_changing_structure(tapes)
    ops, opaque = [], {}
    for op, *twins in zip(*(tape.operations for tape in tapes)):
        wires = _wires(op, n_qubits)
        polys = []
        for k, (p, *others) in enumerate(zip(_scalars(op), *(_scalars(t) for t in twins))):
            poly = _polynomial(p, probes[0])
            if any(abs(_evaluate(poly, z.detach()) - float(q.detach())) > _TOLERANCE * (1 + abs(float(q.detach())))
                   for z, q in zip(probes[1:], others)):
                raise ConfigError(f"{KEY}: parameter {k} of {op.name} on wires {list(wires)} is not a polynomial of "
                                  "degree <= 2 in the inputs and weights (e.g. cos(x), x**3)",
                                  "compute such features in the classical layers before the circuit, and use "
                                  "x[i], c * x[i], x[i] * x[j] or weights as gate parameters")
            polys.append(poly)
        if op.name not in _BY_PENNYLANE:
            opaque[op.name] = type(op)
        ops.append(Op(_BY_PENNYLANE.get(op.name, op.name), wires, tuple(polys)))
    return ops, list(tapes[0].measurements), opaque


def _refuse_changing_structure(tapes: list) -> None:
    """The same gates on the same wires, and the same measurements, at every probe."""
    gates = {tuple((o.name, tuple(map(repr, o.wires.tolist()))) for o in tape.operations) for tape in tapes}
    if len(gates) > 1:
        raise ConfigError(f"{KEY}: the function applies different gates for different inputs or weights",
                          "keep the gates fixed and put the data in their parameters (no if on values)")
    if len({tuple(map(repr, tape.measurements)) for tape in tapes}) > 1:
        raise ConfigError(f"{KEY}: the function returns different measurements for different inputs or weights "
                          "(an observable's coefficients computed from them)",
                          "return fixed measurements (constant coefficients); the classical layers after the "
                          "circuit learn how to weigh them")


def _wires(op, n_qubits: int) -> tuple[int, ...]:
    """op's wires as ints: Python and numpy integers (and 0-d integer tensors) are wire numbers."""
    wires = []
    for w in op.wires.tolist():
        try:
            index = None if isinstance(w, (bool, np.bool_)) else operator.index(w)
        except TypeError:
            index = None
        if index is None:
            raise ConfigError(f"{KEY}: {op.name} acts on wire {w!r}, which is not a wire number",
                              f"label wires with integers 0..{n_qubits - 1}")
        wires.append(index)
    if not all(0 <= w < n_qubits for w in wires):
        raise ConfigError(f"{KEY}: {op.name} acts on wires {wires}, outside 0..{n_qubits - 1}",
                          "use wires 0..n_qubits-1, or raise model.quantum.n_qubits")
    return tuple(wires)


def observables_of(measurements: list) -> Optional[list[str]]:
    """The function's returned measurements as observable labels (qhybrid.quantum.observables);
    None when it returns none."""
    if not measurements:
        return None
    labels = []
    for m in measurements:
        kind = type(m).__name__
        if kind == "ProbabilityMP" and m.obs is None:
            labels.append("probs(" + ", ".join(str(w) for w in m.wires.tolist()) + ")")
        elif kind == "ExpectationMP" and m.obs is not None and m.obs.pauli_rep is not None:
            labels.append(_sentence_label(m.obs.pauli_rep))
        else:
            raise ConfigError(f"{KEY}: the function returns {_short(m)} ({kind}), which qhybrid cannot read out",
                              "return expvals of Pauli words or probs, or set model.quantum.observables")
    return labels


def _sentence_label(sentence: Any) -> str:
    terms = []
    for word, coefficient in sentence.items():
        body = " ".join(f"{p}{w}" for w, p in sorted(word.items())) or "I0"
        terms.append(f"{float(coefficient.real)!r} {body}")
    return " + ".join(terms)
