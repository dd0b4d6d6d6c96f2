"""Compiling a Program for the native executor: the stage list, the plan
(blocks, permutation gathers, per-sample selections and phases, fused runs) and the cost
model that picks a strategy. See qhybrid.quantum.native for how a plan runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from qhybrid.quantum.circuit import SOURCE_WEIGHT, Gate, Program
from qhybrid.quantum.gate_registry import gate_kind
from qhybrid.quantum.native_matrices import basis_bits, cnot_permutation, flip_permutation, permutation, to_top_bits

COMPLEX = {torch.float64: torch.complex128, torch.float32: torch.complex64}
PERMUTATIONS = ("CNOT", "SWAP")  # folded into the layout: they move no data
DIAGONAL = ("CZ", "CRZ", "IsingZZ", "ControlledPhaseShift")  # two-wire diagonal gates: elementwise products
MAX_BLOCK = 4


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
class Diagonal:
    """Diagonal two-wire registry gates, one after another: S <- prod_g d_g[code_g] * S, d_g a
    gate's diagonal (per sample or shared) and code_g (2^n,) the index 2 b_first + b_second
    of each stored amplitude on the gate's wires."""

    codes: list
    gates: list


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
    fixed_steps: int = 0  # data-independent steps other than blocks (Dense, Diagonal) in steps


def _canonical(gates: list[Gate]) -> list[Gate]:
    """Gates under their registry names (ROT -> Rot, CPHASE -> ControlledPhaseShift): the one
    place the plan reads names, so a program naming gates either way gets the same plan."""
    return [g if g.name == "AMPLITUDE" or g.name == gate_kind(g.name).name else Gate(gate_kind(g.name).name, g.wires,
                                                                                      g.columns) for g in gates]


def _hard_gated_cnot(program: Program, gates: list[Gate], i: int) -> bool:
    """H(t) CPhase(pi m) H(t) of hard gating (qhybrid.quantum.circuit)."""
    return (program.gating == "hard" and gates[i].name == "H" and i + 2 < len(gates)
            and gates[i + 1].name == "ControlledPhaseShift" and gates[i + 2].name == "H"
            and gates[i].wires[0] == gates[i + 2].wires[0] == gates[i + 1].wires[1])


def _stages(program: Program) -> list[tuple]:
    """The gate list as stages: ("rot", [gates]) of single-wire gates on distinct wires,
    ("perm", c), ("select", c, column), ("phase", mask, column), ("diag", [gates]) of
    diagonal two-wire gates alike in reading per-sample angles or not, and ("dense", gate)
    for any other registry gate."""
    n, gates = program.n_qubits, _canonical(program.gates)
    weight_cols = {c for c, (src, _) in enumerate(program.columns) if src == SOURCE_WEIGHT}
    stages: list[tuple] = []
    pending: list[Gate] = []

    def flush() -> None:
        if pending:
            stages.append(("rot", list(pending)))
            pending.clear()

    i = 0
    while i < len(gates):
        g = gates[i]
        if _hard_gated_cnot(program, gates, i):
            flush()
            stages.append(("select", cnot_permutation(n, *gates[i + 1].wires), gates[i + 1].columns[0]))
            i += 3
            continue
        if g.name == "AMPLITUDE":
            if i != 0:
                raise ValueError("amplitude embedding must come first")
        elif gate_kind(g.name).n_wires == 1:
            if g.wires[0] in {p.wires[0] for p in pending}:
                flush()
            pending.append(g)
        else:
            flush()
            stage = _entangling_stage(n, g, weight_cols)
            last = stages[-1] if stages else ("",)
            if stage[0] == last[0] == "perm":  # a run of permutations is one
                stage = ("perm", last[1][stage[1]])
                stages.pop()
            elif stage[0] == last[0] == "diag" and _fixed(g, weight_cols) == _fixed(last[1][0], weight_cols):
                stage = ("diag", last[1] + [g])  # diagonal gates: one product of their diagonals
                stages.pop()
            stages.append(stage)
        i += 1
    flush()
    return stages


def _fixed(g: Gate, weight_cols: set[int]) -> bool:
    return set(g.columns) <= weight_cols


