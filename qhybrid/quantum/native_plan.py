"""Compiling a Program for the native executor: gate matrices, the stage list, the plan
(blocks, permutation gathers, per-sample selections and phases, fused runs) and the cost
model that picks a strategy. See qhybrid.quantum.native for how a plan runs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import torch

from qhybrid.quantum.circuit import SOURCE_WEIGHT, Gate, Program
from qhybrid.quantum.gate_registry import GATES
from qhybrid.quantum.native_autograd import RotMatrices

COMPLEX = {torch.float64: torch.complex128, torch.float32: torch.complex64}
ROTATION_KINDS = ("RX", "RY", "RZ", "ROT", "H")
MAX_BLOCK = 4


# ----------------------------------------------------------------------------- matrices


def rotation_matrices(kind: str, angles: torch.Tensor, ctype: torch.dtype) -> torch.Tensor:
    """2x2 matrices, PennyLane's conventions: angles (..., k) -> (..., k, 2, 2); ROT takes
    (..., k, 3) = (phi, theta, omega) and is RZ(omega) RY(theta) RZ(phi)."""
    if kind == "H":
        h = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=ctype, device=angles.device) / math.sqrt(2)
        return h.expand(*angles.shape, 2, 2)
    if kind == "ROT":
        return RotMatrices.apply(angles).to(ctype)
    c, s = torch.cos(angles / 2), torch.sin(angles / 2)
    zero = torch.zeros_like(c)
    if kind == "RY":
        return torch.stack([c, -s, s, c], -1).reshape(*angles.shape, 2, 2).to(ctype)
    if kind == "RX":
        parts = (torch.stack([c, zero, zero, c], -1), torch.stack([zero, -s, -s, zero], -1))
    elif kind == "RZ":
        parts = (torch.stack([c, zero, zero, c], -1), torch.stack([-s, zero, zero, s], -1))
    else:
        raise ValueError(f"no rotation matrix for {kind!r}")
    return torch.complex(*parts).reshape(*angles.shape, 2, 2).to(ctype)


def _bits(n: int) -> torch.Tensor:
    """(2^n, n): the bit of wire w in basis state i (wire 0 most significant, as PennyLane)."""
    index = torch.arange(2**n)
    return (index[:, None] >> torch.arange(n - 1, -1, -1)[None, :]) & 1


def cnot_permutation(n: int, control: int, target: int) -> torch.Tensor:
    """c with (CNOT psi)[i] = psi[c[i]]."""
    index = torch.arange(2**n)
    return index ^ (((index >> (n - 1 - control)) & 1) << (n - 1 - target))


def _to_top_bits(n: int, wires: list[int]) -> torch.Tensor:
    """q: logical index -> storage index with ``wires`` (in order) as the top bits and the
    other wires, in order, below them."""
    bits = _bits(n)
    order = list(wires) + [w for w in range(n) if w not in wires]
    weights = 2 ** torch.arange(n - 1, -1, -1)
    return (bits[:, order] * weights).sum(1)


def kron(mats: torch.Tensor) -> torch.Tensor:
    """(..., k, 2, 2) -> (..., 2^k, 2^k), the first factor most significant."""
    k = mats.shape[-3]
    if k == 1:
        return mats[..., 0, :, :]
    letters = "abcdefghijklmnop"
    rows, cols = letters[:k], letters[k : 2 * k]
    spec = ",".join(f"...{rows[i]}{cols[i]}" for i in range(k)) + f"->...{rows}{cols}"
    return torch.einsum(spec, *mats.unbind(-3)).reshape(*mats.shape[:-3], 2**k, 2**k)


# --------------------------------------------------------------------------------- plan


@dataclass
class Block:
    """Gates on ``k`` wires moved to the top bits: S (2^n, B) <- G @ S viewed (2^k, -1)."""

    gather: Optional[torch.Tensor]  # storage permutation applied first (None: already in place)
    slot: int  # index of this block in its (batched, k) group of matrices
    k: int
    batched: bool


@dataclass
class Dense:
    """Any registry gate (qhybrid.quantum.gate_registry) on its wires moved to the top bits, in
    the gate's wire order: S (2^n, B) <- U @ S viewed (2^k, -1), U per sample or shared."""

    gather: Optional[torch.Tensor]
    gate: Gate


@dataclass
class Select:
    """Hard-gated CNOT: where A[:, column] is pi, take the permuted state."""

    gather: torch.Tensor
    column: int


