"""Compiled loops of the compact strategy for single gates (qhybrid.quantum.native_kernels):
a tabulated gate's matrix and derivatives, and the steps that read a per-sample number in
the middle of a circuit -- a single-wire gate whose angle is an input (re-uploading, a
gated embedding) and a phase on a set of amplitudes (soft gating's controlled phase).

Layouts as in qhybrid.quantum.native_kernels: a state is (2^n, B), wire 0 the most
significant bit of the storage index; gradients follow torch's convention dL/dRe + i dL/dIm.
Numba's on-disk cache of native_kernels' functions does not see edits to this file (it
checks the caller's file only): after changing it, delete qhybrid/quantum/__pycache__/*.nbi.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, fastmath=True, error_model="numpy")
def table_gate(values, kind, tables, mat, derivative, with_derivatives=True):
    """One gate of a tabulated kind at parameters ``values``: its matrix, and per parameter its
    derivative, from the table evaluated at the parameter moved by pi. A shift moves angle m
    by pi combos[j, m]: its cos and sin follow from the unshifted ones and the table's cos
    and sin of that shift."""
    combos, shift_cos, shift_sin, first, second, sign, rules, n_params = tables
    a = combos.shape[2]
    factors = np.empty(2 * a + 1)
    shifted = np.empty(2 * a + 1)
    factors[2 * a] = shifted[2 * a] = 1.0
    for m in range(a):
        angle = 0.0
        for j in range(n_params[kind]):
            angle += values[j] * combos[kind, j, m]
        factors[m], factors[a + m] = math.cos(angle), math.sin(angle)
    _table_matrix(factors, first[kind], second[kind], sign[kind], mat)
    if not with_derivatives:  # a forward pass: only the backward reads them
        return
    for j in range(n_params[kind]):
        for m in range(a):
            cs, sn = shift_cos[kind, j, m], shift_sin[kind, j, m]
            shifted[m] = factors[m] * cs - factors[a + m] * sn
            shifted[a + m] = factors[a + m] * cs + factors[m] * sn
        moved = derivative[j]
        _table_matrix(shifted, first[kind], second[kind], sign[kind], moved)
        if rules[kind, j] == 0:  # half angle: dU/dt = U(t + pi) / 2
            moved *= 0.5
        else:  # full phase: dU/dt = i (U(t) - U(t + pi)) / 2
            for e in range(4):
                moved[e // 2, e % 2] = 0.5j * (mat[e // 2, e % 2] - moved[e // 2, e % 2])


@njit(cache=True, fastmath=True, error_model="numpy")
def _table_matrix(factors, first, second, sign, out):
    """A 2x2 matrix from a table's factor products (qhybrid.quantum.gate_tables)."""
    for e in range(4):
        re = sign[2 * e] * factors[first[2 * e]] * factors[second[2 * e]]
        im = sign[2 * e + 1] * factors[first[2 * e + 1]] * factors[second[2 * e + 1]]
        out[e // 2, e % 2] = complex(re, im)


@njit(cache=True, fastmath=True, error_model="numpy")
def _per_sample(x, row, mats, kinds, sampled, tables, C, dtype, with_derivatives):
    """Row ``row``'s matrix per column (C, 2, 2) and derivatives (C, 3, 2, 2; zero unless
    asked for): the shared matrix repeated, or the row's kind at each sample's angle
    x[b, sampled[row]]."""
    U = np.empty((C, 2, 2), dtype=dtype)
    dU = np.zeros((C, 3, 2, 2), dtype=dtype)
    if sampled[row] < 0:
        for b in range(C):
            U[b] = mats[row]
        return U, dU
    values = np.zeros(3)
    for b in range(C):
        values[0] = x[b, sampled[row]]
        table_gate(values, kinds[row], tables, U[b], dU[b], with_derivatives)
    return U, dU


@njit(cache=True, fastmath=True, error_model="numpy")
def _pairs(psi, stride, U):
    """U[b] (C, 2, 2) on each pair of amplitudes (i, i + stride) of column b (a new array)."""
    D, C = psi.shape
    out = np.empty_like(psi)
    for i in range(D):
        if i & stride:
            continue
        j = i + stride
        for b in range(C):
            a0, a1 = psi[i, b], psi[j, b]
            out[i, b] = U[b, 0, 0] * a0 + U[b, 0, 1] * a1
            out[j, b] = U[b, 1, 0] * a0 + U[b, 1, 1] * a1
    return out


@njit(cache=True, fastmath=True, error_model="numpy")
def wire_gate(psi, wire, row, mats, x, kinds, sampled, tables):
    """psi with gate ``row`` applied on storage wire ``wire`` (a new array)."""
    U, _ = _per_sample(x, row, mats, kinds, sampled, tables, psi.shape[1], psi.dtype, False)
    return _pairs(psi, psi.shape[0] >> (wire + 1), U)


@njit(cache=True, fastmath=True, error_model="numpy")
def wire_gate_backward(g, before, wire, row, mats, x, kinds, sampled, tables, grad_mats, grad_x):
    """The gradient at wire_gate's input (dL/dpsi = U^H g) from its output's ``g``; dL/dU =
    g psi^H summed over the batch into grad_mats[row] for a shared gate, or read as the
    derivative of each sample's angle into grad_x[b, sampled[row]]."""
    D, C = g.shape
    stride = D >> (wire + 1)
    U, dU = _per_sample(x, row, mats, kinds, sampled, tables, C, g.dtype, True)
    G = np.zeros((C, 2, 2), dtype=g.dtype)
    for i in range(D):
        if i & stride:
            continue
        for b in range(C):
            for r in range(2):
                for c in range(2):
                    G[b, r, c] += g[i + r * stride, b] * np.conj(before[i + c * stride, b])
    if sampled[row] < 0:
        for b in range(C):
            grad_mats[row] += G[b]
    else:
        for b in range(C):
            value = 0.0
            for e in range(4):
                value += (np.conj(G[b, e // 2, e % 2]) * dU[b, 0, e // 2, e % 2]).real
            grad_x[b, sampled[row]] += value
    return _pairs(g, stride, np.conj(U.transpose(0, 2, 1)))


@njit(cache=True, fastmath=True, error_model="numpy")
def _turns(angles):
    """exp(i angles[b]) per sample: the trigonometry once, not once per masked amplitude."""
    turns = np.empty(angles.shape[0], dtype=np.complex128)
    for b in range(angles.shape[0]):
        turns[b] = complex(math.cos(angles[b]), math.sin(angles[b]))
    return turns


@njit(cache=True, fastmath=True, error_model="numpy")
def phase(psi, mask, angles):
    """psi with the amplitudes where mask is nonzero times exp(i angles[b]) (a new array)."""
    out = psi.copy()
    turns = _turns(angles)
    for i in range(psi.shape[0]):
        if mask[i].real != 0.0:
            for b in range(psi.shape[1]):
                out[i, b] *= turns[b]
    return out


@njit(cache=True, fastmath=True, error_model="numpy")
def phase_backward(g, before, mask, x, column, grad_x):
    """phase's input gradient (g times exp(-i angle) on the mask) and each angle's, Re sum
    conj(g) i psi_out, into grad_x[b, column]."""
    out = g.copy()
    turns = _turns(x[:, column])
    for i in range(g.shape[0]):
        if mask[i].real != 0.0:
            for b in range(g.shape[1]):
                out[i, b] = g[i, b] * np.conj(turns[b])
                grad_x[b, column] += (np.conj(g[i, b]) * 1j * turns[b] * before[i, b]).real
    return out
