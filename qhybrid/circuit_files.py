"""A hybrid run's circuit files: circuit.json (its resources, qhybrid.quantum.resources), a copy
of a circuit given as a file (circuit_source.py or .yaml: the run's weights belong to the circuit
as it was when it trained: predict and resume read the copy, qhybrid.circuit_copy), and, with the
run's figures, circuit.txt and circuit.png (qhybrid.quantum.drawing)."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Optional

from qhybrid import io
from qhybrid.errors import first_line
from qhybrid.quantum.programs import is_python, program_of
from qhybrid.registry import import_option_module
from qhybrid.quantum.resources import resources

log = logging.getLogger("qhybrid")


def circuit_record(q, training_rows: Optional[int]) -> tuple:
    """(program, resources) of a validated QuantumSpec."""
    program = program_of(q)
    n_weights = math.prod(program.weight_shape) if program.weight_shape else 0
    return program, resources(program, n_weights, q.trainable, training_rows)


def write_run_circuit(out: Path, q, training_rows: int, plots) -> None:
    """A run folder's circuit.json (resources) and, with its figures (``plots``: the run's
    PlotsSpec), circuit.txt and the drawing in the figures' formats: a drawing that fails is a
    warning, never the run."""
    program, record = circuit_record(q, training_rows)
    source = _copy_source(out, q.circuit)
    if source is not None:
        record["source"] = source
    io.write_json(out / "circuit.json", record)
    if not plots.enabled:
        return
    # lazy: drawing loads PennyLane, which a native run without figures never needs
    from qhybrid.quantum.drawing import draw_png, draw_text

    try:
        io.write_text(out / "circuit.txt", draw_text(program) + "\n")
        draw_png(program, out / "circuit.png", tuple(plots.formats), plots.dpi)
    except Exception as err:  # noqa: BLE001 - a drawing is never worth the run
        log.warning("could not draw the circuit (%s)", first_line(err, 200, typed=True))


def _copy_source(out: Path, circuit) -> Optional[dict]:
    """Copy the file a circuit was given as into the run folder; what predict needs to find it."""
    if not isinstance(circuit, str):
        return None  # inline YAML: the run's config holds it
    if is_python(circuit):
        module, _, function = circuit.rpartition(":")
        origin = Path(getattr(import_option_module(module, "model.quantum.circuit"), "__file__", "") or "")
        name, extra = "circuit_source.py", {"function": function}
    else:
        origin, name, extra = Path(circuit).expanduser(), "circuit_source.yaml", {}
    if not origin.is_file():
        return None
    io.write_bytes(out / name, origin.read_bytes())
    return {"file": name, "given": circuit, **extra}
