"""What a circuit reads out (model.quantum.observables): Pauli words with coefficients and sums
of them (one output each), or probabilities of all or some wires (2^k outputs each).

    observables: [Z0, "Z0 Z1", "0.5 X1 - 0.25 Y0 Z2", probs, "probs(0, 1)"]

The default (null) is <Z> on every wire. Both executors read the same parsed list: the
native one from its state vector (``Readout``), PennyLane through ``qml.expval`` /
``qml.probs`` (``pennylane_measurements``); the tests hold them equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

import torch

from qhybrid.errors import ConfigError

PAULIS = "IXYZ"
_TERM = re.compile(r"^\s*(?:([-+]?\s*(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?)?\s*(.*?)\s*$")
_FACTOR = re.compile(r"^([XYZI])(\d+)$")
_PROBS = re.compile(r"^probs\s*(?:[\(\[]\s*([\d\s,]*)\s*[\)\]])?$")
_FIX = ('write Pauli words as "Z0", "Z0 Z1", "0.5 X1 Y2", sums as "Z0 + 0.5 X1", or probs / "probs(0, 1)"; '
        "wires count from 0")


@dataclass(frozen=True)
class Observable:
    label: str
    # expval: (coefficient, ((pauli, wire), ...)) terms; probs: the wires, in order
    terms: tuple = ()
    probs: Optional[tuple[int, ...]] = None

    @property
    def width(self) -> int:
        return 1 if self.probs is None else 2 ** len(self.probs)


def default_observables(n_qubits: int) -> list[Observable]:
    return [Observable(f"Z{w}", terms=((1.0, (("Z", w),)),)) for w in range(n_qubits)]


def parse_observables(value: Any, n_qubits: int, key: str = "model.quantum.observables") -> list[Observable]:
    """The configured readout; None is the default <Z> on every wire."""
    if value is None:
        return default_observables(n_qubits)
    if not isinstance(value, (str, list, tuple)) and not hasattr(value, "__iter__"):
        raise ConfigError(f"{key}={value!r} is not a list of observables", _FIX)
    entries = [value] if isinstance(value, str) else list(value)
    if not entries:
        raise ConfigError(f"{key} is empty", f"name at least one observable, or null for <Z> on every wire; {_FIX}")
    return [parse_one(str(entry), n_qubits, f"{key}[{i}]") for i, entry in enumerate(entries)]


def parse_one(text: str, n_qubits: int, key: str) -> Observable:
    label = " ".join(text.split())
    probs = _PROBS.match(label)
    if probs:
        listed = probs.group(1)
        parts = [w for w in re.split(r"[\s,]+", listed.strip())] if listed and listed.strip() else None
        if parts is not None and not all(w.isdigit() for w in parts):
            raise ConfigError(f"{key}={label!r} does not list wires", _FIX)
        wires = tuple(int(w) for w in parts) if parts is not None else tuple(range(n_qubits))
        _check_wires(wires, n_qubits, key, label)
        if len(set(wires)) != len(wires):
            raise ConfigError(f"{key}={label!r} names a wire twice", "name each wire once")
        return Observable(label, probs=wires)
    terms = []
    for sign, chunk in _split_terms(label, key):
        terms.append(_parse_term(chunk, sign, n_qubits, key, label))
    return Observable(label, terms=tuple(terms))


def _split_terms(label: str, key: str) -> list[tuple[float, str]]:
    """'0.5 X1 - Z0' -> [(1, '0.5 X1'), (-1, 'Z0')]: a + or - between words separates terms."""
    parts = re.split(r"(?<=[\dXYZI])\s+([-+])\s+", label)
    out, sign = [], 1.0
    for i, part in enumerate(parts):
        if i % 2:
            sign = -1.0 if part == "-" else 1.0
        else:
            if not part.strip():
                raise ConfigError(f"{key}={label!r} has an empty term", _FIX)
            out.append((sign, part))
    return out


def _parse_term(chunk: str, sign: float, n_qubits: int, key: str, label: str) -> tuple:
    match = _TERM.match(chunk)
    coefficient = float(match.group(1).replace(" ", "")) if match.group(1) else 1.0
    body = match.group(2).strip()
    if body.startswith("-") and match.group(1) is None:
        coefficient, body = -1.0, body[1:].strip()
    factors = [f for f in re.split(r"[\s@*]+", body) if f]
    if not factors:
        raise ConfigError(f"{key}={label!r} has a coefficient without a Pauli word", _FIX)
    word, seen = [], set()
    for factor in factors:
        m = _FACTOR.match(factor)
        if not m:
            raise ConfigError(f"{key}={label!r}: {factor!r} is not a Pauli operator on a wire", _FIX)
        pauli, wire = m.group(1), int(m.group(2))
        _check_wires((wire,), n_qubits, key, label)
        if wire in seen:
            raise ConfigError(f"{key}={label!r} acts on wire {wire} twice", "write each wire once in a word")
        seen.add(wire)
        if pauli != "I":
            word.append((pauli, wire))
    return sign * coefficient, tuple(word)


def _check_wires(wires: tuple[int, ...], n_qubits: int, key: str, label: str) -> None:
    bad = [w for w in wires if not 0 <= w < n_qubits]
    if bad:
        raise ConfigError(f"{key}={label!r} reads wire {bad[0]}, but the circuit has {n_qubits} qubits "
                          f"(wires 0..{n_qubits - 1})", "use wires of the circuit, or more qubits")


def is_default(observables: list[Observable], n_qubits: int) -> bool:
    return observables == default_observables(n_qubits)


def output_width(observables: list[Observable]) -> int:
    return sum(o.width for o in observables)


def describe(observables: list[Observable]) -> str:
    """'Z0 (1), probs (16)': each observable and its number of outputs, for the run's log."""
    return ", ".join(f"{o.label} ({o.width})" for o in observables)


