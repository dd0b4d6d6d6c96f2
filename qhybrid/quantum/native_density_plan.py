"""The density-matrix mode's plan (qhybrid.quantum.native_density): a circuit's gates and
their channels grouped into operations on one or two wires, each one superoperator.

A superoperator on wires (w_1, ..., w_m) acts on vec(rho) restricted to those wires,
indexed (rows of w_1..w_m, columns of w_1..w_m), row-major: a gate U is kron(U, conj U),
a channel sum_k kron(K_k, conj K_k) (qhybrid.quantum.noise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from qhybrid.quantum.gate_registry import GateKind, gate_kind
from qhybrid.quantum.noise import NoiseModel


@dataclass(eq=False)  # compared by identity: items hold tensors
class Item:
    """One gate (kind None: none, only channels) and the channels after it: (superoperator, wires)."""

    wires: tuple[int, ...]
    kind: Optional[GateKind]
    columns: tuple[int, ...]
    channels: list[tuple[torch.Tensor, tuple[int, ...]]] = field(default_factory=list)
    per_sample: bool = False  # a column reads an input (or a soft gate): its matrix differs per sample
    noise: Optional[torch.Tensor] = None  # the channels' product on the gate's wires (4^k x 4^k), None: none


@dataclass(eq=False)
class Operation:
    wires: tuple[int, ...]
    items: list[Item] = field(default_factory=list)

    @property
    def fixed(self) -> bool:
        """No parameters at all: its superoperator can be kept."""
        return not any(item.columns for item in self.items)

    @property
    def shared(self) -> bool:
        """The same for every sample (weights and fixed gates): one superoperator for the batch."""
        return not any(item.per_sample for item in self.items)


def fuse(gates: list, noise: NoiseModel, join_samples: bool, per_sample: set[int]) -> list[Operation]:
    """The gates (with their channels) as operations of at most two wires, in an order that
    applies the same map: a gate joins the operation last on its wires when that operation
    covers them; a two-wire gate's new operation takes in one-wire operations last on its
    wires. Joining a sample's gates (embeddings; ``per_sample``: the columns that differ per
    sample) into a two-wire operation makes it a 16 x 16 product per sample: ``join_samples``
    says whether that pays (at 6 qubits and more: it saves a pass over the 4^n-amplitude
    batch; below, the pass is as cheap as the product)."""
    ops: list[Operation] = []
    last: dict[int, Operation] = {}

    def joins(into: Operation, item: Item) -> bool:
        return len(into.wires) == 1 or join_samples or (into.shared and not item.per_sample)

    for gate in gates:
        item = Item(tuple(gate.wires), gate_kind(gate.name), tuple(gate.columns),
                    noise.gate_channels(tuple(gate.wires)),
                    per_sample=bool(set(gate.columns) & per_sample))
        item.noise = item_noise(item)
        owner = last.get(gate.wires[0])
        if owner is not None and all(last.get(w) is owner for w in gate.wires) and \
                set(gate.wires) <= set(owner.wires) and joins(owner, item):
            owner.items.append(item)
            continue
        op = Operation(tuple(gate.wires), [])
        for w in gate.wires if len(gate.wires) == 2 else ():  # one-wire operations last on its wires join first
            single = last.get(w)
            if single is not None and single.wires == (w,) and (join_samples or (single.shared and not item.per_sample)):
                ops.remove(single)
                op.items += single.items
        op.items.append(item)
        ops.append(op)
        last.update({w: op for w in gate.wires})
    return ops


def _lift(S: torch.Tensor, item_wires: tuple[int, ...], op_wires: tuple[int, ...]) -> torch.Tensor:
    """A superoperator on ``item_wires`` (R, 4^k, 4^k) as one on ``op_wires`` (R, 4^m, 4^m)."""
    if item_wires == op_wires:
        return S
    R = S.shape[0]
    if len(item_wires) == 2:  # the same two wires, the other way round: swap them in every index
        return S.reshape(R, 2, 2, 2, 2, 2, 2, 2, 2).permute(0, 2, 1, 4, 3, 6, 5, 8, 7).reshape(R, 16, 16)
    eye = torch.eye(2, dtype=S.dtype, device=S.device)
    one = S.reshape(R, 2, 2, 2, 2)  # (row', col', row, col) of the item's wire
    # out index (A B C D a b c d): rows' (A, B), cols' (C, D), rows (a, b), cols (c, d) of op_wires
    equation = "zACac,Bb,Dd->zABCDabcd" if item_wires[0] == op_wires[0] else "zBDbd,Aa,Cc->zABCDabcd"
    return torch.einsum(equation, one, eye, eye).reshape(R, 16, 16)


def item_noise(item: Item) -> Optional[torch.Tensor]:
    """The product of a gate's channels, lifted onto the gate's wires (constant: built once)."""
    total = None
    for channel, wires in item.channels:
        lifted = _lift(channel.unsqueeze(0), wires, item.wires)[0]
        total = lifted if total is None else lifted @ total
    return total


def _with_noise(U: torch.Tensor, noise: Optional[torch.Tensor]) -> torch.Tensor:
    """kron(U, conj U) (R, 4^k, 4^k), then the channels (noise: (4^k, 4^k) or (R, ...))."""
    S = torch.einsum("zik,zjl->zijkl", U, U.conj()).reshape(U.shape[0], U.shape[1] ** 2, -1)
    return S if noise is None else noise.to(S) @ S


def _item_superoperator(item: Item, A: torch.Tensor, ctype: torch.dtype, shared: Optional[dict]) -> torch.Tensor:
    """One gate and its channels on the gate's wires (R, 4^k, 4^k)."""
    if shared is not None and id(item) in shared:
        return shared[id(item)]
    rows = A if item.per_sample else A[:1]  # a shared gate's gradient reaches the weights through row 0 alone
    return _with_noise(item.kind.matrix(tuple(rows[:, c] for c in item.columns), ctype).to(A.device), item.noise)