@dataclass
class Phase:
    """Per-sample phase exp(i A[:, column]) on the amplitudes in ``mask``."""

    mask: torch.Tensor
    column: int


@dataclass
class Gather:
    index: torch.Tensor


@dataclass
class Fused:
    """A data-independent run compiled into one matrix per call."""

    plan: list


@dataclass
class Compiled:
    n: int
    product: Optional[list[int]]  # gate slots of the product-state stage (None: |0> or amplitudes)
    steps: list
    z: torch.Tensor  # (2^n, n) signs of Z_w per storage index
    followers: list = field(default_factory=list)  # later single-qubit stages folded into the product
    # gates that need matrices: slot -> gate; and blocks: (batched, k) -> list of gate-slot tuples
    gates: list[Gate] = field(default_factory=list)
    batched_gate: list[bool] = field(default_factory=list)
    blocks: dict = field(default_factory=dict)
    layout: Optional[torch.Tensor] = None  # logical index -> storage index after the last step


def _stages(program: Program) -> list[tuple]:
    """The gate list as stages: ("rot", [gates]) on distinct wires, ("perm", c), ("select",
    c, column), ("phase", mask, column), ("dense", gate) for any other registry gate."""
    n, gates = program.n_qubits, program.gates
    stages: list[tuple] = []
    pending: list[Gate] = []

    def flush() -> None:
        if pending:
            stages.append(("rot", list(pending)))
            pending.clear()

    i = 0
    while i < len(gates):
        g = gates[i]
        if (program.gating == "hard" and g.name == "H" and i + 2 < len(gates) and gates[i + 1].name == "CPHASE"
                and gates[i + 2].name == "H" and (g.wires[0] == gates[i + 2].wires[0] == gates[i + 1].wires[1])):
            flush()
            stages.append(("select", cnot_permutation(n, *gates[i + 1].wires), gates[i + 1].columns[0]))
            i += 3
            continue
        if g.name in ROTATION_KINDS:
            if g.wires[0] in {p.wires[0] for p in pending}:
                flush()
            pending.append(g)
        elif g.name == "CNOT":
            flush()
            c = cnot_permutation(n, *g.wires)
            if stages and stages[-1][0] == "perm":
                stages[-1] = ("perm", stages[-1][1][c])
            else:
                stages.append(("perm", c))
        elif g.name == "CPHASE":
            flush()
            bits = _bits(n)
            stages.append(("phase", (bits[:, g.wires[0]] & bits[:, g.wires[1]]).bool(), g.columns[0]))
        elif g.name == "AMPLITUDE":
            if i != 0:
                raise ValueError("amplitude embedding must come first")
        elif g.name in GATES:
            flush()
            stages.append(("dense", g))
        else:
            raise ValueError(f"the native executor cannot run gate {g.name!r}")
        i += 1
    flush()
    return stages


def compile_plan(program: Program, strategy: str, max_block: int = MAX_BLOCK) -> Compiled:
    return _PlanBuilder(program, max_block).build(strategy)


