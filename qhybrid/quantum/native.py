"""The native executor: a batched state-vector simulator in torch.

It runs the same ``Program`` as the PennyLane executor (qhybrid.quantum.circuit): the whole
batch is one state tensor (B, 2**n), complex64 or complex128, on the CPU or CUDA, and
gradients come from autograd with respect to inputs and weights. Gates are read by their
registry names (an alias such as ROT or CPHASE is its gate): one plan whichever is used.

Cost is the number of tensor operations (small circuits are overhead-bound) and the bytes
moved (large ones are memory-bound), so the gate list is compiled once into a short plan:

* The single-qubit gates before the first entangling gate (the embedding, and the first
  ansatz rotations; any single-wire registry gate) keep |0...0> a product state: they act
  on each wire's 2-vector, and the state is built from those by n - 1 outer products.
* A run of CNOTs and SWAPs is a permutation of basis states, and so is an X beside no other
  single-qubit gate. It moves no data: the plan tracks where each logical amplitude is
  stored (``layout``) and folds permutations into the next gather, the diagonal masks and
  the final <Z> signs.
* The state is stored basis-major, (2^n, B), so a permutation moves whole rows.
* Single-qubit gates on neighbouring wires are fused into one 2^k x 2^k block (k <= 4);
  the block's wires are gathered to the top bits (a no-op when they are there already),
  so applying it is one matrix product G @ S.view(2^k, -1). Every matrix of a call (all
  layers, all wires) is built by a handful of vectorised operations.
* Diagonal two-qubit gates (CZ, CRZ, IsingZZ, ControlledPhaseShift) in a row are one
  elementwise product with the product of their diagonals; other two-qubit gates are a
  Dense step (the gate's matrix on its wires moved to the top bits).
* Strategy ``fused``: every data-independent run (the ansatz) is applied to the identity
  once per call, giving its 2^n x 2^n matrix, and the batch is transformed with one matmul.
  ``gates``: blocks are applied to the batch; no 2^n x 2^n matrix is built. ``compact``
  (qhybrid.quantum.native_compact): the usual circuit as compiled loops on the CPU. ``auto``
  takes compact where it runs and pays (``compact_pays``), else picks with ``choose_strategy``.
* Hard-gated CNOTs (H CPhase(pi m) H, m in {0, 1}) are a per-sample choice between the
  state and its permutation; soft-gated ones a per-sample phase on a fixed mask.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from qhybrid.errors import ConfigError
from qhybrid.quantum.circuit import Angles, Program
from qhybrid.quantum.gate_registry import gate_kind
from qhybrid.quantum.observables import Readout, is_default
from qhybrid.quantum.spec import NATIVE_STRATEGIES
from qhybrid.quantum.native_autograd import PermuteRows, Probabilities, ProductCircuit, outer_chain
from qhybrid.quantum.native_plan import (
    COMPLEX, MAX_BLOCK, Block, Compiled, Dense, Diagonal, Fused, Gather, Phase, Select, choose_strategy,
    compact_pays, compile_plan)
from qhybrid.quantum.native_compact import COVERS, EMBEDDING_BASIS, compact_apply, compact_plan, diagonal_readout
from qhybrid.quantum.native_compact import warm_up as compact_warm_up
from qhybrid.quantum.native_matrices import apply_on_top, kron, rotation_matrices, spread_diagonals

__all__ = ["NativeExecutor", "choose_strategy", "rotation_matrices"]


# ---------------------------------------------------------------------------- executor


_EMBEDDING_BASIS = {kind: torch.tensor(columns, dtype=torch.complex128) for kind, columns in EMBEDDING_BASIS.items()}


class NativeExecutor(nn.Module):
    """(angles, amplitudes) -> <Z_i> of shape (B, n_qubits), in the angles' real dtype."""

    def __init__(self, program: Program, strategy: str = "auto", max_block: int = MAX_BLOCK):
        super().__init__()
        if strategy not in NATIVE_STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(NATIVE_STRATEGIES)}, got {strategy!r}")
        self.program, self.strategy, self.n = program, strategy, program.n_qubits
        self.amplitude = program.embedding == "amplitude"
        self.plans = {s: compile_plan(program, s, max_block) for s in ("fused", "gates")}
        gates_plan = self.plans["gates"]
        self.fixed_blocks = sum(len(v) for (batched, _), v in gates_plan.blocks.items() if not batched) + \
            gates_plan.fixed_steps
        self.max_block = max_block
        self._column = {c: self._source_columns([c]) for c in range(program.n_columns)}
        self.prepared = {name: self._prepare(plan) for name, plan in self.plans.items()}
        self._device_cache: dict = {}
        self.last_strategy: Optional[str] = None
        observables = program.observables
        self.readout = None if observables is None or is_default(observables, self.n) else Readout(observables, self.n)
        # a readout diagonal in the computational basis (Z words, probs) runs compact too
        diagonal = None if self.readout is None else diagonal_readout(observables, self.plans["gates"].z.numpy())
        self.compact = compact_plan(program, self.plans["gates"], diagonal) \
            if self.readout is None or diagonal is not None else None
        if strategy == "compact" and self.compact is None:
            raise ConfigError(f"backend.strategy=compact covers {COVERS}, and this circuit is not that",
                              "use backend.strategy=auto (or fused, gates)")

    def warm_up(self, dtype: torch.dtype) -> float:
        """Compiles or loads the compact kernels before a run's clock starts; the seconds (0: none to run)."""
        return compact_warm_up(self.compact, dtype) if self.compact is not None and self.strategy in (
            "auto", "compact") else 0.0

    def extra_repr(self) -> str:
        return f"n_qubits={self.n}, strategy={self.strategy}"

    def pick(self, batch: int, device: torch.device = torch.device("cpu")) -> str:
        if self.strategy != "auto":
            return self.strategy
        if self.compact is not None and device.type == "cpu" and compact_pays(self.n, batch):
            return "compact"
        return choose_strategy(self.n, batch, self.fixed_blocks, self.max_block)

    def _permute(self, psi: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """psi[index] for a permutation ``index``; its gradient is the inverse permutation."""
        return PermuteRows.apply(psi, self._on(index, psi.device), self._inverse(index, psi.device))

    def _inverse(self, index: torch.Tensor, device: torch.device) -> torch.Tensor:
        key = (id(index), "inverse", str(device))
        if key not in self._device_cache:
            self._device_cache[key] = torch.argsort(index).to(device)
        return self._device_cache[key]

    def _on(self, tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
        key = (id(tensor), str(device))
        if key not in self._device_cache:
            self._device_cache[key] = tensor.to(device)
        return self._device_cache[key]

    def _prepare(self, plan: Compiled) -> dict:
        """Static index tensors for building a plan's matrices (computed once)."""
        direct = self._direct_embedding(plan)
        groups: dict[tuple[str, bool], list[int]] = {}
        for slot, (g, b) in enumerate(zip(plan.gates, plan.batched_gate)):
            if not (direct and slot in plan.product):
                groups.setdefault((g.name, b), []).append(slot)
        prep: dict = {"groups": [], "pos": {}}
        for batched in (False, True):
            slots = [s for (kind, b), members in groups.items() if b == batched for s in members]
            prep[("order", batched)] = None if slots == sorted(slots) else torch.argsort(torch.tensor(slots))
            prep["pos"].update({(batched, s): i for i, s in enumerate(sorted(slots))})
        for (kind, batched), members in groups.items():
            cols = [c for s in members for c in plan.gates[s].columns]
            prep["groups"].append((kind, batched, len(members), self._source_columns(cols)))
        for (batched, k), members in plan.blocks.items():
            prep[("block", batched, k)] = torch.tensor([prep["pos"][(batched, s)] for slots in members for s in slots])
        if direct:
            kind = plan.gates[plan.product[0]].name
            cols = [plan.gates[s].columns[0] for s in plan.product]
            prep["direct"] = (kind, self._source_columns(cols),
                              [self._wire_stage(plan, prep, slots)[1] for slots in plan.followers])
            prep["simple"] = all(isinstance(step, (Gather, Fused)) or (isinstance(step, Block) and not step.batched)
                                 or (isinstance(step, Diagonal) and not any(g.columns for g in step.gates))
                                 for step in plan.steps)
        elif plan.product is not None:
            prep["product"] = self._wire_stage(plan, prep, plan.product)
            prep["followers"] = [self._wire_stage(plan, prep, slots) for slots in plan.followers]
        return prep

    def _source_columns(self, columns: list[int]) -> tuple:
        """Where columns of the angle matrix live: (source, index tensor or slice) when they
        share a source, else (None, columns) and the matrix is built."""
        sources = {self.program.columns[c][0] for c in columns}
        if len(sources) != 1:
            return None, torch.tensor(columns, dtype=torch.long)
        index = [self.program.columns[c][1] for c in columns]
        if index == list(range(index[0], index[0] + len(index))):
            return sources.pop(), slice(index[0], index[0] + len(index))
        return sources.pop(), torch.tensor(index, dtype=torch.long)

    def _read(self, angles: Angles, where: tuple) -> torch.Tensor:
        source, index = where
        values = angles.matrix() if source is None else angles.source(source)
        return values[:, index] if isinstance(index, slice) else values[:, self._on(index, values.device)]

    def _direct_embedding(self, plan: Compiled) -> bool:
        """An angle embedding on every wire in order followed only by weight rotations on
        every wire: each wire's state is N_w [cos(x/2), sin(x/2)], no 2x2 matrices per sample."""
        if plan.product is None:
            return False
        gates = [plan.gates[s] for s in plan.product]
        kinds = {g.name for g in gates}
        return (len(kinds) == 1 and kinds <= {"RX", "RY", "RZ"} and plan.batched_gate[plan.product[0]]
                and [g.wires[0] for g in gates] == list(range(self.n))
                and all(not plan.batched_gate[slots[0]] and [plan.gates[s].wires[0] for s in slots]
                        == list(range(self.n)) for slots in plan.followers))

    def _wire_stage(self, plan: Compiled, prep: dict, slots: list[int]) -> tuple:
        """(batched, matrix positions, wires, whether the wires are 0..n-1 in order)."""
        batched = plan.batched_gate[slots[0]]
        wires = [plan.gates[s].wires[0] for s in slots]
        return (batched, torch.tensor([prep["pos"][(batched, s)] for s in slots]), torch.tensor(wires),
                wires == list(range(self.n)))

    def _matrices(self, plan: Compiled, prep: dict, angles: Angles, ctype: torch.dtype):
        """Every gate's 2x2 matrix: one angle gather and one construction per (kind, batched).
        Returns shared (G_s, 2, 2) and batched (B, G_b, 2, 2), ordered by slot."""
        parts: dict[bool, list[torch.Tensor]] = {False: [], True: []}
        x = angles.inputs
        for kind, batched, count, where in prep["groups"]:
            n_params = gate_kind(kind).n_params
            if n_params == 0:
                values = x.new_zeros(angles.batch if batched else 1, count)
            else:
                values = self._read(angles, where)
                # a weight rotation in a batched stage (beside an input's) reads one row: every sample's
                values = values.expand(angles.batch, -1) if batched else values[:1]
                if n_params > 1:
                    values = values.reshape(values.shape[0], count, n_params)
            mats = rotation_matrices(kind, values, ctype)
            parts[batched].append(mats if batched else mats[0])
        out = []
        for batched in (False, True):
            if not parts[batched]:
                out.append(None)
                continue
            mats = torch.cat(parts[batched], dim=1 if batched else 0) if len(parts[batched]) > 1 else parts[batched][0]
            order = prep[("order", batched)]
            if order is not None:
                mats = mats[:, self._on(order, x.device)] if batched else mats[self._on(order, x.device)]
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
            out[(is_batched, k)] = kron(mats)
        return out

    def _product_state(self, prep: dict, shared, batched, B: int, ctype, device) -> torch.Tensor:
        n = self.n
        is_batched, positions, wires, full = prep["product"]
        if is_batched:
            first = batched[:, self._on(positions, device), :, 0]  # (B, k, 2): each wire's R|0>
        else:
            first = shared[self._on(positions, device)][None, :, :, 0]
        if full:
            v = first
        else:
            v = torch.zeros(first.shape[0], n, 2, dtype=ctype, device=device)
            v[:, :, 0] = 1
            v = v.index_copy(1, self._on(wires, device), first)
        for follower_batched, positions, wires, full in prep["followers"]:
            mats = batched[:, self._on(positions, device)] if follower_batched else \
                shared[self._on(positions, device)][None]
            # 2x2 times 2-vector, elementwise: a batched matmul of B*k 2x2 products is slower
            moved = (mats * (v if full else v[:, self._on(wires, device)])[:, :, None, :]).sum(-1)
            if full:
                v = moved
            else:
                v = v.expand(moved.shape[0], -1, -1) if v.shape[0] < moved.shape[0] else v
                v = v.index_copy(1, self._on(wires, device), moved)
        return self._outer_products(v, B)

    def _embedding_columns(self, prep: dict, angles: Angles, shared, ctype):
        """Half angles (B, n) and N (n, 2, 2): each wire's state is N_w [cos(h), sin(h)]."""
        kind, where, followers = prep["direct"]
        half = self._read(angles, where) * 0.5
        device = half.device
        # R(x)|0> = cos(x/2) e0 + sin(x/2) t, then the followers' product N applied to both
        N = self._on(_EMBEDDING_BASIS[kind], device).to(ctype).expand(self.n, 2, 2)
        for positions in followers:
            N = shared[self._on(positions, device)] @ N
        return half, N

    def _direct_product_state(self, prep: dict, angles: Angles, shared, B: int, ctype) -> torch.Tensor:
        half, N = self._embedding_columns(prep, angles, shared, ctype)
        v = torch.cos(half)[..., None] * N[:, :, 0] + torch.sin(half)[..., None] * N[:, :, 1]
        return self._outer_products(v, B)

    def _product_circuit(self, plan: Compiled, prep: dict, angles: Angles, shared, blocks: dict, ctype):
        half, N = self._embedding_columns(prep, angles, shared, ctype)
        device = half.device
        ops, mats = [], []
        D = 2**self.n
        for step in plan.steps:
            if isinstance(step, Fused):  # the run's matrix, built on the identity, is one full-width block
                eye = torch.eye(D, dtype=ctype, device=device)
                mats.append(self._run(step.plan, eye, angles, blocks))
                ops.append(("block", D, None, None))
                continue
            if isinstance(step, Diagonal):  # fixed gates (CZ): a constant diagonal
                ops.append(("diag", self._diagonal(step, angles, ctype, device), None, None))
                continue
            index = None if step.gather is None else step.gather if isinstance(step, Block) else step.index
            if isinstance(step, Block):
                m = blocks[(False, step.k)][step.slot]
                if index is not None and 2**step.k == D:  # absorb the permutation into the matrix
                    m, index = m.index_select(-1, self._inverse(index, device)), None
                mats.append(m)
                ops.append(("block", 2**step.k, *self._index_pair(index, device)))
            else:
                ops.append(("gather", None, *self._index_pair(index, device)))
        return ProductCircuit.apply(ops, half, N, self._on(plan.z, device).to(half.dtype), *mats)

    def _index_pair(self, index: Optional[torch.Tensor], device) -> tuple:
        return (None, None) if index is None else (self._on(index, device), self._inverse(index, device))

    def _outer_products(self, v: torch.Tensor, B: int) -> torch.Tensor:
        """(R, n, 2) per-wire states -> (2^n, B) product states (R is B or 1)."""
        R = v.shape[0]
        # n - 1 outer products (a gather-and-prod is fewer ops, but prod's backward divides)
        per_wire = v.permute(1, 2, 0).contiguous()  # (n, 2, R): strided muls are several times slower
        psi = outer_chain(per_wire)[-1]
        return psi if R == B else psi.expand(-1, B)

    def _run(self, steps: list, psi: torch.Tensor, angles: Optional[Angles], blocks: dict) -> torch.Tensor:
        """Apply steps to states stored as (2^n, batch)."""
        D, B = psi.shape
        for step in steps:
            if isinstance(step, Block):
                d = 2**step.k
                m = blocks[(True, step.k)][:, step.slot] if step.batched else blocks[(False, step.k)][step.slot]
                if step.gather is not None:
                    if d == D:  # G (P psi) = (G P) psi: permute the matrix's columns, not the state
                        m = m.index_select(-1, self._inverse(step.gather, psi.device))
                    else:
                        psi = self._permute(psi, step.gather)
                psi = apply_on_top(m, psi)
            elif isinstance(step, Gather):
                psi = self._permute(psi, step.index)
            elif isinstance(step, Fused):
                eye = torch.eye(D, dtype=psi.dtype, device=psi.device)
                psi = self._run(step.plan, eye, angles, blocks) @ psi  # fixed runs read weights only
            elif isinstance(step, Select):
                on = (self._read(angles, self._column[step.column]) > math.pi / 2).T
                psi = torch.where(on, self._permute(psi, step.gather), psi)
            elif isinstance(step, Dense):  # a registry gate's matrix, per sample when an angle is
                m = self._gate_matrix(step.gate, angles, psi.dtype, psi.device)
                psi = apply_on_top(m if m.shape[0] == B > 1 else m[0],
                                   psi if step.gather is None else self._permute(psi, step.gather))
            elif isinstance(step, Diagonal):
                psi = psi * self._diagonal(step, angles, psi.dtype, psi.device)
            elif isinstance(step, Phase):
                theta = self._read(angles, self._column[step.column])[:, 0]
                phase = torch.polar(torch.ones_like(theta), theta).to(psi.dtype)
                psi = torch.where(self._on(step.mask, psi.device)[:, None], psi * phase[None, :], psi)
        return psi

    def _gate_matrix(self, gate, angles: Angles, ctype: torch.dtype, device) -> torch.Tensor:
        """A registry gate's matrix: (B, d, d) when it reads a per-sample angle, else (1, d, d)."""
        kind = gate_kind(gate.name)
        if gate.columns:
            params = torch.broadcast_tensors(*(self._read(angles, self._column[c])[:, 0] for c in gate.columns))
            return kind.matrix(params, ctype)
        key = ("dense", kind.name, ctype, str(device))  # a fixed gate's: once per dtype and device
        if key not in self._device_cache:
            self._device_cache[key] = kind.matrix((), ctype).to(device)
        return self._device_cache[key]

    def _diagonal(self, step: Diagonal, angles: Angles, ctype: torch.dtype, device) -> torch.Tensor:
        """The product of a Diagonal step's gates over the stored amplitudes: (2^n, B) or (2^n, 1)."""
        return spread_diagonals([self._gate_matrix(g, angles, ctype, device) for g in step.gates],
                                [self._on(code, device) for code in step.codes])

    def direct(self, inputs: torch.Tensor, weights: Optional[torch.Tensor], dtype: torch.dtype) -> Optional[torch.Tensor]:
        """<Z> of a batch whose inputs are the circuit's angles (no gating, no input map), in
        the inputs' dtype and simulated in ``dtype``, when this batch runs compact: straight
        into its node, without the angles object, this module's call or casts of their own
        (at a few qubits these are a good part of a step). None otherwise: then ``forward``."""
        if self.compact is None or inputs.device.type != "cpu" or self.pick(inputs.shape[0]) != "compact" or \
                self._forward_hooks or self._forward_pre_hooks:  # a hook on this module: its call runs them
            return None
        self.last_strategy = "compact"
        return compact_apply(self.compact, inputs, None, weights, dtype)

    def forward(self, angles: Angles, amplitudes: Optional[torch.Tensor] = None) -> torch.Tensor:
        dtype, device = angles.inputs.dtype, angles.inputs.device
        B = angles.batch
        strategy = self.last_strategy = self.pick(B, device)
        if strategy == "compact":
            if device.type != "cpu":
                raise ConfigError(f"backend.strategy=compact runs on the CPU, but the model is on {device}",
                                  "use backend.strategy=auto (it takes compact on the CPU), or trainer.device=cpu")
            return compact_apply(self.compact, angles.inputs, angles.gates, angles.weights, dtype)
        ctype = COMPLEX[dtype]
        plan, prep = self.plans[strategy], self.prepared[strategy]
        shared, batched = self._matrices(plan, prep, angles, ctype)
        blocks = self._blocks(plan, prep, shared, batched)
        if self.amplitude:
            x = amplitudes.to(dtype)
            x = x / x.norm(dim=1, keepdim=True).clamp_min(torch.finfo(dtype).tiny)
            psi = torch.nn.functional.pad(x, (0, 2**self.n - x.shape[1])).to(ctype).T
        elif "direct" in prep and prep["simple"] and self.readout is None:
            return self._product_circuit(plan, prep, angles, shared, blocks, ctype)
        elif "direct" in prep:
            psi = self._direct_product_state(prep, angles, shared, B, ctype)
        elif plan.product is not None:
            psi = self._product_state(prep, shared, batched, B, ctype, device)
        else:
            psi = torch.zeros(2**self.n, B, dtype=ctype, device=device)
            psi[0] = 1
        psi = self._run(plan.steps, psi, angles, blocks)
        if self.readout is not None:  # observables of the state in logical order
            psi = self._permute(psi, plan.layout)
            return self.readout(psi, Probabilities.apply(psi))
        probs = Probabilities.apply(psi)  # (2^n, B)
        return (self._on(plan.z, device).to(dtype).T @ probs).T
