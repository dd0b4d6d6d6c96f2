"""Matrices and basis permutations for the native plan (qhybrid.quantum.native_plan): the
2x2 matrices of single-wire gates, Kronecker products of them, and the permutations of
basis states that CNOT, SWAP and X are. Wire 0 is the most significant bit, as in PennyLane."""

from __future__ import annotations

import math

import torch

from qhybrid.quantum.gate_registry import gate_kind
from qhybrid.quantum.gates import Gate
from qhybrid.quantum.native_autograd import RotMatrices


def rotation_matrices(kind: str, angles: torch.Tensor, ctype: torch.dtype) -> torch.Tensor:
    """2x2 matrices of any single-wire registry gate, PennyLane's conventions: angles (..., k)
    -> (..., k, 2, 2) for a gate with one parameter or none (then only the shape is read);
    (..., k, p) for p > 1 parameters, e.g. Rot's (phi, theta, omega) = RZ(omega) RY(theta) RZ(phi)."""
    kind = gate_kind(kind).name  # an alias (ROT) is its gate
    if kind == "H":
        h = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=ctype, device=angles.device) / math.sqrt(2)
        return h.expand(*angles.shape, 2, 2)
    if kind == "Rot":
        return RotMatrices.apply(angles).to(ctype)
    if kind not in ("RX", "RY", "RZ"):
        return _registry_matrices(kind, angles, ctype)
    c, s = torch.cos(angles / 2), torch.sin(angles / 2)
    zero = torch.zeros_like(c)
    if kind == "RY":
        return torch.stack([c, -s, s, c], -1).reshape(*angles.shape, 2, 2).to(ctype)
    if kind == "RX":
        parts = (torch.stack([c, zero, zero, c], -1), torch.stack([zero, -s, -s, zero], -1))
    else:  # RZ
        parts = (torch.stack([c, zero, zero, c], -1), torch.stack([-s, zero, zero, s], -1))
    return torch.complex(*parts).reshape(*angles.shape, 2, 2).to(ctype)


def _registry_matrices(kind: str, angles: torch.Tensor, ctype: torch.dtype) -> torch.Tensor:
    """The registry's matrix for the gates without a special case: one call for the group."""
    gate = gate_kind(kind)
    if gate.n_wires != 1:
        raise ValueError(f"no single-wire matrix for {kind!r}")
    if gate.n_params == 0:
        return gate.matrix((), ctype).to(angles.device).expand(*angles.shape, 2, 2)
    lead = angles.shape if gate.n_params == 1 else angles.shape[:-1]
    flat = angles.reshape(-1, gate.n_params)
    return gate.matrix(tuple(flat.unbind(-1)), ctype).reshape(*lead, 2, 2)


def basis_bits(n: int) -> torch.Tensor:
    """(2^n, n): the bit of wire w in basis state i (wire 0 most significant, as PennyLane)."""
    index = torch.arange(2**n)
    return (index[:, None] >> torch.arange(n - 1, -1, -1)[None, :]) & 1


def cnot_permutation(n: int, control: int, target: int) -> torch.Tensor:
    """c with (CNOT psi)[i] = psi[c[i]]."""
    index = torch.arange(2**n)
    return index ^ (((index >> (n - 1 - control)) & 1) << (n - 1 - target))


def swap_permutation(n: int, a: int, b: int) -> torch.Tensor:
    """c with (SWAP psi)[i] = psi[c[i]]: the bits of wires a and b exchanged."""
    index = torch.arange(2**n)
    differ = ((index >> (n - 1 - a)) ^ (index >> (n - 1 - b))) & 1
    return index ^ (differ << (n - 1 - a)) ^ (differ << (n - 1 - b))


def flip_permutation(n: int, wires: list[int]) -> torch.Tensor:
    """c with (X_w1 X_w2 ... psi)[i] = psi[c[i]]."""
    return torch.arange(2**n) ^ sum(1 << (n - 1 - w) for w in wires)


def permutation(n: int, g: Gate) -> torch.Tensor:
    """The permutation of a CNOT or SWAP gate."""
    return cnot_permutation(n, *g.wires) if g.name == "CNOT" else swap_permutation(n, *g.wires)


def to_top_bits(n: int, wires: list[int]) -> torch.Tensor:
    """q: logical index -> storage index with ``wires`` (in order) as the top bits and the
    other wires, in order, below them."""
    bits = basis_bits(n)
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


def apply_on_top(m: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
    """S (2^n, B) <- M @ S on the top log2(d) bits: M (d, d) shared or (B, d, d) per sample."""
    D, B = psi.shape
    d = m.shape[-1]
    if m.dim() == 3:
        return torch.einsum("bij,jrb->irb", m, psi.reshape(d, D // d, B)).reshape(D, B)
    return (m @ psi.reshape(d, -1)).reshape(D, B)


def spread_diagonals(matrices: list[torch.Tensor], codes: list[torch.Tensor]) -> torch.Tensor:
    """The product of two-wire diagonal gates over the basis states, (2^n, R): each gate's
    (R, 4, 4) matrix's diagonal read at its code (2^n,) = 2 b_first + b_second."""
    total = None
    for m, code in zip(matrices, codes):
        d = m.diagonal(dim1=-2, dim2=-1).T.index_select(0, code)
        total = d if total is None else total * d
    return total
