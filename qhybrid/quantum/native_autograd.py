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

    ``ops``: ("gather", index, inverse) or ("block", d, index, inverse) with index None when
    the block's matrix already absorbs the permutation; one matrix per block in ``mats``.
    ``half``: (B, n) half angles; ``N``: (n, 2, 2); ``z``: (2^n, n) signs of Z per index.
    """

    @staticmethod
    def forward(ctx, ops, half, N, z, *mats):
        c, s = torch.cos(half).T, torch.sin(half).T  # (n, B)
        v = c[:, None, :] * N[:, :, 0, None] + s[:, None, :] * N[:, :, 1, None]  # (n, 2, B)
        n, _, B = v.shape
        prefixes = [v[0]]
        for w in range(1, n):
            prefixes.append((prefixes[-1][:, None, :] * v[w][None]).reshape(-1, B))
        psi = prefixes[-1]
        D = psi.shape[0]
        inputs = []
        blocks = iter(mats)
        for op in ops:
            if op[2] is not None:
                psi = psi.index_select(0, op[2])
            if op[0] == "block":
                inputs.append(psi)
                psi = (next(blocks) @ psi.reshape(op[1], -1)).reshape(D, B)
        ctx.ops = ops
        ctx.save_for_backward(c, s, N, v, z, psi, *prefixes[:-1], *inputs, *mats)
        ctx.counts = (n - 1, len(inputs))
        return (z.T @ (psi * psi.conj()).real).T

    @staticmethod
    def backward(ctx, grad):
        c, s, N, v, z, psi, *rest = ctx.saved_tensors
        n_prefix, n_blocks = ctx.counts
        prefixes, inputs, mats = rest[:n_prefix], rest[n_prefix : n_prefix + n_blocks], rest[n_prefix + n_blocks :]
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
            if op[3] is not None:
                g = g.index_select(0, op[3])
        n = v.shape[0]
        grad_v = [None] * n
        for w in range(n - 1, 0, -1):
            g3 = g.reshape(-1, 2, B)
            grad_v[w] = (g3 * prefixes[w - 1].conj()[:, None, :]).sum(0)
            g = (g3 * v[w].conj()[None]).sum(1)
        grad_v[0] = g
        gv = torch.stack(grad_v)  # (n, 2, B)
        grad_N = torch.stack([(gv * c[:, None, :]).sum(-1), (gv * s[:, None, :]).sum(-1)], -1)
        # dv/dh = -sin(h) N[:, 0] + cos(h) N[:, 1]
        along = (gv.conj()[:, :, None, :] * N[:, :, :, None]).sum(1).real  # (n, 2, B): columns 0 and 1
        grad_half = (c * along[:, 1] - s * along[:, 0]).T
        return (None, grad_half, grad_N, None, *grad_mats)
