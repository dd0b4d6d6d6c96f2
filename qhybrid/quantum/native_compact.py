"""The native executor's compact strategy: the whole circuit, forward and backward, in one
autograd node computed on the CPU by compiled loops (qhybrid.quantum.native_kernels, Numba)
and NumPy's matrix products.

At a few qubits a training step is bound by the number of operations, not by arithmetic:
the state is a few kilobytes, and each torch operation costs microseconds of dispatch plus
as much again for autograd to record it and run its backward (a (4, 2, 64) step of the
gates plan is ~780 of them). Here a step is about twenty calls and one autograd node.

It covers the common circuits (COVERS): an angle embedding (RX, RY or RZ, any mix) reading
inputs on some or all wires, single-wire gates that read weights or nothing (tabulated in
qhybrid.quantum.gate_tables) or one per-sample number (RX, RY, RZ, PhaseShift of an input:
re-uploading; of a soft gate), fixed permutations (CNOT, SWAP, X), fixed diagonal gates (CZ),
controlled phases reading a per-sample number (soft gating), read as <Z> on every wire or
any observables diagonal in the computational basis (Z words, probs: a matrix over the
amplitudes' probabilities). ``compact_plan`` returns None for anything else (hard gating,
amplitude embedding, X or Y in a readout, per-sample two-wire gates other than the phase),
and the executor runs its torch plans.

Per wire, the state is N_w [cos h, sin h] (h half the input angle, N_w the embedding's two
columns times the weight gates that follow it; a wire without an embedding has h = 0); the
product state goes through the plan's steps -- blocks (Kronecker products of weight gates,
permutations absorbed), constant diagonals, and the per-sample steps: a gate whose angle is
a sample's number, a phase on the amplitudes where both of a controlled phase's wires are 1
-- and <Z> is read off. The backward walks the same steps in reverse and ends in one
derivative per gate parameter and per-sample number.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from qhybrid.quantum.circuit import SOURCE_GATE, SOURCE_INPUT, SOURCE_WEIGHT, Program
from qhybrid.quantum.gate_registry import gate_kind
from qhybrid.quantum.native_matrices import spread_diagonals
from qhybrid.quantum.observables import readout_values
from qhybrid.quantum.native_plan import MAX_BLOCK, Block, Compiled, Diagonal, Gather, Phase
from qhybrid.quantum.gate_tables import MAX_ANGLES, MAX_PARAMS, GateTable, fixed_matrix, gate_table

# columns e0 and t of R(x)|0> = cos(x/2) e0 + sin(x/2) t, PennyLane's conventions
EMBEDDING_BASIS = {"RX": [[1, 0], [0, -1j]], "RY": [[1, 0], [0, 1]], "RZ": [[1, -1j], [0, 0]]}
_COMPLEX = {np.dtype(np.float64): np.complex128, np.dtype(np.float32): np.complex64}
COVERS = ("an angle embedding (RX, RY or RZ of an input) on any wires, then single-wire gates reading weights or "
          "nothing or an input (RX, RY, RZ, PhaseShift), CNOT, SWAP, CZ and a controlled phase reading a soft gate, read "
          "as Z words or probs")


@dataclass
class CompactPlan:
    """The circuit as arrays for the kernels (qhybrid.quantum.native_kernels.forward): the
    embedding (its columns per wire and the input each reads), the weight gates as rows
    (kind, parameter entries; kind -1 a fixed gate), the follower stages' rows per wire, and
    the steps; ``typed`` holds the complex ones in each precision."""

    n: int
    inputs: np.ndarray  # (n,): the input each wire's embedding reads, -1 for none
    kinds: np.ndarray  # (rows,)
    params: np.ndarray  # (rows, MAX_PARAMS) entries of the weight vector
    sampled: np.ndarray  # (rows,): the per-sample column a row's one parameter reads, -1 for none
    tables: tuple  # stacked GateTable arrays, one entry per kind
    fixed: np.ndarray  # (rows, 2, 2): fixed gates' matrices
    followers: np.ndarray  # (stages, n)
    steps: tuple  # kind, index, inverse, rows, k, columns (int64) and diag (complex)
    z: np.ndarray  # (2^n, width): each output per stored amplitude (<Z_w>: its signs; diagonal_readout)
    basis: np.ndarray  # (n, 2, 2)
    block_rows: int  # the blocks' sizes added up
    gate_offset: Optional[int]  # where a soft gate's columns start in the per-sample numbers (after the inputs)
    per_sample_steps: bool  # steps that read a sample's numbers: then never as one matrix (dense)

    def typed(self, dtype: np.dtype) -> dict:
        """The kernels' arguments after the batch's, with the floating arrays in a precision
        (built once per dtype)."""
        cache = self.__dict__.setdefault("_typed", {})
        if dtype not in cache:
            ctype = _COMPLEX[dtype]
            steps, z = (*self.steps[:6], self.steps[6].astype(ctype), self.steps[7]), self.z.astype(dtype)
            cache[dtype] = {
                "forward": (self.inputs, self.basis.astype(ctype), self.kinds, self.params, self.sampled, self.tables,
                            self.fixed.astype(ctype), self.followers, steps, z),
                "backward": (self.inputs, self.kinds, self.params, self.sampled, self.tables, self.followers, steps, z)}
        return cache[dtype]


def diagonal_readout(observables: list, z: np.ndarray) -> Optional[np.ndarray]:
    """Observables diagonal in the computational basis (Z words, probs) as the (2^n, width)
    matrix the kernels read the probabilities with (stored amplitude k, whose Z signs are
    z[k]; <Z> on every wire is z itself); None where a word has an X or a Y."""
    if any(pauli in "XY" for o in observables for _, word in o.terms for pauli, _ in word):
        return None
    n = z.shape[1]
    logical = ((1 - z.astype(np.int64)) // 2 << np.arange(n - 1, -1, -1)).sum(axis=1)
    return readout_values(observables, n).numpy()[logical]


def compact_plan(program: Program, plan: Compiled, readout: Optional[np.ndarray] = None) -> Optional[CompactPlan]:
    """The compact form of a gates plan (qhybrid.quantum.native_plan), or None when the
    circuit is outside what it covers (see the module's docstring) or Numba is missing;
    ``readout`` (diagonal_readout) in place of <Z> on every wire."""
    if importlib.util.find_spec("numba") is None or program.embedding == "amplitude":
        return None
    columns, product = _SampleColumns(program), plan.product or []  # none: every wire starts in |0>
    embedding = {plan.gates[s].wires[0]: plan.gates[s] for s in product if _embeds(program, plan.gates[s])}
    # the product stage's other gates act on |0> before anything else: a first follower stage
    stages = [[s for s in product if plan.gates[s].wires[0] not in embedding], *plan.followers]
    stages = [slots for slots in stages if slots]
    # stages from the first that reads a sample's numbers on run as steps on the state, not on the wires
    first = next((f for f, slots in enumerate(stages) if any(columns.reads_sample(plan.gates[s]) for s in slots)),
                 len(stages))
    stages, leading = stages[:first], [(s, plan.gates[s].wires[0]) for slots in stages[first:] for s in slots]
    row_slots = [s for s in range(len(plan.gates)) if s not in product or plan.gates[s].wires[0] not in embedding]
    row_of = {s: row for row, s in enumerate(row_slots)}
    rows, steps = _rows(program, plan, row_slots, columns), _steps(plan, row_of, columns, leading)
    if rows is None or steps is None:
        return None
    identity = len(row_slots)  # the last row: a wire without a gate in a follower stage
    followers = np.full((len(stages), plan.n), identity, dtype=np.int64)
    for f, slots in enumerate(stages):
        followers[f, [plan.gates[s].wires[0] for s in slots]] = [row_of[s] for s in slots]
    basis = [EMBEDDING_BASIS[embedding[w].name] if w in embedding else np.eye(2) for w in range(plan.n)]
    return CompactPlan(
        n=plan.n, inputs=np.array([program.columns[embedding[w].columns[0]][1] if w in embedding else -1
                                   for w in range(plan.n)], dtype=np.int64),
        **rows, followers=followers, steps=steps, z=plan.z.numpy() if readout is None else readout,
        basis=np.array(basis, dtype=np.complex128),
        block_rows=int(sum(2**k for kind, k in zip(steps[0], steps[4]) if kind == 2)),
        gate_offset=columns.gate_offset if columns.used_gates else None,
        per_sample_steps=bool((rows["sampled"] >= 0).any() or (steps[0] == 4).any()))


def _embeds(program: Program, gate) -> bool:
    """An embedding gate of the product stage: RX, RY or RZ of one input column."""
    return (gate.name in EMBEDDING_BASIS and len(gate.columns) == 1
            and program.columns[gate.columns[0]][0] == SOURCE_INPUT)


class _SampleColumns:
    """Where a program column that is read per sample sits in the kernels' per-sample numbers
    x = [inputs | soft gates] (B, columns); weights are not per sample (None)."""

    def __init__(self, program: Program):
        self.program, self.gate_offset, self.used_gates = program, program.n_inputs, False

    def of(self, column: int) -> Optional[int]:
        source, index = self.program.columns[column]
        if source == SOURCE_WEIGHT:
            return None
        if source == SOURCE_GATE:
            self.used_gates = True
            return self.gate_offset + index
        return index

    def reads_sample(self, gate) -> bool:
        return any(self.program.columns[c][0] != SOURCE_WEIGHT for c in gate.columns)


def dense_pays(n: int, block_rows: int, batch: int) -> bool:
    """Whether to run the circuit as one 2^n x 2^n matrix (kernels.forward_dense) rather than
    step by step. Per sample, Q r and its two backward products are 3 (2D x D) real
    multiply-adds against 3 (d x D) complex ones (4 real each) per block of size d; building
    Q and splitting its gradient into the wires' factors costs ~D^2 n^2 once per call, which
    the batch must outweigh (measured crossovers: B between 64 and 256 at n=4, between 64 and
    1024 at n=6; docs/benchmarks.md)."""
    D = 2**n
    return n <= 8 and D <= 2 * block_rows and batch >= 2 * D * n


def _rows(program: Program, plan: Compiled, slots: list[int], columns: _SampleColumns) -> Optional[dict]:
    """The gates as rows (and an identity row last): kind index, parameter entries, fixed
    matrix, and the per-sample column of a one-parameter gate that reads an input; None
    when a gate is not tabulated or mixes weights and per-sample numbers."""
    tables: dict[str, GateTable] = {}  # by kind, in order of first use
    kinds, params = np.full(len(slots) + 1, -1), np.zeros((len(slots) + 1, MAX_PARAMS), dtype=np.int64)
    sampled = np.full(len(slots) + 1, -1, dtype=np.int64)
    fixed = np.zeros((len(slots) + 1, 2, 2), dtype=np.complex128)
    fixed[-1] = np.eye(2)
    for row, slot in enumerate(slots):
        gate = plan.gates[slot]
        if gate_kind(gate.name).n_params == 0:
            fixed[row] = fixed_matrix(gate.name)
            continue
        table = gate_table(gate.name)
        if table is None:
            return None
        if columns.reads_sample(gate):
            if table.n_params != 1:
                return None
            sampled[row] = columns.of(gate.columns[0])
        else:
            params[row, : len(gate.columns)] = [program.columns[c][1] for c in gate.columns]
        tables.setdefault(table.name, table)
        kinds[row] = list(tables).index(table.name)
    stacked = tuple(np.stack([getattr(t, f) for t in tables.values()]) if tables else np.zeros((0, *shape), dtype=dtype)
                    for f, shape, dtype in _TABLE_FIELDS)
    return {"kinds": kinds.astype(np.int64), "params": params, "sampled": sampled, "fixed": fixed,
            "tables": (*stacked, np.array([t.n_params for t in tables.values()], dtype=np.int64))}


_TABLE_FIELDS = (("combos", (MAX_PARAMS, MAX_ANGLES), np.float64), ("shift_cos", (MAX_PARAMS, MAX_ANGLES), np.float64),
                 ("shift_sin", (MAX_PARAMS, MAX_ANGLES), np.float64), ("first", (8,), np.int64),
                 ("second", (8,), np.int64), ("sign", (8,), np.float64), ("rules", (MAX_PARAMS,), np.int64))


def _steps(plan: Compiled, row_of: dict, columns: _SampleColumns, leading: list[tuple]) -> Optional[tuple]:
    """The plan's steps as the arrays kernels.forward reads (kinds as in kernels._run), after
    the ``leading`` gates (slot, wire) on the product state; None for a step it lacks."""
    D = 2**plan.n
    table: list[tuple] = []  # per step: kind, index, rows, k, columns, diag, source

    def add(kind, index=None, members=(), k=0, cols=None, diag=None, source=-1):
        table.append((kind, np.full(D, -1) if index is None else index, [*members, *[0] * (MAX_BLOCK - len(members))],
                      k, np.arange(16) if cols is None else cols, np.ones(D, dtype=complex) if diag is None else diag,
                      source))

    for slot, wire in leading:  # the state is in its logical layout until the plan's steps
        add(3, None, [row_of[slot]], wire)
    for step in plan.steps:
        if isinstance(step, Gather):
            add(0, step.index.numpy())
        elif isinstance(step, Block) and step.batched:  # gate by gate: each may read a sample's number
            gather = None if step.gather is None else step.gather.numpy()
            for j, slot in enumerate(plan.blocks[(True, step.k)][step.slot]):
                add(3, gather if j == 0 else None, [row_of[slot]], j)
        elif isinstance(step, Block):
            members, cols, index = [row_of[s] for s in plan.blocks[(False, step.k)][step.slot]], np.arange(16), None
            if step.gather is not None and 2**step.k == D:  # G (P psi) = (G P) psi: the matrix's columns move
                cols[:D] = np.argsort(step.gather.numpy())
            elif step.gather is not None:
                index = step.gather.numpy()
            add(2, index, members, step.k, cols)
        elif isinstance(step, Diagonal) and not any(g.columns for g in step.gates):
            add(1, diag=spread_diagonals([gate_kind(g.name).matrix(()) for g in step.gates], step.codes).numpy()[:, 0])
        elif isinstance(step, Phase) and columns.of(step.column) is not None:
            add(4, diag=step.mask.numpy().astype(complex), source=columns.of(step.column))
        else:
            return None
    kind, index, rows, ks, cols, diag, source = (list(field) for field in zip(*table)) if table else ([],) * 7
    S = len(kind)
    ints = [np.array(a, dtype=np.int64).reshape(S, width) for a, width in ((index, D), (rows, MAX_BLOCK), (cols, 16))]
    inverse = np.array([np.argsort(i) if i[0] >= 0 else i for i in ints[0]], dtype=np.int64).reshape(S, D)
    return (np.array(kind, dtype=np.int64), ints[0], inverse, ints[1], np.array(ks, dtype=np.int64), ints[2],
            np.array(diag, dtype=np.complex128).reshape(S, D), np.array(source, dtype=np.int64))


def warm_up(plan: CompactPlan, dtype: torch.dtype) -> float:
    """Compiles (first time on a machine: about a minute per precision) or loads from Numba's
    cache (about a second) the kernels a run in ``dtype`` will call, both modes; the seconds."""
    start = time.perf_counter()
    weights = torch.zeros(int(plan.params.max()) + 1, dtype=dtype, requires_grad=True)
    width = plan.gate_offset or int(max(plan.inputs.max(), plan.sampled.max())) + 1
    dense = 2 * 2**plan.n * plan.n  # the smallest batch run as one matrix, where that can pay at all
    # (a batch that large of a 13-qubit circuit step by step would need ~28 GB: only where dense runs)
    for batch in (1, dense) if not plan.per_sample_steps and dense_pays(plan.n, plan.block_rows, dense) else (1,):
        inputs = torch.zeros(batch, width, dtype=dtype, requires_grad=True)
        gates = torch.zeros(batch, width, dtype=dtype, requires_grad=True) if plan.gate_offset else None
        compact_apply(plan, inputs, gates, weights, dtype).sum().backward()
    return time.perf_counter() - start


_KERNELS: list = []


def _kernels():
    if not _KERNELS:  # lazy: Numba loads (and compiles) only for this strategy
        from qhybrid.quantum import native_kernels

        _KERNELS.append(native_kernels)
    return _KERNELS[0]


_NUMPY = {torch.float64: np.dtype(np.float64), torch.float32: np.dtype(np.float32)}


class CompactCircuit(torch.autograd.Function):
    """(plan, inputs (B, n_inputs), soft gates (B, n_inputs) or None, weights or None, the
    simulation's dtype) -> <Z_w> (B, n) on the CPU, computed in that dtype and returned in the
    inputs': a float32 model's batch is cast inside the node (NumPy's astype, the same
    rounding as torch's) instead of by two more autograd nodes. Its Python is kept to a few
    lines: at a few qubits it is a good part of a step."""

    @staticmethod
    def forward(ctx, plan: CompactPlan, inputs: torch.Tensor, gates: Optional[torch.Tensor],
                weights: Optional[torch.Tensor], dtype: torch.dtype):
        sim, given = _NUMPY[dtype], inputs.detach().numpy()
        x = given
        if plan.gate_offset is not None:  # the kernels read one array of per-sample numbers
            x = np.concatenate([x, gates.detach().numpy()], axis=1)
        if x.dtype != sim or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=sim)
        # numpy's reshape: torch's costs several microseconds, a tenth of a small circuit's forward
        w = np.zeros(0, dtype=sim) if weights is None else weights.detach().numpy().reshape(-1)
        kernels, typed = _kernels(), plan.typed(sim)
        dense = not plan.per_sample_steps and dense_pays(plan.n, plan.block_rows, x.shape[0])
        out, saved = (kernels.forward_dense if dense else kernels.forward)(x, w, *typed["forward"])
        ctx.state = (saved, weights, inputs.shape[1], typed["backward"], dense, kernels, sim, given.dtype,
                     None if gates is None else gates.dtype)
        return torch.from_numpy(out if out.dtype == given.dtype else out.astype(given.dtype))

    @staticmethod
    def backward(ctx, grad):
        if torch.is_grad_enabled():  # create_graph=True: these gradients have no graph of their own
            raise RuntimeError("backend.strategy=compact differentiates once; for second derivatives use "
                               "backend.strategy=gates")
        saved, weights, width, arguments, dense, kernels, sim, inputs_dtype, gates_dtype = ctx.state
        grad_x, grad_w = (kernels.backward_dense if dense else kernels.backward)(
            np.ascontiguousarray(grad.numpy(), dtype=sim), saved, 0 if weights is None else weights.numel(),
            *arguments)
        wanted = ctx.needs_input_grad
        return (None, torch.from_numpy(grad_x[:, :width].astype(inputs_dtype)) if wanted[1] else None,
                torch.from_numpy(grad_x[:, width:].astype(_NUMPY[gates_dtype]))
                if wanted[2] and grad_x.shape[1] > width else None,
                torch.from_numpy(grad_w.reshape(weights.shape).astype(_NUMPY[weights.dtype])) if wanted[3] else None,
                None)


# torch's C entry of Function.apply: the Python classmethod in front of it maps the arguments
# through functorch's unwrapping first (~10 us a call here, a tenth of a small circuit's forward)
_ENTRY = getattr(torch._C, "_FunctionBase", None)
_C_APPLY = _ENTRY.__dict__["apply"].__get__(None, CompactCircuit) if "apply" in getattr(_ENTRY, "__dict__", {}) \
    else None


def compact_apply(plan: CompactPlan, inputs: torch.Tensor, gates: Optional[torch.Tensor],
                  weights: Optional[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    """``CompactCircuit.apply``; through torch's C entry unless functorch's transforms are on
    (they need the Python classmethod) or this torch has no such entry."""
    if _C_APPLY is None or torch._C._are_functorch_transforms_active():
        return CompactCircuit.apply(plan, inputs, gates, weights, dtype)
    return _C_APPLY(plan, inputs, gates, weights, dtype)
