"""Operations of the native executor with hand-written gradients.

At small n a training step is overhead-bound: its cost is the number of tensor operations,
and autograd's generic backward of a permutation, of |psi|^2 or of a Rot matrix (polar,
stack, conj) takes several times as many operations as the forward. Each function here computes its gradient directly
(checked against PennyLane in tests/test_native.py, outputs and gradients).

Complex gradients follow torch's convention: for a real loss L and a complex tensor M,
grad M = dL/dRe(M) + i dL/dIm(M), so a real parameter x gets sum Re(conj(grad M) dM/dx).
"""

from __future__ import annotations

import torch

class PermuteRows(torch.autograd.Function):
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


class Probabilities(torch.autograd.Function):
    """|psi|^2. Through autograd, .real/.imag/square cost five full-size backward operations
    (zero-filled selects, their sum); d|psi|^2 is 2 psi per unit of upstream gradient."""

    @staticmethod
    def forward(ctx, psi):
        ctx.save_for_backward(psi)
        return (psi * psi.conj()).real  # one complex product: real^2 + imag^2 is three passes

    @staticmethod
    def backward(ctx, grad):
        (psi,) = ctx.saved_tensors
        return psi * (2 * grad)


class RotMatrices(torch.autograd.Function):
    """PennyLane's Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi): angles (..., 3) ->
    (..., 2, 2) = [[a, -b], [conj b, conj a]] with a = e^{-i(phi+omega)/2} cos(theta/2),
    b = e^{i(phi-omega)/2} sin(theta/2). The three derivative matrices are built with the
    forward, so the backward is one product and one sum."""

    @staticmethod
    def forward(ctx, angles):
        phi, theta, omega = angles.unbind(-1)
        half = theta / 2
        c, s = torch.cos(half), torch.sin(half)
        ones = torch.ones_like(c)
        ea = torch.polar(ones, -(phi + omega) / 2)
        eb = torch.polar(ones, (phi - omega) / 2)
        a, b = ea * c, eb * s
        ac, bc = a.conj(), b.conj()
        matrix = torch.stack([a, -b, bc, ac], -1)
        derivatives = torch.stack([
            torch.stack([-a, -b, -bc, ac], -1) * 0.5j,  # d/dphi
            torch.stack([-ea * s, -eb * c, eb.conj() * c, -ea.conj() * s], -1) * 0.5,  # d/dtheta
            torch.stack([-a, b, bc, ac], -1) * 0.5j,  # d/domega
        ], -2)  # (..., 3, 4)
        ctx.save_for_backward(derivatives)
        return matrix.reshape(*phi.shape, 2, 2)

    @staticmethod
    def backward(ctx, grad):
        (derivatives,) = ctx.saved_tensors
        g = grad.reshape(*grad.shape[:-2], 1, 4).conj()
        return (g * derivatives).real.sum(-1)


