"""Drawings of a compiled circuit, by PennyLane's drawers (qml.draw, qml.draw_mpl) run on the
QNode the PennyLane executor would build: the same gates every executor runs."""

from __future__ import annotations

from pathlib import Path

import torch

from qhybrid import io
from qhybrid.quantum.circuit import Program
from qhybrid.quantum.pennylane_executor import build_qnode


def _qnode_and_angles(program: Program):
    import pennylane as qml  # lazy: drawing is the only reason a native run would load PennyLane

    qnode = build_qnode(program, qml.device("default.qubit", wires=program.n_qubits), "backprop", None)
    # one sample, not a broadcast of one: the drawers then show gate names, not parameter tensors
    A = torch.zeros(program.n_columns, dtype=torch.float64)
    amplitudes = torch.ones(program.n_inputs or 1, dtype=torch.float64) if program.embedding == "amplitude" else None
    return qnode, A, amplitudes


def draw_text(program: Program) -> str:
    import pennylane as qml  # lazy: as above

    qnode, A, amplitudes = _qnode_and_angles(program)
    return qml.draw(qnode, decimals=None, max_length=100)(A, amplitudes)


def draw_png(program: Program, path: Path, formats: tuple[str, ...] = ("png",), dpi: int = 120) -> Path:
    """The drawing at ``path`` in each format (the suffix replaced, as the run's other figures
    are: circuit.png, circuit.pdf); returns the first file written."""
    import matplotlib

    matplotlib.use("Agg")
    import pennylane as qml  # lazy: as above

    qnode, A, amplitudes = _qnode_and_angles(program)
    fig, _ = qml.draw_mpl(qnode, decimals=None)(A, amplitudes)
    try:
        return [io.save_figure(Path(path).with_suffix(f".{fmt}"), fig, dpi, fmt) for fmt in formats][0]
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
