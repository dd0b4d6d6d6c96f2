"""What a compiled circuit costs: qubits, depth, gates by kind, two-qubit gates, weights, and
circuit executions under the parameter-shift rule (what hardware or a shot-based simulator pays
for one gradient)."""

from __future__ import annotations

from collections import Counter
from typing import Any, Optional

from qhybrid.quantum.circuit import SOURCE_INPUT, SOURCE_WEIGHT, Program
from qhybrid.quantum.gate_registry import GATES, gate_kind
from qhybrid.quantum.observables import describe, output_width


def _kind_name(name: str) -> str:
    return gate_kind(name).name if name in GATES else ("AmplitudeEmbedding" if name == "AMPLITUDE" else name)


def depth(program: Program) -> int:
    """Layers of gates that act on disjoint wires (each gate after every earlier gate on its wires)."""
    level = [0] * program.n_qubits
    for gate in program.gates:
        top = max(level[w] for w in gate.wires) + 1
        for w in gate.wires:
            level[w] = top
    return max(level, default=0)


def shift_executions(program: Program, trainable_weights: bool) -> Optional[int]:
    """Circuit executions per sample for one forward and one parameter-shift gradient with respect
    to the inputs (the layers before the circuit learn through them) and trainable weights; None
    when an operation has no registry shift rule."""
    executions = 1
    for gate in program.gates:
        if gate.name == "AMPLITUDE":
            continue
        variable = [c for c in gate.columns if c not in program.constant_columns]
        if not variable:
            continue
        if gate.name not in GATES:
            return None
        for column in variable:
            source = program.columns[column][0]
            if source == SOURCE_INPUT or (source == SOURCE_WEIGHT and trainable_weights):
                executions += len(gate_kind(gate.name).recipe)
    return executions


def resources(program: Program, n_weights: int, trainable: bool, training_rows: Optional[int] = None) -> dict[str, Any]:
    gates = [g for g in program.gates]
    counts = Counter(_kind_name(g.name) for g in gates)
    per_sample = shift_executions(program, trainable)
    record = {
        "qubits": program.n_qubits,
        "inputs_per_sample": program.n_inputs,
        "depth": depth(program),
        "gates": sum(counts.values()),
        "gates_by_kind": dict(sorted(counts.items())),
        "two_qubit_gates": sum(1 for g in gates if len(g.wires) == 2),
        "circuit_weights": n_weights,
        "weights_trainable": trainable,
        "readout": describe(program.observables),
        "outputs": output_width(program.observables),
        "parameter_shift_executions_per_sample": per_sample,
    }
    if training_rows is not None and per_sample is not None:
        record["training_rows"] = training_rows
        record["parameter_shift_executions_per_epoch"] = per_sample * training_rows
    return record


def resource_lines(record: dict[str, Any]) -> list[str]:
    kinds = ", ".join(f"{name} {count}" for name, count in record["gates_by_kind"].items())
    lines = [
        f"qubits: {record['qubits']} (inputs per sample: {record['inputs_per_sample']})",
        f"depth: {record['depth']}",
        f"gates: {record['gates']} ({kinds})",
        f"two-qubit gates: {record['two_qubit_gates']}",
        f"circuit weights: {record['circuit_weights']} ({'trainable' if record['weights_trainable'] else 'frozen'})",
        f"readout: {record['readout']} -> {record['outputs']} outputs",
    ]
    per_sample = record["parameter_shift_executions_per_sample"]
    if per_sample is None:
        lines.append("parameter-shift executions: n/a (an operation outside the gate registry has no shift rule here)")
    else:
        line = f"parameter-shift executions: {per_sample} per training sample (1 forward + {per_sample - 1} shifted)"
        if "parameter_shift_executions_per_epoch" in record:
            line += (f"; {record['parameter_shift_executions_per_epoch']:,} per epoch "
                     f"({record['training_rows']} training rows of the first fold)")
        lines.append(line)
    return lines
