"""Compiled loops of the compact strategy (qhybrid.quantum.native_compact), with Numba.

Each loop is one call where NumPy would take several operations, and a small state's step
costs its number of calls: this is what makes the compact strategy fast at a few qubits.
The matrix products stay with NumPy (BLAS). Compiled once per precision and cached on disk
(``cache=True``), so later processes load them in milliseconds.

Layouts: a state is (2^n, B), basis-major, wire 0 the most significant bit; per-wire states
are (n, 2, B); 2x2 matrices are stacked (rows, 2, 2). Gradients of complex arrays follow
torch's convention, dL/dRe + i dL/dIm.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from qhybrid.quantum.native_kernels_gates import phase, phase_backward, table_gate, wire_gate, wire_gate_backward


@njit(cache=True, fastmath=True, error_model="numpy")
def gate_rows(weights, kinds, params, sampled, tables, mats, derivatives):
    """Every weight gate's matrix (into ``mats``; rows of kind -1 keep theirs, and rows read
    per sample, ``sampled`` >= 0, are built per sample by the steps) and derivatives
    (rows, MAX_PARAMS, 2, 2) from its kind's table (qhybrid.quantum.gate_tables)."""
    values = np.empty(params.shape[1])
    for r in range(kinds.shape[0]):
        if kinds[r] < 0 or sampled[r] >= 0:
            continue
        for j in range(params.shape[1]):
            values[j] = weights[params[r, j]]
        table_gate(values, kinds[r], tables, mats[r], derivatives[r])


@njit(cache=True, fastmath=True, error_model="numpy")
def kron_block(mats, rows, columns, out):
    """out (d, d) = the Kronecker product of mats[rows] (first factor most significant), its
    column c taken from column ``columns[c]`` (a permutation absorbed into the matrix)."""
    k = rows.shape[0]
    d = out.shape[0]
    for r in range(d):
        for c in range(d):
            source = columns[c]
            value = mats[rows[0], (r >> (k - 1)) & 1, (source >> (k - 1)) & 1]
            for j in range(1, k):
                value *= mats[rows[j], (r >> (k - 1 - j)) & 1, (source >> (k - 1 - j)) & 1]
            out[r, c] = value


@njit(cache=True, fastmath=True, error_model="numpy")
def unkron_block(grad, mats, rows, columns, grad_mats):
    """The gradients of kron_block's factors (into ``grad_mats[rows]``) from the product's."""
    k = rows.shape[0]
    d = grad.shape[0]
    for j in range(k):
        grad_mats[rows[j]] = 0.0
    for r in range(d):
        for c in range(d):
            source = columns[c]
            for j in range(k):
                others = 1.0 + 0.0j
                for m in range(k):
                    if m != j:
                        others *= mats[rows[m], (r >> (k - 1 - m)) & 1, (source >> (k - 1 - m)) & 1]
                a, b = (r >> (k - 1 - j)) & 1, (source >> (k - 1 - j)) & 1
                grad_mats[rows[j], a, b] += grad[r, c] * np.conj(others)


@njit(cache=True, fastmath=True, error_model="numpy")
def embed(x, inputs, c, s):
    """c, s (n, B) = cos and sin of half each wire's input angle (0 where inputs[w] < 0: a
    wire without an embedding starts in |0>)."""
    for w in range(c.shape[0]):
        for b in range(c.shape[1]):
            h = 0.5 * x[b, inputs[w]] if inputs[w] >= 0 else 0.0
            c[w, b], s[w, b] = math.cos(h), math.sin(h)


@njit(cache=True, fastmath=True, error_model="numpy")
def outer(v, psi):
    """psi (2^n, B) = v_0 (x) v_1 (x) ... per column, v (n, 2, B); built in place from the first wire down."""
    n, _, B = v.shape
    for b in range(B):
        psi[0, b], psi[1, b] = v[0, 0, b], v[0, 1, b]
    size = 2
    for w in range(1, n):
        for i in range(size - 1, -1, -1):  # descending: row i is read before rows 2i, 2i+1 are written
            for b in range(B):
                amplitude = psi[i, b]
                psi[2 * i + 1, b] = amplitude * v[w, 1, b]
                psi[2 * i, b] = amplitude * v[w, 0, b]
        size *= 2


