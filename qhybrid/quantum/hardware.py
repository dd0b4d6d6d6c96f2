"""Hardware readiness for `qhybrid circuit target=<device>`: the circuit as Qiskit would run it
on a device -- transpiled to the device's basis gates and coupling map -- with its depth and
two-qubit gate count, and the shots a parameter-shift epoch costs there.

The device is a fake backend of qiskit-ibm-runtime (``fake_manila``: its basis, coupling map
and calibration), or a calibration JSON file (qhybrid.quantum.calibration: its pairs are the
coupling map, IBM's basis rz, sx, x, cx). Every gate parameter is a Qiskit Parameter, so the
transpiler cannot drop a rotation that a trained angle of zero would let it drop.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from qhybrid.errors import ConfigError, first_line
from qhybrid.quantum.calibration import fake_backend_dir, fake_name, load_calibration
from qhybrid.quantum.circuit import Program
from qhybrid.quantum.gate_registry import GATES, gate_kind

OPTIMIZATION_LEVEL = 2  # Qiskit's default for transpile() and its preset pass managers
IBM_BASIS = ["rz", "sx", "x", "cx"]
# registry gate -> Qiskit gates in the order applied, each (name, indices of the gate's parameters)
_SEQUENCES = {
    "Rot": [("rz", (0,)), ("ry", (1,)), ("rz", (2,))],  # RZ(omega) RY(theta) RZ(phi)
    "CRot": [("crz", (0,)), ("cry", (1,)), ("crz", (2,))],  # controlled, factor by factor
    "U3": [("u", (0, 1, 2))],
}
_NAMES = {"CNOT": "cx", "CRX": "crx", "CRY": "cry", "CRZ": "crz", "CY": "cy", "CZ": "cz", "ControlledPhaseShift": "cp",
          "H": "h", "IsingXX": "rxx", "IsingYY": "ryy", "IsingZZ": "rzz", "PhaseShift": "p", "RX": "rx", "RY": "ry",
          "RZ": "rz", "S": "s", "SWAP": "swap", "T": "t", "X": "x", "Y": "y", "Z": "z"}


def to_qiskit(program: Program):
    """The circuit as a Qiskit QuantumCircuit, one Parameter per angle column."""
    from qiskit.circuit import Parameter, QuantumCircuit  # lazy: qiskit takes seconds to import
    from qiskit.circuit.library import StatePreparation

    qc = QuantumCircuit(program.n_qubits)
    columns = {c: Parameter(f"a{c}") for c in range(len(program.columns))}
    for gate in program.gates:
        if gate.name == "AMPLITUDE":  # a state preparation of the wires: its own synthesis
            qc.append(StatePreparation([1.0] + [0.0] * (2**len(gate.wires) - 1)), list(gate.wires))
            continue
        name = gate_kind(gate.name).name if gate.name in GATES else gate.name
        sequence = _SEQUENCES.get(name) or ([(_NAMES[name], tuple(range(len(gate.columns))))]
                                            if name in _NAMES else None)
        if sequence is None:
            raise ConfigError(f"qhybrid circuit target=: the circuit's {name} has no Qiskit counterpart here",
                              "use gates of qhybrid's registry, or leave target out")
        for method, indices in sequence:
            getattr(qc, method)(*(columns[gate.columns[i]] for i in indices), *gate.wires)
    return qc


def _device(target: str):
    """(name, transpile keyword arguments, the device's qubit count) for a fake backend or a
    calibration file."""
    if importlib.util.find_spec("qiskit") is None:
        raise ConfigError("target= transpiles the circuit with Qiskit, which is not installed",
                          "pip install 'qhybrid[qiskit]'")
    path = Path(target).expanduser()
    if path.suffix.lower() == ".json" or path.exists():
        cal = load_calibration(target, "target")
        edges = [list(pair) for a, b in cal.pairs for pair in ((a, b), (b, a))]
        from qiskit.transpiler import CouplingMap  # lazy: as above

        return cal.name, {"basis_gates": IBM_BASIS, "coupling_map": CouplingMap(edges) if edges else None}, \
            len(cal.qubits)
    load_calibration(target, "target")  # an unknown name: one line with the close ones
    if fake_backend_dir() is None:
        raise ConfigError("target= names a fake backend, and qiskit-ibm-runtime is not installed",
                          "pip install 'qhybrid[qiskit]'")
    from qiskit_ibm_runtime import fake_provider  # lazy: a slow import

    wanted = fake_name(target)
    # the one class (the provider would build every fake backend, each with its own warnings)
    backend = next(cls for cls in vars(fake_provider).values()
                   if isinstance(cls, type) and getattr(cls, "backend_name", None) == wanted)()
    return backend.name, {"backend": backend}, backend.num_qubits


def transpiled(program: Program, target: str, shots: Optional[int], executions: Optional[dict]) -> dict[str, Any]:
    """circuit.json's "hardware": the transpiled circuit's depth and gates on ``target``, the
    layout, and the shots per sample and per epoch under the parameter shift."""
    name, device, size = _device(target)  # first: without Qiskit, one line naming the extra
    from qiskit import transpile  # lazy: as above

    if program.n_qubits > size:
        raise ConfigError(f"target={target} has {size} qubits, and the circuit {program.n_qubits}",
                          "name a larger device, or use fewer qubits")
    from qiskit.transpiler.exceptions import TranspilerError

    try:
        circuit = transpile(to_qiskit(program), optimization_level=OPTIMIZATION_LEVEL, seed_transpiler=0, **device)
    except TranspilerError as err:  # e.g. a calibration whose pairs connect fewer qubits than the circuit has
        raise ConfigError(f"target={target}: Qiskit cannot lay the circuit's {program.n_qubits} qubits out on its "
                          f"coupling map ({first_line(err, 160)})", f"give pairs that connect at least "
                          f"{program.n_qubits} qubits, or name a larger device") from None
    counts = Counter(instruction.operation.name for instruction in circuit.data)
    two = sum(1 for instruction in circuit.data if instruction.operation.num_qubits == 2)
    layout = circuit.layout.initial_index_layout(filter_ancillas=True) if circuit.layout is not None else None
    record = {"target": name, "optimization_level": OPTIMIZATION_LEVEL, "depth": circuit.depth(),
              "gates": sum(counts.values()), "gates_by_kind": dict(sorted(counts.items())), "two_qubit_gates": two,
              "layout": layout, "shots": shots}
    if shots and executions:
        record["shots_per_sample"] = shots * executions["per_sample"]
        if executions.get("per_epoch") is not None:
            record["shots_per_epoch"] = shots * executions["per_epoch"]
    return record


def hardware_lines(record: dict[str, Any]) -> list[str]:
    kinds = ", ".join(f"{name} {count}" for name, count in record["gates_by_kind"].items())
    lines = [f"on {record['target']} (transpiled by Qiskit, optimization level {record['optimization_level']}):",
             f"  depth: {record['depth']}", f"  gates: {record['gates']} ({kinds})",
             f"  two-qubit gates: {record['two_qubit_gates']}"]
    if record.get("layout") is not None:
        lines.append("  wires on physical qubits: " + ", ".join(f"{w}->{q}" for w, q in enumerate(record["layout"])))
    if "shots_per_sample" in record:
        line = f"  shots: {record['shots']:,} per execution, {record['shots_per_sample']:,} per training sample"
        if "shots_per_epoch" in record:
            line += f", {record['shots_per_epoch']:,} per epoch"
        lines.append(line)
    else:
        lines.append("  shots: set backend.shots=N to see the shots a parameter-shift epoch costs")
    return lines