# ----------------------------------------------------------------------------- native


class Readout:
    """Observables from a batch of states stored (2^n, B) in logical order (wire 0 the most
    significant bit): Z-only words from one product of the probabilities with their signs,
    words with X or Y from <psi|P|psi> with P a bit flip and phases (one gather each)."""

    def __init__(self, observables: list[Observable], n: int):
        self.n, self.observables = n, observables
        bits = (torch.arange(2**n)[:, None] >> torch.arange(n - 1, -1, -1)[None, :]) & 1  # (2^n, n)
        self.words: dict[tuple, tuple] = {}
        for o in observables:
            for _, word in o.terms:
                if word not in self.words:
                    self.words[word] = self._word_action(word, bits)
        self._cache: dict = {}

    def _word_action(self, word: tuple, bits: torch.Tensor) -> tuple:
        """(flip index or None, phase (2^n,) complex): (P psi)[i] = phase[i] psi[i ^ flip]."""
        n, index = self.n, torch.arange(2**self.n)
        flip, phase = 0, torch.ones(2**n, dtype=torch.complex128)
        for pauli, wire in word:
            bit = bits[:, wire]
            if pauli in "XY":
                flip |= 1 << (n - 1 - wire)
            if pauli == "Z":
                phase = phase * (1 - 2 * bit)
            elif pauli == "Y":  # (Y psi)[0] = -i psi[1], (Y psi)[1] = i psi[0]: the row's own bit sets the phase
                phase = phase * torch.where(bit == 1, torch.tensor(1j), torch.tensor(-1j))
        return (None if flip == 0 else index ^ flip), phase

    def _on(self, tensor: Optional[torch.Tensor], device, dtype=None):
        if tensor is None:
            return None
        key = (id(tensor), str(device), dtype)
        if key not in self._cache:
            self._cache[key] = tensor.to(device=device, dtype=dtype or tensor.dtype)
        return self._cache[key]

    def _expval(self, word: tuple, psi: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        flip, phase = self.words[word]
        if not word:
            return torch.ones(psi.shape[1], dtype=probs.dtype, device=psi.device)
        if flip is None:
            return self._on(phase.real, psi.device, probs.dtype) @ probs
        moved = psi[self._on(flip, psi.device)] * self._on(phase, psi.device, psi.dtype)[:, None]
        return (psi.conj() * moved).real.sum(0)

    def _probs(self, wires: tuple[int, ...], probs: torch.Tensor) -> torch.Tensor:
        B = probs.shape[1]
        full = probs.reshape(*([2] * self.n), B)
        rest = [w for w in range(self.n) if w not in wires]
        marginal = full.sum(dim=rest) if rest else full
        kept = sorted(wires)
        order = [kept.index(w) for w in wires] + [len(wires)]
        return marginal.permute(order).reshape(2 ** len(wires), B)

    def __call__(self, psi: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        """psi (2^n, B) complex and its probabilities (2^n, B) -> (B, width)."""
        columns = []
        for o in self.observables:
            if o.probs is not None:
                columns.append(self._probs(o.probs, probs))
            else:
                total = sum(c * self._expval(word, psi, probs) for c, word in o.terms)
                columns.append(torch.as_tensor(total, dtype=probs.dtype, device=probs.device).reshape(1, -1))
        return torch.cat(columns, dim=0).T


# --------------------------------------------------------------------------- PennyLane


def pennylane_measurements(observables: list[Observable]):
    """The QNode's return list, in the observables' order."""
    import pennylane as qml  # lazy: backend=torch runs never load PennyLane

    out = []
    for o in observables:
        if o.probs is not None:
            out.append(qml.probs(wires=list(o.probs)))
            continue
        parts = []
        for coefficient, word in o.terms:
            op = qml.prod(*(getattr(qml, f"Pauli{p}")(w) for p, w in word)) if len(word) > 1 else \
                getattr(qml, f"Pauli{word[0][0]}")(word[0][1]) if word else qml.Identity(0)
            parts.append(qml.s_prod(coefficient, op) if coefficient != 1.0 else op)
        out.append(qml.expval(parts[0] if len(parts) == 1 else qml.sum(*parts)))
    return out


def readout_values(observables: list[Observable], n: int) -> torch.Tensor:
    """(2^n, width): what each computational basis state reads as per output column (a Z
    word's sign times its coefficient, a probs column's indicator), in float64."""
    eye = torch.eye(2**n, dtype=torch.float64)
    return Readout(observables, n)(eye.to(torch.complex128), eye)
