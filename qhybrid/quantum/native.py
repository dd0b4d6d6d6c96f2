"""The native executor: a batched state-vector simulator in torch.

It runs the same ``Program`` as the PennyLane executor (qhybrid.quantum.circuit): the whole
batch is one state tensor (B, 2**n), complex64 or complex128, on the CPU or CUDA, and
gradients come from autograd with respect to inputs and weights.

Cost is the number of tensor operations (small circuits are overhead-bound) and the bytes
moved (large ones are memory-bound), so the gate list is compiled once into a short plan:

* The single-qubit gates before the first entangling gate (the embedding, and the first
  ansatz rotations) keep |0...0> a product state: they act on each wire's 2-vector, and the
  state is built from those by n - 1 outer products.
* A run of CNOTs is a permutation of basis states. It moves no data: the plan tracks where
  each logical amplitude is stored (``layout``) and folds permutations into the next
  gather, the diagonal masks and the final <Z> signs.
* The state is stored basis-major, (2^n, B), so a permutation moves whole rows.
* Single-qubit gates on neighbouring wires are fused into one 2^k x 2^k block (k <= 4);
  the block's wires are gathered to the top bits (a no-op when they are there already),
  so applying it is one matrix product G @ S.view(2^k, -1). Every matrix of a call (all layers, all wires) is built by a
  handful of vectorised operations.
* Strategy ``fused``: every data-independent run (the ansatz) is applied to the identity
  once per call, giving its 2^n x 2^n matrix, and the batch is transformed with one
  matmul. Strategy ``gates``: blocks are applied to the batch; no 2^n x 2^n matrix is
  built. ``auto`` picks per batch size with ``choose_strategy`` (a cost model calibrated on
  ``qhybrid bench``, see docs/benchmarks.md).
* Hard-gated CNOTs (H CPhase(pi m) H, m in {0, 1}) are a per-sample choice between the
  state and its permutation; soft-gated ones a per-sample phase on a fixed mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import nn

from qhybrid.quantum.circuit import SOURCE_WEIGHT, Gate, Program

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
        phi, theta, omega = angles.unbind(-1)
        c, s = torch.cos(theta / 2), torch.sin(theta / 2)
        # unit phases times real magnitudes: torch.polar's gradient assumes abs >= 0
        a = torch.polar(torch.ones_like(c), -(phi + omega) / 2) * c  # e^{-i(phi+omega)/2} cos
        b = torch.polar(torch.ones_like(s), (phi - omega) / 2) * s  # e^{i(phi-omega)/2} sin
        return torch.stack([a, -b, b.conj(), a.conj()], -1).reshape(*phi.shape, 2, 2).to(ctype)
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


def _kron(mats: torch.Tensor) -> torch.Tensor:
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


def _stages(program: Program) -> list[tuple]:
    """The gate list as stages: ("rot", [gates]) on distinct wires, ("perm", c), ("select",
    c, column), ("phase", mask, column)."""
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
        else:
            raise ValueError(f"the native executor cannot run gate {g.name!r}")
        i += 1
    flush()
    return stages


def compile_plan(program: Program, strategy: str, max_block: int = MAX_BLOCK) -> Compiled:
    n = program.n_qubits
    weight_cols = {c for c, (src, _) in enumerate(program.columns) if src == SOURCE_WEIGHT}
    stages = _stages(program)
    plan = Compiled(n=n, product=None, steps=[], z=torch.empty(0))

    def slot_of(g: Gate, batched: bool) -> int:
        plan.gates.append(g)
        plan.batched_gate.append(batched)
        return len(plan.gates) - 1

    def is_fixed(stage) -> bool:
        return stage[0] == "perm" or (stage[0] == "rot" and all(set(g.columns) <= weight_cols for g in stage[1]))

    if program.embedding != "amplitude" and stages and stages[0][0] == "rot":
        batched = not is_fixed(stages[0])
        plan.product = [slot_of(g, batched) for g in stages[0][1]]
        stages = stages[1:]
        # single-qubit gates before the first entangling gate keep the state a product:
        # they act on each wire's 2-vector, not on the 2^n state
        while stages and stages[0][0] == "rot":
            plan.followers.append([slot_of(g, not is_fixed(stages[0])) for g in stages[0][1]])
            stages = stages[1:]

    identity = torch.arange(2**n)

    def emit(stages_run: list, layout: torch.Tensor, out: list, batched_run: Optional[bool]) -> torch.Tensor:
        """Append steps for ``stages_run`` to ``out``; returns the final layout
        (logical index -> storage index)."""
        for stage in stages_run:
            kind = stage[0]
            if kind == "perm":
                layout = layout[stage[1]]
            elif kind == "rot":
                batched = batched_run if batched_run is not None else not is_fixed(stage)
                gates = sorted(stage[1], key=lambda g: g.wires[0])
                start = 0
                while start < len(gates):
                    stop = start + 1
                    while (stop < len(gates) and gates[stop].wires[0] == gates[stop - 1].wires[0] + 1
                           and stop - start < max_block):
                        stop += 1
                    members = gates[start:stop]
                    q = _to_top_bits(n, [g.wires[0] for g in members])
                    gather = layout[torch.argsort(q)]
                    slots = tuple(slot_of(g, batched) for g in members)
                    group = plan.blocks.setdefault((batched, len(members)), [])
                    group.append(slots)
                    out.append(Block(None if torch.equal(gather, identity) else gather, len(group) - 1,
                                     len(members), batched))
                    layout = q
                    start = stop
            elif kind == "select":
                inverse = torch.argsort(layout)
                out.append(Select(layout[stage[1][inverse]], stage[2]))
            elif kind == "phase":
                out.append(Phase(stage[1][torch.argsort(layout)], stage[2]))
        return layout

    layout = identity
    i = 0
    while i < len(stages):
        if strategy == "fused" and is_fixed(stages[i]):
            j = i
            while j < len(stages) and is_fixed(stages[j]):
                j += 1
            run = stages[i:j]
            if any(s[0] == "rot" and any(g.columns for g in s[1]) for s in run):
                if not torch.equal(layout, identity):
                    plan.steps.append(Gather(layout))
                    layout = identity
                sub: list = []
                end = emit(run, identity, sub, batched_run=False)
                if not torch.equal(end, identity):
                    sub.append(Gather(end))
                plan.steps.append(Fused(sub))
                i = j
                continue
        layout = emit([stages[i]], layout, plan.steps, batched_run=None)
        i += 1
    plan.z = (1 - 2 * _bits(n)[torch.argsort(layout)]).to(torch.float64)
    return plan


# ------------------------------------------------------------------------- cost model

OVERHEAD = 6_000.0  # fixed cost of one tensor operation, in complex multiply-adds (CPU, float64)


def choose_strategy(n: int, batch: int, fixed_blocks: int, max_block: int = MAX_BLOCK) -> str:
    """Fused when building the ansatz matrix and one (B, 2^n) x (2^n, 2^n) product costs
    less than applying its blocks to the batch. Costs are complex multiply-adds plus
    OVERHEAD per operation (forward + backward ~ 3x forward), calibrated with
    `qhybrid bench --impls native_fused native_gates` (docs/benchmarks.md)."""
    if fixed_blocks == 0:
        return "gates"
    D = 2**n
    k = min(n, max_block)
    per_block_batch = batch * D * (2**k) + batch * D  # the block product + its gather
    gates_cost = fixed_blocks * (per_block_batch + 2 * OVERHEAD)
    fused_cost = fixed_blocks * (D * D * 2**k + D * D + 2 * OVERHEAD) + batch * D * D + OVERHEAD
    return "fused" if fused_cost < gates_cost else "gates"


# ---------------------------------------------------------------------------- executor


class _PermuteRows(torch.autograd.Function):
    """A permutation of basis states (rows of the (2^n, B) state). Autograd's generic
    gather backward scatters with accumulation; a permutation's is the inverse permutation."""

    @staticmethod
    def forward(ctx, psi, index, inverse):
        ctx.save_for_backward(inverse)
        return psi.index_select(0, index)

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        return grad.index_select(0, inverse), None, None


