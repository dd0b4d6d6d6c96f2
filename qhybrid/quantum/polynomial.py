"""Gate parameters of user circuits as polynomials of degree <= 2 in the circuit's inputs and
trainable weights, and their batched evaluation.

A YAML circuit (``1.5 * x[0]``, ``x[0] * x[1]``, ``w``, ``pi / 2``) and a recorded Python
function (``qml.RX(inputs[0] * w[1], wires=0)``) both come down to this form, so both
compile to the same Program and run on the same executor paths. Variables are numbered:
``0 .. n_inputs - 1`` are the inputs, ``n_inputs ..`` the flattened weights.

A polynomial is a dict ``{monomial: coefficient}`` with monomials as sorted tuples of
variables: ``()`` the constant, ``(v,)`` linear, ``(u, v)`` quadratic.
"""

from __future__ import annotations

from typing import Optional

import torch

Poly = dict[tuple[int, ...], float]


def constant(value: float) -> Poly:
    return {(): float(value)} if value else {}


def variable(v: int) -> Poly:
    return {(v,): 1.0}


def add(a: Poly, b: Poly, sign: float = 1.0) -> Poly:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0.0) + sign * value
    return {k: v for k, v in out.items() if v != 0.0}


def scale(a: Poly, factor: float) -> Poly:
    return {k: v * factor for k, v in a.items() if v * factor != 0.0}


def multiply(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for ka, va in a.items():
        for kb, vb in b.items():
            key = tuple(sorted(ka + kb))
            if len(key) > 2:
                raise ValueError("a gate parameter of degree above 2 (a product of three variables)")
            out[key] = out.get(key, 0.0) + va * vb
    return {k: v for k, v in out.items() if v != 0.0}


def degree(a: Poly) -> int:
    return max((len(k) for k in a), default=0)


def variables(a: Poly) -> set[int]:
    return {v for key in a for v in key}


def as_variable(a: Poly) -> Optional[int]:
    """The variable ``a`` is exactly (coefficient 1, nothing else), else None."""
    if len(a) == 1:
        (key, value), = a.items()
        if len(key) == 1 and value == 1.0:
            return key[0]
    return None


class PolyMap:
    """m polynomials evaluated on a batch of variable vectors z (R, V) -> (R, m) in a few
    tensor operations: ``c + z @ L + (z[:, I] * z[:, J]) @ Q``."""

    def __init__(self, polys: list[Poly], n_variables: int):
        self.m, self.n_variables = len(polys), n_variables
        self.const = torch.zeros(self.m, dtype=torch.float64)
        self.linear = torch.zeros(n_variables, self.m, dtype=torch.float64)
        pairs = sorted({key for p in polys for key in p if len(key) == 2})
        self.left = torch.tensor([u for u, _ in pairs], dtype=torch.long)
        self.right = torch.tensor([v for _, v in pairs], dtype=torch.long)
        self.quadratic = torch.zeros(len(pairs), self.m, dtype=torch.float64)
        slot = {pair: i for i, pair in enumerate(pairs)}
        for column, poly in enumerate(polys):
            for key, value in poly.items():
                if not key:
                    self.const[column] = value
                elif len(key) == 1:
                    self.linear[key[0], column] = value
                else:
                    self.quadratic[slot[key], column] = value
        self._cache: dict = {}

    def _on(self, like: torch.Tensor) -> tuple:
        key = (like.dtype, str(like.device))
        if key not in self._cache:
            self._cache[key] = tuple(t.to(device=like.device, dtype=like.dtype if t.is_floating_point() else t.dtype)
                                     for t in (self.const, self.linear, self.quadratic, self.left, self.right))
        return self._cache[key]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        const, linear, quadratic, left, right = self._on(z)
        out = const + z @ linear
        if len(left):
            out = out + (z[:, left] * z[:, right]) @ quadratic
        return out
