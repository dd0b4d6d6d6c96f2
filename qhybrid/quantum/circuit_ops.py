"""User circuits, from either source, compiled to a Program.

A YAML description (qhybrid.quantum.circuit_yaml) and a recorded Python function
(qhybrid.quantum.circuit_python) both produce a list of ``Op``: a gate's name, its wires and
each parameter as a polynomial of the inputs and weights (qhybrid.quantum.polynomial).
``compile_ops`` turns that list into the same Program the built-in circuits compile to, so
every executor path (fusion, the product-state start, parameter shift) serves both.

A parameter that is exactly one input ``x[i]`` or one weight reads it directly; any other
(scaled, shifted, a product, a constant) reads a derived block that ``Program.angles`` makes
with one PolyMap per call. Parameters that read an input are per sample; the others are
shared by the batch, which keeps weight-only gates data-independent (fusable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from qhybrid.quantum.circuit import SOURCE_INPUT, SOURCE_WEIGHT, Gate, Program
from qhybrid.quantum.gate_registry import GATES
from qhybrid.quantum.polynomial import Poly, PolyMap, as_variable, variables


@dataclass(frozen=True)
class Op:
    name: str  # a registry gate (qhybrid.quantum.gate_registry), AMPLITUDE, or a PennyLane operation
    wires: tuple[int, ...]
    params: tuple = ()  # one Poly per parameter


def _key(poly: Poly) -> tuple:
    return tuple(sorted(poly.items()))


class _Block:
    """The polys one source serves: read directly when each is a plain variable of it."""

    def __init__(self, offset: int):
        self.offset, self.polys, self.index = offset, [], {}

    def column(self, poly: Poly) -> int:
        key = _key(poly)
        if key not in self.index:
            self.index[key] = len(self.polys)
            self.polys.append(poly)
        return self.index[key]

    def layout(self, start: int, stop: int) -> Optional[list[int]]:
        """Indexes into the raw source when every poly is a plain variable of it."""
        plain = [as_variable(p) for p in self.polys]
        if all(v is not None and start <= v < stop for v in plain):
            return [v - start for v in plain]
        return None


def compile_ops(n_qubits: int, ops: list[Op], n_inputs: int, weight_shape: Optional[tuple[int, ...]],
                observables: Optional[list] = None, opaque: Optional[dict] = None) -> Program:
    """A Program running ``ops`` on ``n_qubits`` wires; inputs are variables 0..n_inputs-1 and
    the flattened weights follow."""
    n_weights = math.prod(weight_shape) if weight_shape else 0
    per_sample, shared = _Block(0), _Block(0)
    gates, columns, constant = [], [], set()
    for op in ops:
        cols = []
        for poly in op.params:
            if not variables(poly):
                constant.add(len(columns))
            reads_input = any(v < n_inputs for v in variables(poly))
            block = per_sample if reads_input else shared
            cols.append(len(columns))
            columns.append((SOURCE_INPUT if reads_input else SOURCE_WEIGHT, block.column(poly)))
        gates.append(Gate(op.name, tuple(op.wires), tuple(cols)))
    input_direct = per_sample.layout(0, n_inputs)
    weight_direct = shared.layout(n_inputs, n_inputs + n_weights)
    # a plain read keeps the raw tensor (no map): re-point the columns at raw indexes
    columns = [(src, (input_direct if src == SOURCE_INPUT else weight_direct)[i])
               if (input_direct if src == SOURCE_INPUT else weight_direct) is not None else (src, i)
               for src, i in columns]
    reads_weights = any(v >= n_inputs for p in per_sample.polys for v in variables(p))
    input_map = None if input_direct is not None else PolyMap(per_sample.polys, n_inputs + n_weights * reads_weights)
    weight_map = None
    if weight_direct is None:
        weight_map = PolyMap([{tuple(v - n_inputs for v in k): c for k, c in p.items()} for p in shared.polys],
                             n_weights)
    amplitude = any(op.name == "AMPLITUDE" for op in ops)
    unknown = sorted({op.name for op in ops if op.name not in GATES and op.name != "AMPLITUDE"})
    missing = [name for name in unknown if name not in (opaque or {})]
    if missing:
        raise ValueError(f"no gate or PennyLane operation class for {missing}")
    return Program(n_qubits=n_qubits, gates=gates, columns=columns, embedding="amplitude" if amplitude else "angle",
                   weight_shape=tuple(weight_shape) if n_weights else None, input_map=input_map,
                   input_map_reads_weights=reads_weights, weight_map=weight_map, observables=observables,
                   opaque={name: opaque[name] for name in unknown}, n_inputs=n_inputs,
                   constant_columns=frozenset(constant))