class NativeExecutor(nn.Module):
    """(A, amplitudes) -> <Z_i> of shape (B, n_qubits), in the real dtype of A."""

    def __init__(self, program: Program, strategy: str = "auto", max_block: int = MAX_BLOCK):
        super().__init__()
        if strategy not in ("auto", "fused", "gates"):
            raise ValueError(f"strategy must be auto, fused or gates, got {strategy!r}")
        self.program, self.strategy, self.n = program, strategy, program.n_qubits
        self.amplitude = program.embedding == "amplitude"
        self.plans = {s: compile_plan(program, s, max_block) for s in ("fused", "gates")}
        gates_plan = self.plans["gates"]
        self.fixed_blocks = sum(len(v) for (batched, _), v in gates_plan.blocks.items() if not batched)
        self.max_block = max_block
        self.prepared = {name: self._prepare(plan) for name, plan in self.plans.items()}
        self._device_cache: dict = {}
        self.last_strategy: Optional[str] = None

    def extra_repr(self) -> str:
        return f"n_qubits={self.n}, strategy={self.strategy}"

    def pick(self, batch: int) -> str:
        if self.strategy != "auto":
            return self.strategy
        return choose_strategy(self.n, batch, self.fixed_blocks, self.max_block)

    def _permute(self, psi: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """psi[index] for a permutation ``index``; its gradient is the inverse permutation."""
        key = (id(index), str(psi.device))
        if key not in self._device_cache:
            self._device_cache[key] = (index.to(psi.device), torch.argsort(index).to(psi.device))
        forward, inverse = self._device_cache[key]
        return _PermuteRows.apply(psi, forward, inverse)

    def _on(self, tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
        key = (id(tensor), str(device))
        if key not in self._device_cache:
            self._device_cache[key] = tensor.to(device)
        return self._device_cache[key]

    def _prepare(self, plan: Compiled) -> dict:
        """Static index tensors for building a plan's matrices (computed once)."""
        groups: dict[tuple[str, bool], list[int]] = {}
        for slot, (g, b) in enumerate(zip(plan.gates, plan.batched_gate)):
            groups.setdefault((g.name, b), []).append(slot)
        prep: dict = {"groups": [], "pos": {}}
        for batched in (False, True):
            slots = [s for (kind, b), members in groups.items() if b == batched for s in members]
            prep[("order", batched)] = None if slots == sorted(slots) else torch.argsort(torch.tensor(slots))
            prep["pos"].update({(batched, s): i for i, s in enumerate(sorted(slots))})
        for (kind, batched), members in groups.items():
            cols = torch.tensor([c for s in members for c in plan.gates[s].columns], dtype=torch.long)
            prep["groups"].append((kind, batched, len(members), cols))
        for (batched, k), members in plan.blocks.items():
            prep[("block", batched, k)] = torch.tensor([prep["pos"][(batched, s)] for slots in members for s in slots])
        if plan.product is not None:
            batched = plan.batched_gate[plan.product[0]]
            prep["product"] = (batched, torch.tensor([prep["pos"][(batched, s)] for s in plan.product]),
                               torch.tensor([plan.gates[s].wires[0] for s in plan.product]))
            prep["followers"] = []
            for slots in plan.followers:
                batched = plan.batched_gate[slots[0]]
                prep["followers"].append((batched, torch.tensor([prep["pos"][(batched, s)] for s in slots]),
                                          torch.tensor([plan.gates[s].wires[0] for s in slots])))
        return prep

    def _matrices(self, plan: Compiled, prep: dict, A: torch.Tensor, ctype: torch.dtype):
        """Every gate's 2x2 matrix: one angle gather and one construction per (kind, batched).
        Returns shared (G_s, 2, 2) and batched (B, G_b, 2, 2), ordered by slot."""
        parts: dict[bool, list[torch.Tensor]] = {False: [], True: []}
        for kind, batched, count, cols in prep["groups"]:
            rows = A if batched else A[:1]
            if kind == "H":
                angles = rows.new_zeros(rows.shape[0], count)
            else:
                angles = rows[:, self._on(cols, A.device)]
                if kind == "ROT":
                    angles = angles.reshape(rows.shape[0], count, 3)
            mats = rotation_matrices(kind, angles, ctype)
            parts[batched].append(mats if batched else mats[0])
        out = []
        for batched in (False, True):
            if not parts[batched]:
                out.append(None)
                continue
            mats = torch.cat(parts[batched], dim=1 if batched else 0) if len(parts[batched]) > 1 else parts[batched][0]
            order = prep[("order", batched)]
            if order is not None:
                mats = mats[:, self._on(order, A.device)] if batched else mats[self._on(order, A.device)]
            out.append(mats)
        return out[0], out[1]

    def _blocks(self, plan: Compiled, prep: dict, shared, batched) -> dict:
        """(batched, k) -> kron'ed blocks: (n_blocks, 2^k, 2^k) or (B, n_blocks, 2^k, 2^k)."""
        out = {}
        for (is_batched, k), members in plan.blocks.items():
            source = batched if is_batched else shared
            index = self._on(prep[("block", is_batched, k)], source.device)
            if is_batched:
                mats = source[:, index].reshape(source.shape[0], len(members), k, 2, 2)
            else:
                mats = source[index].reshape(len(members), k, 2, 2)
            out[(is_batched, k)] = _kron(mats)
        return out

    def _product_state(self, prep: dict, shared, batched, B: int, ctype, device) -> torch.Tensor:
        n = self.n
        is_batched, positions, wires = prep["product"]
        if is_batched:
            first = batched[:, self._on(positions, device), :, 0]  # (B, k, 2): each wire's R|0>
        else:
            first = shared[self._on(positions, device)][None, :, :, 0]
        R = first.shape[0]
        v = torch.zeros(R, n, 2, dtype=ctype, device=device)
        v[:, :, 0] = 1
        v = v.index_copy(1, self._on(wires, device), first)
        for follower_batched, positions, wires in prep["followers"]:
            mats = batched[:, self._on(positions, device)] if follower_batched else \
                shared[self._on(positions, device)][None]
            if mats.shape[0] != v.shape[0]:
                v = v.expand(mats.shape[0], -1, -1) if v.shape[0] == 1 else v
            wires = self._on(wires, device)
            moved = (mats @ v[:, wires].unsqueeze(-1)).squeeze(-1)
            v = v.index_copy(1, wires, moved)
        R = v.shape[0]
        # n - 1 outer products (a gather-and-prod is fewer ops, but prod's backward divides)
        per_wire = v.permute(1, 2, 0)  # (n, 2, R)
        psi = per_wire[0]
        for w in range(1, n):
            psi = (psi[:, None, :] * per_wire[w][None, :, :]).reshape(-1, R)
        return psi if R == B else psi.expand(-1, B)

    def _run(self, steps: list, psi: torch.Tensor, A: torch.Tensor, blocks: dict) -> torch.Tensor:
        """Apply steps to states stored as (2^n, batch)."""
        D, B = psi.shape
        for step in steps:
            if isinstance(step, Block):
                if step.gather is not None:
                    psi = self._permute(psi, step.gather)
                d = 2**step.k
                if step.batched:
                    m = blocks[(True, step.k)][:, step.slot]  # (B, d, d)
                    psi = torch.einsum("bij,jrb->irb", m, psi.reshape(d, D // d, B)).reshape(D, B)
                else:
                    psi = (blocks[(False, step.k)][step.slot] @ psi.reshape(d, -1)).reshape(D, B)
            elif isinstance(step, Gather):
                psi = self._permute(psi, step.index)
            elif isinstance(step, Fused):
                eye = torch.eye(D, dtype=psi.dtype, device=psi.device)
                psi = self._run(step.plan, eye, A[:1], blocks) @ psi
            elif isinstance(step, Select):
                on = (A[:, step.column] > math.pi / 2)[None, :]
                psi = torch.where(on, self._permute(psi, step.gather), psi)
            elif isinstance(step, Phase):
                phase = torch.polar(torch.ones_like(A[:, step.column]), A[:, step.column]).to(psi.dtype)
                psi = torch.where(self._on(step.mask, psi.device)[:, None], psi * phase[None, :], psi)
        return psi

    def forward(self, A: torch.Tensor, amplitudes: Optional[torch.Tensor] = None) -> torch.Tensor:
        ctype = COMPLEX[A.dtype]
        B = A.shape[0]
        strategy = self.pick(B)
        self.last_strategy = strategy
        plan, prep = self.plans[strategy], self.prepared[strategy]
        shared, batched = self._matrices(plan, prep, A, ctype)
        blocks = self._blocks(plan, prep, shared, batched)
        if self.amplitude:
            x = amplitudes.to(A.dtype)
            x = x / x.norm(dim=1, keepdim=True).clamp_min(torch.finfo(A.dtype).tiny)
            psi = torch.nn.functional.pad(x, (0, 2**self.n - x.shape[1])).to(ctype).T
        elif plan.product is not None:
            psi = self._product_state(prep, shared, batched, B, ctype, A.device)
        else:
            psi = torch.zeros(2**self.n, B, dtype=ctype, device=A.device)
            psi[0] = 1
        psi = self._run(plan.steps, psi, A, blocks)
        probs = psi.real.square() + psi.imag.square()  # (2^n, B); view_as_real().pow().sum() is 10x slower
        return (self._on(plan.z, A.device).to(A.dtype).T @ probs).T