@njit(cache=True, fastmath=True, error_model="numpy")
def outer_backward(grad, v):
    """The per-wire gradients (n, 2, B) of ``outer`` from its product's (overwritten)."""
    n, _, B = v.shape
    grad_v = np.zeros((n, 2, B), dtype=grad.dtype)
    parts = np.empty((max(2**n - 2, 2), B), dtype=v.dtype)  # partial products of wires 0..w at rows 2^(w+1) - 2
    for b in range(B):
        parts[0, b], parts[1, b] = v[0, 0, b], v[0, 1, b]
    for w in range(1, n - 1):
        size = 2**w
        for i in range(size):
            for b in range(B):
                parts[2 * size - 2 + 2 * i, b] = parts[size - 2 + i, b] * v[w, 0, b]
                parts[2 * size - 2 + 2 * i + 1, b] = parts[size - 2 + i, b] * v[w, 1, b]
    for w in range(n - 1, 0, -1):
        half = 2**w
        for i in range(half):  # ascending: row i is written after rows 2i, 2i+1 are read
            for b in range(B):
                g0, g1 = grad[2 * i, b], grad[2 * i + 1, b]
                prev = np.conj(parts[half - 2 + i, b])
                grad_v[w, 0, b] += g0 * prev
                grad_v[w, 1, b] += g1 * prev
                grad[i, b] = g0 * np.conj(v[w, 0, b]) + g1 * np.conj(v[w, 1, b])
    for b in range(B):
        grad_v[0, 0, b], grad_v[0, 1, b] = grad[0, b], grad[1, b]
    return grad_v


@njit(cache=True, fastmath=True, error_model="numpy")
def expect_z(psi, z, out):
    """out (B, n) = <Z_w> = sum_d |psi[d, b]|^2 z[d, w]. A real psi works too: the dense
    mode's [Re; Im] parts (2D, B), with z stacked twice."""
    D, B = psi.shape
    out[:] = 0.0
    for d in range(D):
        for b in range(B):
            p = psi[d, b].real ** 2 + psi[d, b].imag ** 2
            for w in range(z.shape[1]):
                out[b, w] += p * z[d, w]


@njit(cache=True, fastmath=True, error_model="numpy")
def expect_z_backward(psi, z, grad_out, grad_psi):
    """grad_psi (2^n, B) = 2 psi sum_w z[d, w] grad_out[b, w] (d|psi|^2 = 2 psi); real psi as in expect_z."""
    D, B = psi.shape
    for d in range(D):
        for b in range(B):
            total = 0.0
            for w in range(z.shape[1]):
                total += z[d, w] * grad_out[b, w]
            grad_psi[d, b] = 2.0 * total * psi[d, b]


@njit(cache=True, fastmath=True, error_model="numpy")
def parameter_grads(grad_mats, derivatives, kinds, params, sampled, n_params, total):
    """Adds Re sum conj(dL/dU) dU/dparam of every weight gate into total[params[r, j]]."""
    for r in range(kinds.shape[0]):
        if kinds[r] < 0 or sampled[r] >= 0:
            continue
        for j in range(n_params[kinds[r]]):
            value = 0.0
            for a in range(2):
                for b in range(2):
                    value += (np.conj(grad_mats[r, a, b]) * derivatives[r, j, a, b]).real
            total[params[r, j]] += value


@njit(cache=True, fastmath=True, error_model="numpy")
def _wire_chain(mats, followers, basis):
    """N_w per stage: wires[0] = the embedding's columns, wires[f + 1] = follower f's gate times wires[f]."""
    F, n = followers.shape
    wires = np.empty((F + 1, n, 2, 2), dtype=basis.dtype)
    wires[0] = basis
    for f in range(F):
        for w in range(n):
            row = followers[f, w]
            for i in range(2):
                for j in range(2):
                    wires[f + 1, w, i, j] = mats[row, i, 0] * wires[f, w, 0, j] + mats[row, i, 1] * wires[f, w, 1, j]
    return wires


