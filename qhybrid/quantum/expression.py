"""Gate parameters written in a YAML circuit: ``x[0]``, ``1.5 * x[i]``, ``x[i] * x[j]``,
``pi / 2``, ``w`` (a new trainable weight), ``0.5 * w + x[i]``, read into polynomials
(qhybrid.quantum.polynomial) with Python's own parser: numbers, ``pi``, the wire symbols
``i`` and ``j`` (a gate's first and second wire), ``r`` (the repetition), ``x[...]``, ``w``,
and + - * / ** (by constants). Nothing is evaluated as Python code."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Union

from qhybrid.quantum.polynomial import Poly, add, constant, multiply, scale, variable

Value = Union[float, dict]
WEIGHT_BASE = 1 << 30  # weights are numbered from here until the number of inputs is known


class ExpressionError(ValueError):
    pass


class _Reader:
    def __init__(self, symbols: dict[str, int], new_weight: Callable[[], int]):
        self.symbols, self.new_weight = symbols, new_weight
        self.inputs: set[int] = set()

    def value(self, node: ast.AST) -> Value:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise ExpressionError(f"{ast.unparse(node)!r} is not allowed")
        return method(node)

    def _Expression(self, node):
        return self.value(node.body)

    def _Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(f"{node.value!r} is not a number")
        return float(node.value)

    def _Name(self, node):
        if node.id == "pi":
            return math.pi
        if node.id == "w":
            return variable(WEIGHT_BASE + self.new_weight())
        if node.id in self.symbols:
            return float(self.symbols[node.id])
        known = ", ".join(["pi", "w", "x[...]", *self.symbols])
        raise ExpressionError(f"unknown name {node.id!r} (known: {known})")

    def _Subscript(self, node):
        if not (isinstance(node.value, ast.Name) and node.value.id == "x"):
            raise ExpressionError(f"{ast.unparse(node)!r}: only the inputs x[...] can be indexed")
        index = self.value(node.slice)
        if isinstance(index, dict) or not 0 <= index < WEIGHT_BASE or index != int(index):
            # weights are numbered from WEIGHT_BASE: a larger index would read a weight
            raise ExpressionError(f"{ast.unparse(node)!r}: an input's index must be a whole number in "
                                  f"0 .. {WEIGHT_BASE - 1}")
        self.inputs.add(int(index))
        return variable(int(index))

    def _UnaryOp(self, node):
        value = self.value(node.operand)
        if isinstance(node.op, ast.USub):
            return -value if isinstance(value, float) else scale(value, -1.0)
        if isinstance(node.op, ast.UAdd):
            return value
        raise ExpressionError(f"{ast.unparse(node)!r} is not allowed")

    def _BinOp(self, node):
        a, b = self.value(node.left), self.value(node.right)
        numbers = isinstance(a, float) and isinstance(b, float)
        ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
               ast.Pow: operator.pow, ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv}
        kind = type(node.op)
        if numbers and kind in ops:
            return float(ops[kind](a, b))
        a_poly = constant(a) if isinstance(a, float) else a
        b_poly = constant(b) if isinstance(b, float) else b
        if kind is ast.Add:
            return add(a_poly, b_poly)
        if kind is ast.Sub:
            return add(a_poly, b_poly, -1.0)
        if kind is ast.Mult:
            return multiply(a_poly, b_poly)
        if kind is ast.Div and isinstance(b, float):
            return scale(a_poly, 1.0 / b)
        if kind is ast.Pow and isinstance(b, float) and b == 2.0:
            return multiply(a_poly, a_poly)
        raise ExpressionError(f"{ast.unparse(node)!r}: a parameter must be a polynomial of degree <= 2 "
                              "(divide only by numbers)")


def read_parameter(text, symbols: dict[str, int], new_weight: Callable[[], int]) -> tuple[Poly, set[int]]:
    """The polynomial ``text`` stands for, and the inputs it reads. Weights come back
    numbered from WEIGHT_BASE (``renumber_weights`` moves them after the inputs)."""
    if isinstance(text, bool):
        raise ExpressionError(f"{text!r} is not a number")
    if isinstance(text, (int, float)):
        return constant(float(text)), set()
    try:
        tree = ast.parse(str(text).strip(), mode="eval")
    except SyntaxError:
        raise ExpressionError(f"{text!r} is not an expression") from None
    reader = _Reader(symbols, new_weight)
    try:
        value = reader.value(tree)
    except ExpressionError:
        raise
    except ValueError as err:  # a product of three variables
        raise ExpressionError(str(err)) from None
    except (ArithmeticError, TypeError) as err:  # 1 / 0, 10.0 ** 400, (-1) ** 0.5
        raise ExpressionError(f"{text!r} cannot be computed ({type(err).__name__}: {err})") from None
    numbers = [value] if isinstance(value, float) else list(value.values())
    if not all(isinstance(v, float) and math.isfinite(v) for v in numbers):
        raise ExpressionError(f"{text!r} is not a finite real number")
    return (constant(value) if isinstance(value, float) else value), reader.inputs


def renumber_weights(poly: Poly, n_inputs: int) -> Poly:
    return {tuple(v - WEIGHT_BASE + n_inputs if v >= WEIGHT_BASE else v for v in key): c for key, c in poly.items()}
