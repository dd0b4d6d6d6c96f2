"""The native executor's density-matrix mode: a batch of circuits under ``backend.noise``
(qhybrid.quantum.noise) as density matrices (B, 2^n, 2^n); gradients by autograd.

Each gate with the channels after it is one superoperator on its wires' (row, column)
index pairs: S = C kron(U, conj U), C the channels'. Superoperators on the same one or two
wires are multiplied together before they touch the state: a gate joins the last
operation on its wires when nothing has acted on those wires since (operations on other
wires commute with it), and a two-wire operation takes in the one-wire operations last on
its wires. AngleEmbedding + StronglyEntanglingLayers becomes one 16 x 16 superoperator per
CNOT, so a step reads and writes the 4^n-amplitude batch a few times per layer instead of
a few times per gate and channel. Then a readout error on the probabilities.

Memory is 4^n amplitudes per sample (qhybrid.quantum.memory refuses what cannot fit), so this
mode is for the few-qubit circuits noise studies train; without noise the state-vector
executor runs instead.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from qhybrid.errors import ConfigError
from qhybrid.quantum.circuit import SOURCE_WEIGHT, Angles, Program
from qhybrid.quantum.gate_registry import GATES
from qhybrid.quantum.native_density_plan import fuse, operation_superoperator, shared_superoperators
from qhybrid.quantum.noise import NoiseModel
from qhybrid.quantum.spec import NoiseSpec
from qhybrid.quantum.observables import Readout, default_observables

_COMPLEX = {torch.float64: torch.complex128, torch.float32: torch.complex64}


def _bits(n: int) -> torch.Tensor:
    """(2^n, n): the bits of each basis state, wire 0 the most significant."""
    return (torch.arange(2**n)[:, None] >> torch.arange(n - 1, -1, -1)[None, :]) & 1


def _moved(t: torch.Tensor, axes: list[int]) -> tuple[torch.Tensor, tuple]:
    """t with ``axes`` moved last and flattened into one: (B, rest, prod), and what undoes it."""
    moved = t.movedim(axes, list(range(t.dim() - len(axes), t.dim())))
    return moved.reshape(t.shape[0], -1, 2 ** len(axes)), (moved.shape, axes)


def _back(t: torch.Tensor, undo: tuple, shape: tuple) -> torch.Tensor:
    moved_shape, axes = undo
    dim = len(moved_shape)
    return t.reshape(moved_shape).movedim(list(range(dim - len(axes), dim)), axes).reshape(shape)


def check_noise_fits(program: Program, noise: NoiseModel, key: str = "backend.noise") -> None:
    """What the density-matrix mode cannot model, refused in one line (at validation too, so
    that nothing trains first): a gate outside the registry, an asymmetric readout error on a
    word read in the X or Y basis."""
    opaque = [g.name for g in program.gates if g.name not in GATES and g.name != "AMPLITUDE"]
    if opaque:
        raise ConfigError(f"{key} runs circuits of qhybrid's gate registry, and {', '.join(opaque)} is not "
                          "in it", f"use registry gates (qhybrid circuit lists them), or leave {key} unset")
    observables = program.observables or default_observables(program.n_qubits)
    actions = Readout(observables, program.n_qubits).words
    for o in observables:
        for _, word in (o.terms if o.probs is None else ()):
            if actions[word][0] is not None and any(len(set(noise.readout_errors(w))) > 1 for _, w in word):
                fix = "read Z words (model.quantum.observables)" + \
                    (f", or use {key}.readout (symmetric)" if noise.source is None else
                     ": the calibration's readout errors differ by direction")
                raise ConfigError(f"{key}: an asymmetric readout error on {o.label} (an X or Y word) needs its basis "
                                  "rotation modelled", fix)


class DensityExecutor(nn.Module):
    """(angles, amplitudes) -> the program's observables (B, width) under ``noise``, in the
    angles' dtype."""

    density_matrix = True  # a row holds 4^n amplitudes: evaluation takes fewer rows at once

    def __init__(self, program: Program, noise: NoiseSpec | NoiseModel):
        super().__init__()
        if isinstance(noise, NoiseSpec):
            noise = NoiseModel.of(noise, program.n_qubits)
        check_noise_fits(program, noise)
        self.program, self.noise, self.n = program, noise, program.n_qubits
        per_sample = {c for c, (source, _) in enumerate(program.columns) if source != SOURCE_WEIGHT}
        self.operations = fuse([g for g in program.gates if g.name != "AMPLITUDE"], noise,  # a state preparation
                               join_samples=program.n_qubits >= 6, per_sample=per_sample)
        # a wire's first operation, when it acts on that wire alone, acts on the wire's own 2 x 2
        # state (the start is a product state): the embedding never touches the 4^n batch
        self.prefix: dict[int, int] = {}
        seen: set[int] = set()
        for index, op in enumerate(self.operations if program.embedding != "amplitude" else ()):
            if len(op.wires) == 1 and op.wires[0] not in seen:
                self.prefix[op.wires[0]] = index
            seen.update(op.wires)
        self._constant: dict = {}  # (operation index, dtype, device) -> its superoperator
        self._varying_items = [item for op in self.operations if not op.fixed for item in op.items]
        self.confusion = [noise.confusion(w) for w in range(self.n)]
        self._readout(program.observables or default_observables(self.n))

    def extra_repr(self) -> str:
        return f"n_qubits={self.n}, noise={self.noise.record()}"

    def _readout(self, observables: list) -> None:
        """Per output column: a vector over the basis for its diagonal part, and its words
        with an X or Y (coefficient, flip index, phase) read from rho's off-diagonal."""
        n, bits = self.n, _bits(self.n)
        actions = Readout(observables, n).words
        errors = [self.noise.readout_errors(w) for w in range(n)]
        vectors, words = [], []
        for o in observables:
            if o.probs is not None:
                index = sum(bits[:, w] << (len(o.probs) - 1 - j) for j, w in enumerate(o.probs))
                vectors += list(torch.nn.functional.one_hot(index, 2 ** len(o.probs)).T.to(torch.float64))
                words += [[] for _ in range(2 ** len(o.probs))]
                continue
            vector, off = torch.zeros(2**n, dtype=torch.float64), []
            for coefficient, word in o.terms:
                flip, phase = actions[word]
                if flip is None:
                    vector += coefficient * phase.real
                else:  # a symmetric readout error (check_noise_fits) shrinks a word by (1 - 2p) per factor read
                    off.append((coefficient * math.prod(1 - 2 * errors[w][0] for _, w in word), flip, phase))
            vectors.append(vector)
            words.append(off)
        self.values = torch.stack(vectors, dim=1)  # (2^n, width)
        self.words = words

    def forward(self, angles: Angles, amplitudes: Optional[torch.Tensor] = None) -> torch.Tensor:
        A = angles.matrix()
        B, n, ctype = A.shape[0], self.n, _COMPLEX[A.dtype]
        # the state's 2n axes (rows of each wire, then columns) stay in the order the last
        # operation left them: each operation moves its axes last once, and nothing moves back
        shared = shared_superoperators(self._varying_items, A, ctype)
        t, order = self._initial(A, amplitudes, shared), list(range(2 * n))
        skipped = set(self.prefix.values())
        for index, op in enumerate(self.operations):
            if index not in skipped:
                t, order = self._operate(t, order, self._superoperator(index, op, A, ctype, shared), op.wires)
        rho = t.permute(0, *(1 + order.index(a) for a in range(2 * n))).reshape(B, 2**n, 2**n)
        return self._measure(rho).to(A.dtype)

    def _superoperator(self, index: int, op, A: torch.Tensor, ctype: torch.dtype, shared: dict) -> torch.Tensor:
        if not op.fixed:
            return operation_superoperator(op, A, ctype, shared)
        key = (index, ctype, str(A.device))
        if key not in self._constant:
            self._constant[key] = operation_superoperator(op, A[:1].detach(), ctype)
        return self._constant[key]

    def _initial(self, A: torch.Tensor, amplitudes: Optional[torch.Tensor], shared: dict) -> torch.Tensor:
        """The state before the operations, (B, 2, ..., 2): rows of each wire, then columns."""
        n, B, ctype = self.n, A.shape[0], _COMPLEX[A.dtype]
        if self.program.embedding == "amplitude":
            x = amplitudes.to(A.dtype)
            x = x / x.norm(dim=1, keepdim=True).clamp_min(torch.finfo(A.dtype).tiny)
            psi = torch.nn.functional.pad(x, (0, 2**n - x.shape[1])).to(ctype)
            return (psi[:, :, None] * psi[:, None, :].conj()).reshape(B, *([2] * (2 * n)))
        state = torch.ones((1,) * (2 * n + 1), dtype=ctype, device=A.device)
        zero = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=ctype, device=A.device).reshape(1, 4, 1)
        for w in range(n):
            if w in self.prefix:  # the wire's first operation on vec(|0><0|): column 0 of its superoperator
                index = self.prefix[w]
                wire = self._superoperator(index, self.operations[index], A, ctype, shared) @ zero
            else:
                wire = zero
            shape = [wire.shape[0]] + [1] * (2 * n)
            shape[1 + w], shape[1 + n + w] = 2, 2
            state = state * wire.reshape(shape)
        return state.expand(B, *([2] * (2 * n)))

    def _operate(self, t: torch.Tensor, order: list[int], S: torch.Tensor, wires: tuple) -> tuple:
        """The state (axes in ``order``) with superoperator S (R, 4^m, 4^m) on ``wires``' row
        and column axes, which end last; the new order."""
        n, B, d = self.n, t.shape[0], S.shape[-1]
        axes = [*wires, *(n + w for w in wires)]
        new = [a for a in order if a not in axes] + axes
        if new != order:
            t = t.permute(0, *(1 + order.index(a) for a in new))
        pairs = t.reshape(B, -1, d)
        if S.shape[0] == 1:  # the same for every sample: one matrix product over the whole batch
            out = pairs.reshape(-1, d) @ S[0].T
        else:
            out = pairs @ S.transpose(-1, -2)
        return out.reshape(B, *([2] * (2 * n))), new

    def _measure(self, rho: torch.Tensor) -> torch.Tensor:
        probs = rho.diagonal(dim1=1, dim2=2).real
        shape = probs.shape
        for w, confusion in enumerate(self.confusion):
            if confusion is not None:
                moved, undo = _moved(probs.reshape(shape[0], *([2] * self.n)), [1 + w])
                probs = _back(moved @ confusion.to(probs).T, undo, shape)
        out = probs @ self.values.to(probs)
        extra = [(c, sum(k * (rho[:, flip.to(rho.device), torch.arange(rho.shape[1], device=rho.device)]
                              * phase.to(rho)).sum(-1).real for k, flip, phase in off))
                 for c, off in enumerate(self.words) if off]
        if extra:
            out = out.clone()
            for column, value in extra:
                out[:, column] = out[:, column] + value
        return out