class ProductCircuit(torch.autograd.Function):
    """The common circuit in one node: per-wire states v_w = cos(h) N_w[:, 0] + sin(h) N_w[:, 1]
    (angle embedding and the weight rotations that follow it), their product state, fixed
    permutations and blocks, and <Z>. Forward and backward run without autograd's
    bookkeeping, which at n = 4 costs as much as the arithmetic.

    ``ops``: ("gather", None, index, inverse), ("block", d, index, inverse) with index None
    when the block's matrix already absorbs the permutation, or ("diag", d, None, None) for a
    constant diagonal d (2^n, 1) (fixed gates such as CZ); one matrix per block in ``mats``. ``half``: (B, n) half angles; ``N``: (n, 2, 2); ``z``: (2^n, n) signs of Z.

    The product state is built as L (x) R of two halves, each a chain of outer products: the
    full-size work (forward and backward) is one product instead of one per wire.
    """

    @staticmethod
    def forward(ctx, ops, half, N, z, *mats):
        c, s = torch.cos(half).T, torch.sin(half).T  # (n, B)
        v = c[:, None, :] * N[:, :, 0, None] + s[:, None, :] * N[:, :, 1, None]  # (n, 2, B)
        n, _, B = v.shape
        half_n = n // 2 if n >= 4 else 0
        left, right = outer_chain(v[:half_n]), outer_chain(v[half_n:])
        psi = right[-1] if not left else (left[-1][:, None, :] * right[-1][None]).reshape(-1, B)
        D = psi.shape[0]
        inputs = []
        blocks = iter(mats)
        for op in ops:
            if op[2] is not None:
                psi = psi.index_select(0, op[2])
            if op[0] == "block":
                inputs.append(psi)
                psi = (next(blocks) @ psi.reshape(op[1], -1)).reshape(D, B)
            elif op[0] == "diag":
                psi = psi * op[1]
        ctx.ops = ops
        ctx.save_for_backward(c, s, N, v, z, psi, *left, *right, *inputs, *mats)
        ctx.counts = (len(left), len(right), len(inputs))
        return (z.T @ (psi * psi.conj()).real).T

    @staticmethod
    def backward(ctx, grad):
        c, s, N, v, z, psi, *rest = ctx.saved_tensors
        n_left, n_right, n_blocks = ctx.counts
        left, right = rest[:n_left], rest[n_left : n_left + n_right]
        inputs, mats = rest[n_left + n_right : n_left + n_right + n_blocks], rest[n_left + n_right + n_blocks :]
        D, B = psi.shape
        g = psi * (2 * (z @ grad.T))  # d|psi|^2 = 2 psi
        grad_mats = [None] * n_blocks
        j = n_blocks
        for op in reversed(ctx.ops):
            if op[0] == "block":
                j -= 1
                d = op[1]
                gv = g.reshape(d, -1)
                grad_mats[j] = gv @ inputs[j].reshape(d, -1).mH
                g = (mats[j].mH @ gv).reshape(D, B)
            elif op[0] == "diag":
                g = g * op[1].conj()
            if op[3] is not None:
                g = g.index_select(0, op[3])
        if left:
            both = g.reshape(left[-1].shape[0], right[-1].shape[0], B)
            grad_v = _chain_grads((both * right[-1].conj()[None]).sum(1), v[:n_left], left) + \
                _chain_grads((both * left[-1].conj()[:, None]).sum(0), v[n_left:], right)
        else:
            grad_v = _chain_grads(g, v, right)
        gv = torch.stack(grad_v)  # (n, 2, B)
        grad_N = torch.stack([(gv * c[:, None, :]).sum(-1), (gv * s[:, None, :]).sum(-1)], -1)
        # dv/dh = -sin(h) N[:, 0] + cos(h) N[:, 1]
        along = (gv.conj()[:, :, None, :] * N[:, :, :, None]).sum(1).real  # (n, 2, B): columns 0 and 1
        grad_half = (c * along[:, 1] - s * along[:, 0]).T
        return (None, grad_half, grad_N, None, *grad_mats)


def outer_chain(vs: torch.Tensor) -> list[torch.Tensor]:
    """Per-wire states (k, 2, B) -> the k partial products v_0, v_0 (x) v_1, ... as (2^j, B)."""
    if len(vs) == 0:
        return []
    out = [vs[0]]
    for w in range(1, len(vs)):
        out.append((out[-1][:, None, :] * vs[w][None]).reshape(-1, vs.shape[-1]))
    return out


def _chain_grads(g: torch.Tensor, vs: torch.Tensor, partial: list[torch.Tensor]) -> list[torch.Tensor]:
    """Gradients of each wire's state from the gradient ``g`` of the chain's full product."""
    grads = [None] * len(vs)
    for w in range(len(vs) - 1, 0, -1):
        g3 = g.reshape(-1, 2, g.shape[-1])
        grads[w] = (g3 * partial[w - 1].conj()[:, None, :]).sum(0)
        g = (g3 * vs[w].conj()[None]).sum(1)
    grads[0] = g
    return grads
