"""A hybrid run's circuit files: circuit.json (its resources, qhybrid.quantum.resources) and,
with the run's figures, circuit.txt and circuit.png (qhybrid.quantum.drawing)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from qhybrid import io
from qhybrid.errors import first_line
from qhybrid.quantum.programs import program_of
from qhybrid.quantum.resources import resources

log = logging.getLogger("qhybrid")


def circuit_record(q, training_rows: Optional[int]) -> tuple:
    """(program, resources) of a validated QuantumSpec."""
    program = program_of(q)
    n_weights = 0
    if program.weight_shape:
        n_weights = 1
        for size in program.weight_shape:
            n_weights *= size
    return program, resources(program, n_weights, q.trainable, training_rows)


def write_run_circuit(out: Path, q, training_rows: int, drawings: bool) -> None:
    """A run folder's circuit.json (resources) and, with its figures, circuit.txt and circuit.png:
    a drawing that fails is a warning, never the run."""
    program, record = circuit_record(q, training_rows)
    io.write_json(out / "circuit.json", record)
    if not drawings:
        return
    # lazy: drawing loads PennyLane, which a native run without figures never needs
    from qhybrid.quantum.drawing import draw_png, draw_text

    try:
        io.write_text(out / "circuit.txt", draw_text(program) + "\n")
        draw_png(program, out / "circuit.png")
    except Exception as err:  # noqa: BLE001 - a drawing is never worth the run
        log.warning("could not draw the circuit (%s)", first_line(err, 200, typed=True))
