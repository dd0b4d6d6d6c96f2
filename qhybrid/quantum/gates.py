"""One gate of a compiled circuit (qhybrid.quantum.circuit.Program)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gate:
    """One gate. ``columns`` index the angle matrix (empty for fixed gates)."""

    name: str  # a registry gate (qhybrid.quantum.gate_registry) by its name or an alias (ROT, CPHASE); AMPLITUDE
    wires: tuple[int, ...]
    columns: tuple[int, ...] = ()

    @property
    def entangling(self) -> bool:
        """A gate on two or more wires: what a separable twin leaves out (a state preparation,
        AMPLITUDE, is the data's encoding and stays)."""
        return len(self.wires) >= 2 and self.name != "AMPLITUDE"