def _entangling_stage(n: int, g: Gate, weight_cols: set[int]) -> tuple:
    if g.name in PERMUTATIONS:
        return ("perm", permutation(n, g))
    if g.name == "ControlledPhaseShift" and not _fixed(g, weight_cols):  # a gate's per-sample phase (gating)
        bits = basis_bits(n)
        return ("phase", (bits[:, g.wires[0]] & bits[:, g.wires[1]]).bool(), g.columns[0])
    if g.name in DIAGONAL:
        return ("diag", [g])
    return ("dense", g)


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
        """Whether a stage reads no per-sample angle (a fused run can hold it)."""
        kind = stage[0]
        if kind == "rot":
            return all(set(g.columns) <= self.weight_cols for g in stage[1])
        if kind in ("dense", "diag"):
            return all(set(g.columns) <= self.weight_cols for g in (stage[1] if kind == "diag" else [stage[1]]))
        return kind == "perm"  # a phase stage's angle is per sample (a weight's is a diagonal stage)

    @staticmethod
    def worth_fusing(run: list) -> bool:
        """A run with weights, or two steps or more: not permutations alone (CNOT, SWAP, X: free
        in the layout), nor one fixed step (cheaper on the batch than as a 2^n x 2^n matrix)."""
        steps = [s for s in run if s[0] != "perm" and not (s[0] == "rot" and all(g.name == "X" for g in s[1]))]
        has_angles = any(s[0] in ("rot", "diag") and any(g.columns for g in s[1]) or s[0] == "dense" and s[1].columns
                         for s in steps)
        return has_angles or len(steps) > 1

    def build(self, strategy: str) -> Compiled:
        stages = self.product_start(_stages(self.program))
        plan, identity, layout, i = self.plan, self.identity, self.identity, 0
        while i < len(stages):
            if strategy == "fused" and self.is_fixed(stages[i]):
                j = i
                while j < len(stages) and self.is_fixed(stages[j]):
                    j += 1
                run = stages[i:j]
                if self.worth_fusing(run):
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
        plan.z = (1 - 2 * basis_bits(self.n)[torch.argsort(layout)]).to(torch.float64)
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
            elif kind == "diag":
                bits = basis_bits(self.n)[torch.argsort(layout)]
                out.append(Diagonal([2 * bits[:, g.wires[0]] + bits[:, g.wires[1]] for g in stage[1]], stage[1]))
            elif kind == "dense":
                q = to_top_bits(self.n, list(stage[1].wires))
                gather = layout[torch.argsort(q)]
                out.append(Dense(None if torch.equal(gather, self.identity) else gather, stage[1]))
                layout = q
            if batched_run is None and kind in ("diag", "dense") and self.is_fixed(stage):
                self.plan.fixed_steps += 1
        return layout

    def emit_rotations(self, stage_gates: list, layout: torch.Tensor, out: list, batched: bool) -> torch.Tensor:
        """Blocks of up to max_block gates on neighbouring wires, each moved to the top bits.
        An X at either end of a run of neighbours is a permutation, folded into the layout (the
        stage's gates are on distinct wires, so it commutes with the blocks)."""
        gates = sorted(stage_gates, key=lambda g: g.wires[0])
        flips = [g for g in gates if g.name == "X" and not self.inside_run(g.wires[0], gates)]
        if flips:
            layout = layout[flip_permutation(self.n, [g.wires[0] for g in flips])]
            gates = [g for g in gates if g not in flips]
        start = 0
        while start < len(gates):
            stop = start + 1
            while (stop < len(gates) and gates[stop].wires[0] == gates[stop - 1].wires[0] + 1
                   and stop - start < self.max_block):
                stop += 1
            members = gates[start:stop]
            q = to_top_bits(self.n, [g.wires[0] for g in members])
            gather = layout[torch.argsort(q)]
            slots = tuple(self.slot_of(g, batched) for g in members)
            group = self.plan.blocks.setdefault((batched, len(members)), [])
            group.append(slots)
            out.append(Block(None if torch.equal(gather, self.identity) else gather, len(group) - 1,
                             len(members), batched))
            layout = q
            start = stop
        return layout

    @staticmethod
    def inside_run(wire: int, gates: list[Gate]) -> bool:
        """Whether non-X gates of the stage sit on both sides of ``wire``, neighbours all the way."""
        wires = {g.wires[0]: g.name for g in gates}

        def reaches(step: int) -> bool:
            w = wire + step
            while wires.get(w) == "X":
                w += step
            return w in wires

        return reaches(-1) and reaches(1)


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


COMPACT_AMPLITUDES = 2**20


def compact_pays(n: int, batch: int) -> bool:
    """Whether the compact strategy (qhybrid.quantum.native_compact; one thread) beats the
    torch plans: measured faster single-threaded from (1, 1, 4) to (12, 2, 256), 2^20
    amplitudes (docs/benchmarks.md); above that torch's threads and blocked kernels take over."""
    return 2**n * batch <= COMPACT_AMPLITUDES