def shared_superoperators(items: list[Item], A: torch.Tensor, ctype: torch.dtype) -> dict:
    """The superoperators of the gates every sample shares (weights), by id(item), built per
    gate kind in one batch: at a few qubits a step is bound by the number of operations."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        if item.columns and not item.per_sample:
            groups.setdefault(item.kind.name, []).append(item)
    out = {}
    for group in groups.values():
        angles = tuple(A[0, [item.columns[j] for item in group]] for j in range(len(group[0].columns)))
        U = group[0].kind.matrix(angles, ctype).to(A.device)
        eye = torch.eye(U.shape[1] ** 2, dtype=torch.complex128)
        noise = torch.stack([eye if item.noise is None else item.noise for item in group])
        S = _with_noise(U, noise)
        out.update({id(item): S[k : k + 1] for k, item in enumerate(group)})
    return out


def operation_superoperator(op: Operation, A: torch.Tensor, ctype: torch.dtype,
                            shared: Optional[dict] = None) -> torch.Tensor:
    """The product of an operation's gates and channels (R, 4^m, 4^m), R = 1 unless a gate
    reads a sample's numbers (then B); ``shared``: shared_superoperators' for its shared
    gates. One-wire items are multiplied per wire (4 x 4) and joined into the two-wire space
    once, where a two-wire item or the end comes."""
    total: Optional[torch.Tensor] = None
    pending: dict[int, torch.Tensor] = {}  # wire -> the product of its one-wire items since the last join

    def join(total):
        if not pending:
            return total
        if len(op.wires) == 1:
            joined = pending.pop(op.wires[0])
        else:
            eye = torch.eye(4, dtype=ctype, device=A.device).unsqueeze(0)
            a, b = (pending.pop(w, eye) for w in op.wires)
            # (A B C D a b c d) = a's (A C a c) times b's (B D b d), batches broadcast
            joined = (a.reshape(-1, 2, 1, 2, 1, 2, 1, 2, 1) * b.reshape(-1, 1, 2, 1, 2, 1, 2, 1, 2)).reshape(-1, 16, 16)
        return joined if total is None else joined @ total

    for item in op.items:
        S = _item_superoperator(item, A, ctype, shared)
        if len(item.wires) == 1 and len(op.wires) == 2:
            w = item.wires[0]
            pending[w] = S if w not in pending else S @ pending[w]
            continue
        total = join(total)
        S = _lift(S, item.wires, op.wires)
        total = S if total is None else S @ total
    return join(total)