class _PlanBuilder:
    """Turns a program's stages into a Compiled plan: a product-state start where the first
    stages allow it, then blocks of neighbouring single-qubit gates (their wires folded into
    a layout instead of moving the state), and fused fixed runs under strategy=fused."""

    def __init__(self, program: Program, max_block: int):
        self.n, self.max_block = program.n_qubits, max_block
        self.program = program
        self.weight_cols = {c for c, (src, _) in enumerate(program.columns) if src == SOURCE_WEIGHT}
        self.plan = Compiled(n=self.n, product=None, steps=[], z=torch.empty(0))
        self.identity = torch.arange(2**self.n)

    def slot_of(self, g: Gate, batched: bool) -> int:
        self.plan.gates.append(g)
        self.plan.batched_gate.append(batched)
        return len(self.plan.gates) - 1

    def is_fixed(self, stage) -> bool:
        return stage[0] == "perm" or (stage[0] == "rot" and all(set(g.columns) <= self.weight_cols for g in stage[1]))

    def build(self, strategy: str) -> Compiled:
        stages = self.product_start(_stages(self.program))
        plan, identity, layout, i = self.plan, self.identity, self.identity, 0
        while i < len(stages):
            if strategy == "fused" and self.is_fixed(stages[i]):
                j = i
                while j < len(stages) and self.is_fixed(stages[j]):
                    j += 1
                run = stages[i:j]
                if any(s[0] == "rot" and any(g.columns for g in s[1]) for s in run):
                    if not torch.equal(layout, identity):
                        plan.steps.append(Gather(layout))
                        layout = identity
                    sub: list = []
                    end = self.emit(run, identity, sub, batched_run=False)
                    if not torch.equal(end, identity):
                        sub.append(Gather(end))
                    plan.steps.append(Fused(sub))
                    i = j
                    continue
            layout = self.emit([stages[i]], layout, plan.steps, batched_run=None)
            i += 1
        plan.z = (1 - 2 * _bits(self.n)[torch.argsort(layout)]).to(torch.float64)
        plan.layout = layout
        return plan

    def product_start(self, stages: list) -> list:
        """Single-qubit gates before the first entangling gate keep the state a product: they
        act on each wire's 2-vector, not on the 2^n state. Returns the stages left."""
        if self.program.embedding == "amplitude" or not stages or stages[0][0] != "rot":
            return stages
        self.plan.product = [self.slot_of(g, not self.is_fixed(stages[0])) for g in stages[0][1]]
        stages = stages[1:]
        while stages and stages[0][0] == "rot":
            self.plan.followers.append([self.slot_of(g, not self.is_fixed(stages[0])) for g in stages[0][1]])
            stages = stages[1:]
        return stages

    def emit(self, stages_run: list, layout: torch.Tensor, out: list, batched_run: Optional[bool]) -> torch.Tensor:
        """Append steps for ``stages_run`` to ``out``; returns the final layout
        (logical index -> storage index)."""
        for stage in stages_run:
            kind = stage[0]
            if kind == "perm":
                layout = layout[stage[1]]
            elif kind == "rot":
                batched = batched_run if batched_run is not None else not self.is_fixed(stage)
                layout = self.emit_rotations(stage[1], layout, out, batched)
            elif kind == "select":
                inverse = torch.argsort(layout)
                out.append(Select(layout[stage[1][inverse]], stage[2]))
            elif kind == "phase":
                out.append(Phase(stage[1][torch.argsort(layout)], stage[2]))
            elif kind == "dense":
                q = _to_top_bits(self.n, list(stage[1].wires))
                gather = layout[torch.argsort(q)]
                out.append(Dense(None if torch.equal(gather, self.identity) else gather, stage[1]))
                layout = q
        return layout

    def emit_rotations(self, stage_gates: list, layout: torch.Tensor, out: list, batched: bool) -> torch.Tensor:
        """Blocks of up to max_block gates on neighbouring wires, each moved to the top bits."""
        gates = sorted(stage_gates, key=lambda g: g.wires[0])
        start = 0
        while start < len(gates):
            stop = start + 1
            while (stop < len(gates) and gates[stop].wires[0] == gates[stop - 1].wires[0] + 1
                   and stop - start < self.max_block):
                stop += 1
            members = gates[start:stop]
            q = _to_top_bits(self.n, [g.wires[0] for g in members])
            gather = layout[torch.argsort(q)]
            slots = tuple(self.slot_of(g, batched) for g in members)
            group = self.plan.blocks.setdefault((batched, len(members)), [])
            group.append(slots)
            out.append(Block(None if torch.equal(gather, self.identity) else gather, len(group) - 1,
                             len(members), batched))
            layout = q
            start = stop
        return layout


# ------------------------------------------------------------------------- cost model

OVERHEAD = 6_000.0  # fixed cost of one tensor operation, in complex multiply-adds (CPU, float64)


def choose_strategy(n: int, batch: int, fixed_blocks: int, max_block: int = MAX_BLOCK) -> str:
    """Fused when building the ansatz matrix and one (B, 2^n) x (2^n, 2^n) product costs
    less than applying its blocks to the batch. Costs are complex multiply-adds plus
    OVERHEAD per operation (forward + backward ~ 3x forward), calibrated with
    `qhybrid bench --impls native_fused native_gates` (docs/benchmarks.md)."""
    if fixed_blocks <= 1:  # one block is already one product per step: nothing to fold
        return "gates"
    D = 2**n
    k = min(n, max_block)
    per_block_batch = batch * D * (2**k) + batch * D  # the block product + its gather
    gates_cost = fixed_blocks * (per_block_batch + 2 * OVERHEAD)
    fused_cost = fixed_blocks * (D * D * 2**k + D * D + 2 * OVERHEAD) + batch * D * D + OVERHEAD
    return "fused" if fused_cost < gates_cost else "gates"
