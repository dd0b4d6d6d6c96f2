"""`qhybrid circuit [overrides] [output=<png>] [overwrite=true]`: the configured circuit drawn
(text here, a PNG under outputs/circuits/ or at ``output``) and its resources: qubits, depth,
gates by kind, two-qubit gates, weights, readout, and circuit executions per sample and per
epoch under the parameter-shift rule. The same overrides as `qhybrid train`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from qhybrid.errors import ConfigError, QHybridError, report

USAGE = """\
usage: qhybrid circuit [group=option ...] [key=value ...] [output=<file.png>] [overwrite=true]
                       [target=<fake backend or calibration.json>]

Draw the circuit `qhybrid train` with the same overrides would run (text here, and a PNG:
outputs/circuits/<model>-<time>.png unless output= names one), and print its resources:
qubits, depth, gates by kind, two-qubit gates, circuit weights, readout, and circuit
executions per training sample and per epoch under the parameter-shift rule.

target= (or backend.noise.from / eval_noise.from when set) adds hardware readiness: the
circuit transpiled by Qiskit to that device's basis gates and coupling map (depth, gates,
two-qubit gates, layout), and the shots per sample and per epoch at backend.shots (or
eval_shots).

examples:
  qhybrid circuit model=g6
  qhybrid circuit model=iqp_variational model.quantum.n_qubits=6 output=iqp.png
  qhybrid circuit model=g6 target=fake_manila backend.shots=1000
"""


def run(args: list[str]) -> int:
    if any(a in ("-h", "--help") for a in args):
        print(USAGE, end="")
        return 0
    try:
        output, overwrite, target, overrides = _own_keys(args)
        _show(overrides, output, overwrite, target)
    except QHybridError as err:
        return report(err)
    return 0


def _own_keys(args: list[str]) -> tuple[Optional[Path], bool, Optional[str], list[str]]:
    output, overwrite, target, rest = None, False, None, []
    for arg in args:
        key, _, value = arg.partition("=")
        if key == "target":
            target = value
        elif key == "output":
            output = Path(value).expanduser()
        elif key == "overwrite":
            if value not in ("true", "false"):
                raise ConfigError(f"overwrite={value!r} is not true or false", "use overwrite=true")
            overwrite = value == "true"
        else:
            rest.append(arg)
    return output, overwrite, target, rest


def _training_rows(spec) -> Optional[int]:
    """The first fold's fit rows, or None with one line when the data cannot be read here."""
    from qhybrid.fold import fit_and_validation_rows
    from qhybrid.run import prepare_data

    try:
        spec, data, folds = prepare_data(spec)
    except QHybridError as err:
        print(f"(executions per epoch left out: the data cannot be read: {err})")
        return None
    return len(fit_and_validation_rows(spec, data, folds[0])[0])


def _hardware(spec, program, record: dict, target: Optional[str]) -> list[str]:
    """The hardware-readiness lines for ``target`` (or the device a noise setting names)."""
    from qhybrid.quantum.hardware import hardware_lines, transpiled

    target = target or spec.backend.noise.from_ or spec.eval_noise.from_
    if not target:
        return []
    executions = {"per_sample": record["parameter_shift_executions_per_sample"],
                  "per_epoch": record.get("parameter_shift_executions_per_epoch")}
    record["hardware"] = transpiled(program, target, spec.backend.shots or spec.eval_shots,
                                    executions if executions["per_sample"] is not None else None)
    return ["", *hardware_lines(record["hardware"])]


def _show(overrides: list[str], output: Optional[Path], overwrite: bool, target: Optional[str]) -> None:
    from qhybrid.preflight import Composer, job_config
    from qhybrid.quantum.drawing import draw_png, draw_text
    from qhybrid.circuit_files import circuit_record
    from qhybrid.quantum.resources import resource_lines
    from qhybrid.schema import validate

    spec = validate(job_config(Composer().compose(overrides)))
    q = spec.model.quantum
    if q is None:
        raise ConfigError(f"model={spec.model.name} is classical: it has no circuit to draw",
                          "pick a hybrid model, e.g. qhybrid circuit model=g6")
    if output is None:
        output = Path("outputs") / "circuits" / f"{spec.model.name}-{time.strftime('%Y-%m-%d_%H-%M-%S')}.png"
    if output.suffix.lower() != ".png":
        raise ConfigError(f"output={output} is not a .png file", "name a .png file, e.g. output=circuit.png")
    if output.exists() and not overwrite:
        raise ConfigError(f"output={output} already exists", "name another file, or add overwrite=true")
    if target is not None and not target.strip():
        raise ConfigError("target= is empty",
                          "name a fake backend (e.g. target=fake_manila) or a calibration JSON file")
    program, record = circuit_record(q, _training_rows(spec))
    hardware = _hardware(spec, program, record, target)  # before anything is printed: a refusal is one line
    print(f"model={spec.model.name}: the circuit every executor runs\n")
    print(draw_text(program))
    print()
    print("\n".join(resource_lines(record) + hardware))
    draw_png(program, output)
    print(f"\ndrawing: {output}")
