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