@njit(cache=True, fastmath=True, error_model="numpy")
def _prepare(weights, kinds, params, sampled, tables, fixed, followers, basis):
    """The gates' matrices and derivatives, and the wire matrices N per follower stage."""
    mats = fixed.copy()
    derivatives = np.zeros((kinds.shape[0], 3, 2, 2), dtype=basis.dtype)
    gate_rows(weights, kinds, params, sampled, tables, mats, derivatives)
    return mats, derivatives, _wire_chain(mats, followers, basis)


@njit(cache=True, fastmath=True, error_model="numpy")
def _run(psi, mats, steps, x, kinds, sampled, tables):
    """The steps on the columns of psi (2^n, C). ``steps`` = (kind, index, inverse, rows, k,
    columns, diag, source): kind 0 a gather by index; 1 a constant diagonal; 2 a block (its
    state gathered by index first unless index[0] < 0) of the Kronecker product of
    mats[rows[:k]] with columns taken from columns; 3 the gate of row rows[0] on storage wire
    k (gathered first as a block), its angle per sample where sampled[row] >= 0; 4 a phase
    exp(i x[:, source]) on the amplitudes where diag is nonzero. Returns psi and, per step,
    its input and a block's matrix."""
    step_kind, step_index, _, step_rows, step_k, step_columns, step_diag, step_source = steps
    D, C = psi.shape
    S = step_kind.shape[0]
    before = np.empty((S, D, C), dtype=psi.dtype)
    blocks = np.empty((S, 256), dtype=psi.dtype)
    for t in range(S):
        kind = step_kind[t]
        if kind == 0:
            psi = psi[step_index[t]]
        elif kind == 1:
            psi = psi * step_diag[t].reshape(D, 1)
        elif kind == 4:
            before[t] = psi
            psi = phase(psi, step_diag[t], x[:, step_source[t]])
        else:
            if step_index[t, 0] >= 0:
                psi = psi[step_index[t]]
            before[t] = psi
            if kind == 3:
                psi = wire_gate(psi, step_k[t], step_rows[t, 0], mats, x, kinds, sampled, tables)
                continue
            k = step_k[t]
            d = 2**k
            matrix = blocks[t, : d * d].reshape(d, d)
            kron_block(mats, step_rows[t, :k], step_columns[t, :d], matrix)
            psi = np.dot(matrix, psi.reshape(d, (D // d) * C)).reshape(D, C)
    return psi, before, blocks


@njit(cache=True, fastmath=True, error_model="numpy")
def _run_backward(g, mats, steps, before, blocks, grad_mats, x, kinds, sampled, tables, grad_x):
    """The gradient at the steps' input from the one at their output; blocks' factors' into
    grad_mats, per-sample angles' into grad_x."""
    step_kind, step_index, step_inverse, step_rows, step_k, step_columns, step_diag, step_source = steps
    D, C = g.shape
    for t in range(step_kind.shape[0] - 1, -1, -1):
        kind = step_kind[t]
        if kind == 0:
            g = g[step_inverse[t]]
        elif kind == 1:
            g = g * np.conj(step_diag[t]).reshape(D, 1)
        elif kind == 4:
            g = phase_backward(g, before[t], step_diag[t], x, step_source[t], grad_x)
        else:
            if kind == 3:
                g = wire_gate_backward(g, before[t], step_k[t], step_rows[t, 0], mats, x, kinds, sampled, tables,
                                       grad_mats, grad_x)
            else:
                k = step_k[t]
                d = 2**k
                matrix = blocks[t, : d * d].reshape(d, d)
                gv = g.reshape(d, (D // d) * C)
                unkron_block(np.dot(gv, np.conj(before[t].reshape(d, (D // d) * C)).T), mats, step_rows[t, :k],
                             step_columns[t, :d], grad_mats)
                g = np.dot(np.conj(matrix).T, gv).reshape(D, C)
            if step_index[t, 0] >= 0:
                g = g[step_inverse[t]]
    return g


@njit(cache=True, fastmath=True, error_model="numpy")
def _wires_backward(grad_wire, mats, wires, followers, grad_mats):
    """Follower gates' gradients (into grad_mats) from the last wire matrices' (overwritten):
    for N' = G N, dL/dG = dL/dN' N^H and dL/dN = G^H dL/dN'."""
    for f in range(followers.shape[0] - 1, -1, -1):
        for w in range(followers.shape[1]):
            row = followers[f, w]
            g00, g01, g10, g11 = grad_wire[w, 0, 0], grad_wire[w, 0, 1], grad_wire[w, 1, 0], grad_wire[w, 1, 1]
            for i in range(2):
                gi0, gi1 = (g00, g01) if i == 0 else (g10, g11)
                for j in range(2):
                    grad_mats[row, i, j] = gi0 * np.conj(wires[f, w, j, 0]) + gi1 * np.conj(wires[f, w, j, 1])
            for j in range(2):
                top, bottom = grad_wire[w, 0, j], grad_wire[w, 1, j]
                for i in range(2):
                    grad_wire[w, i, j] = np.conj(mats[row, 0, i]) * top + np.conj(mats[row, 1, i]) * bottom


@njit(cache=True, fastmath=True, error_model="numpy")
def forward(x, weights, inputs, basis, kinds, params, sampled, tables, fixed, followers, steps, z):
    """The circuit on the batch, step by step: per wire v = N [cos h, sin h], their product
    state, the steps, <Z>. ``x`` (B, columns) holds every per-sample number the circuit reads.
    Returns (out (B, n), saved) with ``saved`` what ``backward`` reads."""
    mats, derivatives, wires = _prepare(weights, kinds, params, sampled, tables, fixed, followers, basis)
    n, B = basis.shape[0], x.shape[0]
    c, s = np.empty((n, B), dtype=x.dtype), np.empty((n, B), dtype=x.dtype)
    embed(x, inputs, c, s)
    v = np.empty((n, 2, B), dtype=basis.dtype)
    for w in range(n):
        for r in range(2):
            v[w, r] = wires[-1, w, r, 0] * c[w] + wires[-1, w, r, 1] * s[w]
    psi = np.empty((2**n, B), dtype=basis.dtype)
    outer(v, psi)
    psi, before, blocks = _run(psi, mats, steps, x, kinds, sampled, tables)
    out = np.empty((B, z.shape[1]), dtype=x.dtype)
    expect_z(psi, z, out)
    return out, (x, mats, derivatives, wires, c, s, v, psi, before, blocks)


@njit(cache=True, fastmath=True, error_model="numpy")
def backward(grad_out, saved, n_weights, inputs, kinds, params, sampled, tables, followers, steps, z):
    """(grad_x (B, columns), grad_weights (n_weights,) in float64) from the outputs' gradient."""
    x, mats, derivatives, wires, c, s, v, psi, before, blocks = saved
    g = np.empty_like(psi)
    expect_z_backward(psi, z, grad_out, g)
    grad_mats = np.zeros_like(mats)
    n, B = c.shape
    grad_x = np.zeros((B, x.shape[1]), dtype=c.dtype)
    grad_v = outer_backward(_run_backward(g, mats, steps, before, blocks, grad_mats, x, kinds, sampled, tables,
                                          grad_x).copy(), v)
    grad_wire = np.zeros_like(wires[-1])
    for w in range(n):
        for b in range(B):
            along = 0.0  # Re sum conj(dL/dv) dv/dh, dv/dh = N [-sin h, cos h]
            for r in range(2):
                gv = grad_v[w, r, b]
                along += (np.conj(gv) * (wires[-1, w, r, 1] * c[w, b] - wires[-1, w, r, 0] * s[w, b])).real
                grad_wire[w, r, 0] += gv * c[w, b]
                grad_wire[w, r, 1] += gv * s[w, b]
            if inputs[w] >= 0:
                grad_x[b, inputs[w]] += 0.5 * along
    _wires_backward(grad_wire, mats, wires, followers, grad_mats)
    total = np.zeros(n_weights)
    parameter_grads(grad_mats, derivatives, kinds, params, sampled, tables[-1], total)
    return grad_x, total


@njit(cache=True, fastmath=True, error_model="numpy")
def forward_dense(x, weights, inputs, basis, kinds, params, sampled, tables, fixed, followers, steps, z):
    """The circuit as one matrix: Q = (the steps run on the identity) (N_0 (x) ... (x) N_n-1)
    is built once per call, and the batch's state is Q r with r = (x)_w [cos h_w, sin h_w]
    real, so the batch costs two real matrix products, [Re Q; Im Q] r (2^(n+1), B). Only for
    circuits without per-sample steps (kinds 3 and 4 of ``_run``)."""
    mats, derivatives, wires = _prepare(weights, kinds, params, sampled, tables, fixed, followers, basis)
    n, B = basis.shape[0], x.shape[0]
    D = 2**n
    M, before, blocks = _run(np.eye(D, dtype=basis.dtype), mats, steps, x, kinds, sampled, tables)
    every = np.arange(D)
    embedding = np.empty((D, D), dtype=basis.dtype)
    kron_block(wires[-1], every[:n], every, embedding)
    Q = np.dot(M, embedding)
    stacked = np.empty((2 * D, D), dtype=x.dtype)
    stacked[:D], stacked[D:] = Q.real, Q.imag
    cs = np.empty((n, 2, B), dtype=x.dtype)
    embed(x, inputs, cs[:, 0], cs[:, 1])
    r = np.empty((D, B), dtype=x.dtype)
    outer(cs, r)
    parts = np.dot(stacked, r)
    out = np.empty((B, z.shape[1]), dtype=x.dtype)
    expect_z(parts, _twice(z), out)
    return out, (x, mats, derivatives, wires, cs, r, parts, stacked, M, embedding, before, blocks)


@njit(cache=True, fastmath=True, error_model="numpy")
def _twice(z):
    """z stacked over itself (2D, n): the signs for the [Re; Im] parts."""
    both = np.empty((2 * z.shape[0], z.shape[1]), dtype=z.dtype)
    both[: z.shape[0]], both[z.shape[0] :] = z, z
    return both


@njit(cache=True, fastmath=True, error_model="numpy")
def backward_dense(grad_out, saved, n_weights, inputs, kinds, params, sampled, tables, followers, steps, z):
    """forward_dense's gradients, as ``backward``'s."""
    x, mats, derivatives, wires, cs, r, parts, stacked, M, embedding, before, blocks = saved
    D, B = r.shape
    n = cs.shape[0]
    g_parts = np.empty_like(parts)
    expect_z_backward(parts, _twice(z), grad_out, g_parts)
    grad_cs = outer_backward(np.dot(stacked.T.copy(), g_parts), cs)
    g_stacked = np.dot(g_parts, r.T.copy())
    g_q = np.empty_like(M)  # dL/dRe Q + i dL/dIm Q, in Q's precision
    for i in range(D):
        for j in range(D):
            g_q[i, j] = g_stacked[i, j] + 1j * g_stacked[D + i, j]
    grad_mats = np.zeros_like(mats)
    grad_x = np.zeros((B, x.shape[1]), dtype=r.dtype)
    _run_backward(np.dot(g_q, np.conj(embedding).T.copy()), mats, steps, before, blocks, grad_mats, x, kinds, sampled,
                  tables, grad_x)
    every = np.arange(D)
    grad_wire = np.zeros_like(wires[-1])
    unkron_block(np.dot(np.conj(M).T.copy(), g_q), wires[-1], every[:n], every, grad_wire)
    _wires_backward(grad_wire, mats, wires, followers, grad_mats)
    for w in range(n):
        for b in range(B):  # d cos h = -sin h, d sin h = cos h; h = x / 2
            if inputs[w] >= 0:
                grad_x[b, inputs[w]] += 0.5 * (cs[w, 0, b] * grad_cs[w, 1, b] - cs[w, 1, b] * grad_cs[w, 0, b])
    total = np.zeros(n_weights)
    parameter_grads(grad_mats, derivatives, kinds, params, sampled, tables[-1], total)
    return grad_x, total
