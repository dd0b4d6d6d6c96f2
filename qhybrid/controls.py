"""Controls: the hybrid with its quantum part taken away in one respect each, trained and
scored on exactly the hybrid's fit, validation and test rows, so that a difference can be
read as the quantum part's doing.

* ``separable``: the same circuit with every gate on two or more wires removed (no
  entanglement): does entanglement help?
* ``classical_matched``: the quantum layer replaced by a classical one with the same input and
  output widths and (as near as a tanh layer's sizes allow) as many trainable parameters:
  does the circuit beat a classical layer of its size?
* ``frozen_quantum``: the circuit's weights left at their initial values (random quantum
  features): does training the circuit help?

Each control starts from the fold's seed like the hybrid (the same initial weights where
they share layers, the same batch order).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any


from qhybrid.errors import ConfigError
from qhybrid.spec_checks import choice

log = logging.getLogger("qhybrid")

CONTROLS = {
    "separable": "its circuit without entangling gates",
    "classical_matched": "a classical layer with the circuit's parameter count",
    "frozen_quantum": "its circuit's weights frozen at initialisation",
}
# what the hybrid beating each control would show, in words (the verdicts)
QUESTIONS = {"separable": "the entangling gates help", "classical_matched": "the circuit beats a classical layer of its size",
             "frozen_quantum": "training the circuit helps"}


def parse_controls(value: Any) -> list[str]:
    """``controls=all``, one name, or a list of names."""
    if value is None:
        return []
    if not isinstance(value, (str, list, tuple)) and type(value).__name__ != "ListConfig":
        raise ConfigError(f"controls={value!r} names no control", f"use controls=all or a list of {', '.join(CONTROLS)}")
    names = [value] if isinstance(value, str) else list(value)
    if "all" in names:
        names = list(CONTROLS)
    for i, name in enumerate(names):
        choice(f"controls[{i}]", name, [*CONTROLS, "all"])
    if len(set(names)) != len(names):
        raise ConfigError(f"controls={names} lists a control twice", "list each control once")
    return names


def check_controls(spec, asked_all: bool) -> list[str]:
    """The controls that differ from the hybrid. A classical model has no quantum layer to
    take away; a control the model already is (no entangling gate, no trainable circuit
    weight) is refused when named, and left out of controls=all with a line saying so."""
    if not spec.controls:
        return []
    if spec.model.quantum is None:
        raise ConfigError(f"controls={spec.controls} replace a quantum layer, and model={spec.model.name} is classical",
                          "pick a hybrid model (e.g. model=g6), or controls=[]")
    from qhybrid.quantum.programs import program_of  # lazy: compiling loads torch

    q = spec.model.quantum
    program = program_of(q)
    same = {"separable": "its circuit has no gate on two or more wires"
            if q.separable or not any(g.entangling for g in program.gates) else None,
            "frozen_quantum": _nothing_to_freeze(spec, program)}
    kept = []
    for name in spec.controls:
        if same.get(name) is None:
            kept.append(name)
        elif asked_all:
            log.info("controls=all: %s is left out: model=%s is that control already (%s)", name, spec.model.name,
                     same[name])
        else:
            raise ConfigError(f"controls: {name} would be model={spec.model.name} itself ({same[name]})",
                              f"leave {name} out of controls")
    return kept


def _nothing_to_freeze(spec, program) -> str | None:
    """Why the circuit's weights do not train already (frozen_quantum would be the hybrid), or None."""
    if spec.lora.quantum_rank:  # its adapters train the circuit even where its weights do not
        return None
    if program.weight_shape is None or not spec.model.quantum.trainable:
        return "its circuit has no trainable weights"
    if spec.lora.freeze_base:
        return "lora.freeze_base=true already freezes its circuit's weights"
    return None


def separable_spec(spec):
    """The run's spec with the separable twin of its circuit."""
    quantum = replace(spec.model.quantum, separable=True)
    return replace(spec, model=replace(spec.model, quantum=quantum))


def trainable_count(module) -> int:
    """A torch module's trainable numbers."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def frozen_spec(spec):
    """The run's spec with the circuit's weights untrained (the executor then differentiates
    no weight column); the same initial draws as the hybrid's."""
    quantum = replace(spec.model.quantum, trainable=False)
    return replace(spec, model=replace(spec.model, quantum=quantum))


def describe(name: str, hybrid, control) -> dict[str, Any]:
    """What the control is, for metrics.json: its trainable parameters beside the hybrid's
    (the quantum layer's and its stand-in's for classical_matched)."""
    record = {"what": CONTROLS[name], "n_trainable_parameters": trainable_count(control),
              "hybrid_n_trainable_parameters": trainable_count(hybrid)}
    if name == "classical_matched":
        record.update(quantum_layer_parameters=trainable_count(hybrid.quantum),
                      matched_layer_parameters=trainable_count(control.quantum), hidden_units=control.quantum.hidden)
    if name == "separable":
        record["removed_gates"] = sum(g.entangling for g in hybrid.quantum.program.gates)
    return record
