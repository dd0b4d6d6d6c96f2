"""The native executor's compact strategy: the whole circuit, forward and backward, in one
autograd node computed on the CPU by compiled loops (qhybrid.quantum.native_kernels, Numba)
and NumPy's matrix products.

At a few qubits a training step is bound by the number of operations, not by arithmetic:
the state is a few kilobytes, and each torch operation costs microseconds of dispatch plus
as much again for autograd to record it and run its backward (a (4, 2, 64) step of the
gates plan is ~780 of them). Here a step is about twenty calls and one autograd node.

It covers the common circuit (COVERS): an angle embedding (RX, RY or RZ, any mix) reading
an input on every wire, single-wire gates that read weights or nothing (tabulated in
qhybrid.quantum.gate_tables), fixed permutations (CNOT, SWAP, X), fixed diagonal gates
(CZ) and <Z> on every wire. ``compact_plan`` returns None for anything else (gating,
re-uploading, amplitude embedding, other observables), and the executor runs its torch plans.

Per wire, the state is N_w [cos h, sin h] (h half the input angle, N_w the embedding's two
columns times the weight gates that follow it); the product state goes through the plan's
blocks (Kronecker products of weight gates, permutations absorbed) and <Z> is read off.
The backward walks the same steps in reverse and ends in one derivative per gate parameter.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from qhybrid.quantum.circuit import SOURCE_INPUT, SOURCE_WEIGHT, Program
from qhybrid.quantum.gate_registry import gate_kind
from qhybrid.quantum.native_matrices import spread_diagonals
from qhybrid.quantum.native_plan import MAX_BLOCK, Block, Compiled, Diagonal, Gather
from qhybrid.quantum.gate_tables import MAX_ANGLES, MAX_PARAMS, GateTable, fixed_matrix, gate_table

# columns e0 and t of R(x)|0> = cos(x/2) e0 + sin(x/2) t, PennyLane's conventions
EMBEDDING_BASIS = {"RX": [[1, 0], [0, -1j]], "RY": [[1, 0], [0, 1]], "RZ": [[1, -1j], [0, 0]]}
_COMPLEX = {np.dtype(np.float64): np.complex128, np.dtype(np.float32): np.complex64}
COVERS = ("an angle embedding (RX, RY or RZ of an input) on every wire, then single-wire gates reading weights or "
          "nothing and CNOT, SWAP or CZ, read as <Z> on every wire")


@dataclass
class CompactPlan:
    """The circuit as arrays for the kernels (qhybrid.quantum.native_kernels.forward): the
    embedding (its columns per wire and the input each reads), the weight gates as rows
    (kind, parameter entries; kind -1 a fixed gate), the follower stages' rows per wire, and
    the steps; ``typed`` holds the complex ones in each precision."""

    n: int
    inputs: np.ndarray  # (n,)
    kinds: np.ndarray  # (rows,)
    params: np.ndarray  # (rows, MAX_PARAMS) entries of the weight vector
    tables: tuple  # stacked GateTable arrays, one entry per kind
    fixed: np.ndarray  # (rows, 2, 2): fixed gates' matrices
    followers: np.ndarray  # (stages, n)
    steps: tuple  # kind, index, inverse, rows, k, columns (int64) and diag (complex)
    z: np.ndarray  # (2^n, n) signs of Z_w per stored amplitude
    basis: np.ndarray  # (n, 2, 2)
    block_rows: int  # the blocks' sizes added up

    def typed(self, dtype: np.dtype) -> dict:
        """The kernels' arguments after the batch's, with the floating arrays in a precision
        (built once per dtype)."""
        cache = self.__dict__.setdefault("_typed", {})
        if dtype not in cache:
            ctype = _COMPLEX[dtype]
            steps, z = (*self.steps[:-1], self.steps[-1].astype(ctype)), self.z.astype(dtype)
            cache[dtype] = {
                "forward": (self.inputs, self.basis.astype(ctype), self.kinds, self.params, self.tables,
                            self.fixed.astype(ctype), self.followers, steps, z),
                "backward": (self.inputs, self.kinds, self.params, self.tables[-1], self.followers, steps, z)}
        return cache[dtype]


def compact_plan(program: Program, plan: Compiled) -> Optional[CompactPlan]:
    """The compact form of a gates plan (qhybrid.quantum.native_plan), or None when the
    circuit is outside what it covers (see the module's docstring) or Numba is missing."""
    if importlib.util.find_spec("numba") is None or plan.product is None:
        return None
    embedding = {plan.gates[s].wires[0]: plan.gates[s] for s in plan.product}
    if sorted(embedding) != list(range(plan.n)) or not all(
            g.name in EMBEDDING_BASIS and len(g.columns) == 1 and program.columns[g.columns[0]][0] == SOURCE_INPUT
            for g in embedding.values()):
        return None
    if any(plan.batched_gate[slots[0]] for slots in plan.followers):
        return None
    unbatched = [s for s, batched in enumerate(plan.batched_gate) if not batched]
    row_of = {s: row for row, s in enumerate(unbatched)}
    rows, steps = _rows(program, plan, unbatched), _steps(plan, row_of)
    if rows is None or steps is None:
        return None
    identity = len(unbatched)  # the last row: a wire without a gate in a follower stage
    followers = np.full((len(plan.followers), plan.n), identity, dtype=np.int64)
    for f, slots in enumerate(plan.followers):
        followers[f, [plan.gates[s].wires[0] for s in slots]] = [row_of[s] for s in slots]
    return CompactPlan(
        n=plan.n, inputs=np.array([program.columns[embedding[w].columns[0]][1] for w in range(plan.n)], dtype=np.int64),
        **rows, followers=followers, steps=steps, z=plan.z.numpy(),
        basis=np.array([EMBEDDING_BASIS[embedding[w].name] for w in range(plan.n)], dtype=np.complex128),
        block_rows=int(sum(2**k for kind, k in zip(steps[0], steps[4]) if kind == 2)))


def dense_pays(n: int, block_rows: int, batch: int) -> bool:
    """Whether to run the circuit as one 2^n x 2^n matrix (kernels.forward_dense) rather than
    step by step. Per sample, Q r and its two backward products are 3 (2D x D) real
    multiply-adds against 3 (d x D) complex ones (4 real each) per block of size d; building
    Q and splitting its gradient into the wires' factors costs ~D^2 n^2 once per call, which
    the batch must outweigh (measured crossovers: B between 64 and 256 at n=4, between 64 and
    1024 at n=6; docs/benchmarks.md)."""
    D = 2**n
    return n <= 8 and D <= 2 * block_rows and batch >= 2 * D * n


def _rows(program: Program, plan: Compiled, slots: list[int]) -> Optional[dict]:
    """The weight gates as rows (and an identity row last): kind index, parameter entries,
    fixed matrix; None when a gate is not tabulated or reads something other than weights."""
    tables: dict[str, GateTable] = {}  # by kind, in order of first use
    kinds, params = np.full(len(slots) + 1, -1), np.zeros((len(slots) + 1, MAX_PARAMS), dtype=np.int64)
    fixed = np.zeros((len(slots) + 1, 2, 2), dtype=np.complex128)
    fixed[-1] = np.eye(2)
    for row, slot in enumerate(slots):
        gate = plan.gates[slot]
        if gate_kind(gate.name).n_params == 0:
            fixed[row] = fixed_matrix(gate.name)
            continue
        table = gate_table(gate.name)
        columns = [program.columns[c] for c in gate.columns]
        if table is None or any(src != SOURCE_WEIGHT for src, _ in columns):
            return None
        tables.setdefault(table.name, table)
        kinds[row] = list(tables).index(table.name)
        params[row, : len(columns)] = [i for _, i in columns]
    stacked = tuple(np.stack([getattr(t, f) for t in tables.values()]) if tables else np.zeros((0, *shape), dtype=dtype)
                    for f, shape, dtype in _TABLE_FIELDS)
    return {"kinds": kinds.astype(np.int64), "params": params, "fixed": fixed,
            "tables": (*stacked, np.array([t.n_params for t in tables.values()], dtype=np.int64))}


_TABLE_FIELDS = (("combos", (MAX_PARAMS, MAX_ANGLES), np.float64), ("shift_cos", (MAX_PARAMS, MAX_ANGLES), np.float64),
                 ("shift_sin", (MAX_PARAMS, MAX_ANGLES), np.float64), ("first", (8,), np.int64),
                 ("second", (8,), np.int64), ("sign", (8,), np.float64), ("rules", (MAX_PARAMS,), np.int64))


def _steps(plan: Compiled, row_of: dict) -> Optional[tuple]:
    """The plan's steps as the arrays kernels.forward reads, or None for a step it lacks."""
    D = 2**plan.n
    kind, index, inverse, rows, ks, columns, diag = [], [], [], [], [], [], []
    for step in plan.steps:
        idx, cols, k, members, d = np.full(D, -1), np.arange(16), 0, [0] * MAX_BLOCK, np.ones(D, dtype=complex)
        if isinstance(step, Gather):
            kind.append(0)
            idx = step.index.numpy()
        elif isinstance(step, Block) and not step.batched:
            kind.append(2)
            k = step.k
            members[:k] = [row_of[s] for s in plan.blocks[(False, k)][step.slot]]
            if step.gather is not None and 2**k == D:  # G (P psi) = (G P) psi: the matrix's columns move
                cols[:D] = np.argsort(step.gather.numpy())
            elif step.gather is not None:
                idx = step.gather.numpy()
        elif isinstance(step, Diagonal) and not any(g.columns for g in step.gates):
            kind.append(1)
            d = spread_diagonals([gate_kind(g.name).matrix(()) for g in step.gates], step.codes).numpy()[:, 0]
        else:
            return None
        index.append(idx)
        inverse.append(np.argsort(idx) if idx[0] >= 0 else idx)
        rows.append(members)
        ks.append(k)
        columns.append(cols)
        diag.append(d)
    S = len(kind)
    ints = [np.array(a, dtype=np.int64).reshape(S, width)
            for a, width in ((index, D), (inverse, D), (rows, MAX_BLOCK), (columns, 16))]
    return (np.array(kind, dtype=np.int64), ints[0], ints[1], ints[2], np.array(ks, dtype=np.int64), ints[3],
            np.array(diag, dtype=np.complex128).reshape(S, D))


def warm_up(plan: CompactPlan, dtype: torch.dtype) -> float:
    """Compiles (first time on a machine: about a minute per precision) or loads from Numba's
    cache (about a second) the kernels a run in ``dtype`` will call, both modes; the seconds."""
    start = time.perf_counter()
    weights = torch.zeros(int(plan.params.max()) + 1, dtype=dtype, requires_grad=True)
    n_inputs = int(plan.inputs.max()) + 1
    for batch in (1, 2 * 2**plan.n * plan.n):  # step by step, and as one matrix where that pays
        inputs = torch.zeros(batch, n_inputs, dtype=dtype, requires_grad=True)
        CompactCircuit.apply(plan, inputs, weights).sum().backward()
    return time.perf_counter() - start


_KERNELS: list = []


def _kernels():
    if not _KERNELS:  # lazy: Numba loads (and compiles) only for this strategy
        from qhybrid.quantum import native_kernels

        _KERNELS.append(native_kernels)
    return _KERNELS[0]


class CompactCircuit(torch.autograd.Function):
    """(plan, inputs (B, n_inputs), weights or None) -> <Z_w> (B, n) on the CPU. Its Python
    is kept to a few lines: at a few qubits it is a good part of a step."""

    @staticmethod
    def forward(ctx, plan: CompactPlan, inputs: torch.Tensor, weights: Optional[torch.Tensor]):
        x = inputs.detach().numpy()
        if not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        # numpy's reshape: torch's costs several microseconds, a tenth of a small circuit's forward
        w = np.zeros(0, dtype=x.dtype) if weights is None else weights.detach().numpy().reshape(-1)
        kernels, typed = _kernels(), plan.typed(x.dtype)
        dense = dense_pays(plan.n, plan.block_rows, x.shape[0])
        out, saved = (kernels.forward_dense if dense else kernels.forward)(x, w, *typed["forward"])
        ctx.state = (saved, weights, x.shape[1], typed["backward"], dense, kernels, x.dtype)
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, grad):
        if torch.is_grad_enabled():  # create_graph=True: these gradients have no graph of their own
            raise RuntimeError("backend.strategy=compact differentiates once; for second derivatives use "
                               "backend.strategy=gates")
        saved, weights, n_inputs, arguments, dense, kernels, dtype = ctx.state
        grad_x, grad_w = (kernels.backward_dense if dense else kernels.backward)(
            np.ascontiguousarray(grad.numpy()), saved, n_inputs, 0 if weights is None else weights.numel(), *arguments)
        wanted = ctx.needs_input_grad
        return (None, torch.from_numpy(grad_x) if wanted[1] else None,
                torch.from_numpy(grad_w.reshape(weights.shape).astype(dtype)) if wanted[2] else None)
