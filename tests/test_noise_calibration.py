"""A device's calibration as noise (backend.noise.from, eval_noise.from): its two JSON forms
and the fake backends read alike; the channels per wire and pair equal default.mixed with
the same channels; relaxation follows T1 and T2; a gate's channels add up to its reported
error; and eval_noise scores the trained model a second time, beside the noiseless metrics."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import torch

from helpers import TINY_CIRCUIT, fast
from helpers.noise_reference import flat_pair, mixed_reference
from qhybrid.errors import ConfigError
from qhybrid.quantum.calibration import fake_backend_dir, load_calibration, parse_calibration
from qhybrid.quantum.circuit import Angles
from qhybrid.quantum.native_density import DensityExecutor
from qhybrid.quantum.noise import NoiseModel, average_infidelity, superoperator, two_wire_depolarizing, wire_channel
from qhybrid.quantum.programs import program_of
from qhybrid.quantum.spec import NoiseSpec, QuantumSpec
from qhybrid.run import train

QUBITS = [  # distinct on every wire, readout asymmetric
    {"t1": 50e-6, "t2": 40e-6, "readout_01": 0.06, "readout_10": 0.02, "gate_error": 4e-3, "gate_time": 4e-7},
    {"t1": 80e-6, "t2": 120e-6, "readout_01": 0.03, "readout_10": 0.01, "gate_error": 1e-3, "gate_time": 3e-7},
    {"t1": 30e-6, "t2": 20e-6, "readout_01": 0.10, "readout_10": 0.04, "gate_error": 8e-3, "gate_time": 5e-7},
]
CALIBRATION = {"name": "test_chip", "qubits": QUBITS,
               "pairs": [{"qubits": [1, 0], "gate_error": 0.03, "gate_time": 3e-7},
                         {"qubits": [1, 2], "gate_error": 0.05, "gate_time": 4e-7}]}  # 0-2 uncoupled: the median


def _model(n: int = 3) -> NoiseModel:
    return NoiseModel.calibrated(parse_calibration(CALIBRATION, "test_chip"), n, "test_chip")


def test_a_calibrated_circuit_equals_default_mixed_with_the_same_channels_per_wire_and_pair():
    spec = QuantumSpec(n_qubits=3, n_layers=2, observables=["Z0", "Z1 Z2", "probs(2, 0)"])
    program, flat = flat_pair(spec)
    model = _model()
    generator = torch.Generator().manual_seed(3)
    A = (torch.rand(4, program.n_columns, generator=generator, dtype=torch.float64) * 2 - 1) * math.pi
    A.requires_grad_(True)
    ours = DensityExecutor(flat, model)(Angles(flat, A, None, None))
    theirs = mixed_reference(program, model, A)
    assert torch.allclose(ours, theirs, atol=1e-10)
    weights = torch.rand(ours.shape, generator=generator, dtype=torch.float64)
    grad_ours, = torch.autograd.grad((ours * weights).sum(), A)
    grad_theirs, = torch.autograd.grad((theirs * weights).sum(), A)
    assert torch.allclose(grad_ours, grad_theirs, atol=1e-10)


def _idle_state(first: str, n_gates: int, model: NoiseModel) -> torch.Tensor:
    """One qubit: ``first`` (RX(pi) to |1>, RY(pi/2) to |+>), then n_gates RZ(0) (identities
    that take a gate's time); <Z> and <X>."""
    layers = [{"gate": first, "wires": [0]}, *[{"gate": "RZ", "wires": [0]}] * n_gates]
    program, flat = flat_pair(QuantumSpec(n_qubits=1, circuit={"embedding": {"kind": "none"}, "layers": layers, "reps": 1},
                                      observables=["Z0", "X0"]))
    A = torch.zeros(1, program.n_columns, dtype=torch.float64)
    A[0, program.gates[0].columns[0]] = math.pi if first == "RX" else math.pi / 2
    return DensityExecutor(flat, model)(Angles(flat, A, None, None))[0]


@pytest.mark.parametrize("n_gates", [0, 7])
def test_relaxation_follows_t1_and_t2_over_the_gates_durations(n_gates):
    """An excited qubit's population decays as exp(-t/T1), a superposition's coherence as
    exp(-t/T2), t the gates' total time (no gate error beyond relaxation, no readout error)."""
    qubit = {"t1": 20e-6, "t2": 15e-6, "readout_01": 0.0, "readout_10": 0.0, "gate_error": 0.0, "gate_time": 1e-6}
    model = NoiseModel.calibrated(parse_calibration({"qubits": [qubit]}, "one"), 1, "one")
    t = (n_gates + 1) * qubit["gate_time"]
    assert (1 - float(_idle_state("RX", n_gates, model)[0])) / 2 == pytest.approx(math.exp(-t / qubit["t1"]), rel=1e-12)
    assert float(_idle_state("RY", n_gates, model)[1]) == pytest.approx(math.exp(-t / qubit["t2"]), rel=1e-12)


def test_a_gates_channels_add_up_to_its_reported_error():
    """Relaxation and the depolarizing rest: the average infidelity of a one-qubit gate's
    channels is the calibration's gate error, to first order in the errors; or relaxation's
    alone where that is more (qubit 0 here), as in Qiskit Aer's device models."""
    model = _model()
    for wire, qubit in enumerate(QUBITS):
        relaxing = average_infidelity(wire_channel(replace(model.single[wire], depolarizing=0.0), False))
        assert (model.single[wire].depolarizing == 0) == (relaxing >= qubit["gate_error"])
        channel = wire_channel(model.single[wire], True)
        assert average_infidelity(channel) == pytest.approx(max(qubit["gate_error"], relaxing), rel=0.02)
    p2, a, b = model.pairs[(0, 1)]
    both = superoperator(two_wire_depolarizing(p2)) @ torch.kron(wire_channel(a, False), wire_channel(b, False))
    assert average_infidelity(both) == pytest.approx(0.03, rel=0.05)


def _ibm_form(calibration: dict) -> dict:
    """The same device as IBM's backend-properties JSON (microseconds, nanoseconds)."""
    def entry(name, value, unit=""):
        return {"name": name, "value": value, "unit": unit}

    qubits = [[entry("T1", q["t1"] * 1e6, "us"), entry("T2", q["t2"] * 1e6, "us"),
               entry("prob_meas0_prep1", q["readout_01"]), entry("prob_meas1_prep0", q["readout_10"])]
              for q in calibration["qubits"]]
    gates = [{"gate": "sx", "qubits": [i], "parameters": [entry("gate_error", q["gate_error"]),
                                                           entry("gate_length", q["gate_time"] * 1e9, "ns")]}
             for i, q in enumerate(calibration["qubits"])]
    gates += [{"gate": "cx", "qubits": p["qubits"], "parameters": [entry("gate_error", p["gate_error"]),
                                                                    entry("gate_length", p["gate_time"] * 1e9, "ns")]}
              for p in calibration["pairs"]]
    return {"backend_name": "test_chip", "qubits": qubits, "gates": gates}


def test_both_json_forms_read_as_the_same_calibration(tmp_path):
    ours, ibm = tmp_path / "ours.json", tmp_path / "ibm.json"
    ours.write_text(json.dumps(CALIBRATION))
    ibm.write_text(json.dumps(_ibm_form(CALIBRATION)))
    a, b = load_calibration(str(ours)), load_calibration(str(ibm))
    assert a.name == b.name == "test_chip"
    for qa, qb in zip(a.qubits, b.qubits):
        assert all(getattr(qa, k) == pytest.approx(getattr(qb, k), rel=1e-12) for k in QUBITS[0])
    assert a.pairs.keys() == b.pairs.keys() == {(0, 1), (1, 2)}


@pytest.mark.skipif(fake_backend_dir() is None, reason="qiskit-ibm-runtime (its fake backends) is not installed")
def test_a_fake_backend_reads_by_any_of_its_names():
    names = ("fake_manila", "FakeManilaV2", "manila")
    calibrations = [load_calibration(name) for name in names]
    assert all(c == calibrations[0] for c in calibrations) and len(calibrations[0].qubits) == 5
    assert all(0 < q.readout_01 < 0.5 and 1e-6 < q.t1 < 1e-2 for q in calibrations[0].qubits)


@pytest.mark.skipif(fake_backend_dir() is None, reason="qiskit-ibm-runtime (its fake backends) is not installed")
def test_every_fake_backend_reads_older_ones_by_their_u2_gate():
    from qhybrid.quantum.calibration import fake_backend_names

    calibrations = {name: load_calibration(name) for name in fake_backend_names()}
    assert len(calibrations) > 40 and all(c.qubits for c in calibrations.values())
    london = calibrations["fake_london"]  # u1, u2, u3 and cx: no sx
    assert all(0 < q.gate_error < 0.01 and 1e-8 < q.gate_time < 1e-6 for q in london.qubits) and london.pairs


@pytest.mark.parametrize("raw, message", [
    ({**CALIBRATION, "pairs": [{"qubits": [0, 9], "gate_error": 0.01, "gate_time": 3e-7}]},
     "pair [0, 9] is not two of its 3 qubits"),
    ({**CALIBRATION, "pairs": []}, "it has no pairs"),
    ({"qubits": [{**QUBITS[0], "t1": 0.0}]}, "t1=0.0 is out of range"),
    ({"qubits": [{**QUBITS[0], "readout_01": 1.5}]}, "readout_01=1.5 is out of range"),
    ({"qubits": [{k: v for k, v in QUBITS[0].items() if k != "t2"}]}, "KeyError"),
])
def test_a_bad_calibration_file_is_one_line_naming_it(raw, message, tmp_path):
    path = tmp_path / "cal.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError) as err:
        NoiseSpec(from_=str(path)).check()
    assert message in err.value.problem and str(path) in err.value.problem


def _noisy_eval_run(tmp_path, compose, name: str, *overrides: str) -> dict:
    cfg = compose(["model=g6", "data=iris_binary", "seed=0", *fast("cv.n_splits=2"), *TINY_CIRCUIT, *overrides])
    return train(cfg, tmp_path / name)


def test_eval_noise_scores_the_same_trained_model_again_beside_its_noiseless_metrics(tmp_path, compose):
    path = tmp_path / "chip.json"
    path.write_text(json.dumps(CALIBRATION))
    negligible = _noisy_eval_run(tmp_path, compose, "negligible", "eval_noise.depolarizing=1e-12")
    noisy = _noisy_eval_run(tmp_path, compose, "noisy", f"eval_noise.from={path}", "eval_shots=200")
    for metrics in (negligible, noisy):
        assert metrics["backend"]["noise"] is None  # trained noiseless: only the scoring is noisy
    for fold in negligible["folds"]:  # the same weights: equal up to the negligible channel
        assert fold["evaluation"]["log_loss"] == pytest.approx(fold["log_loss"], abs=1e-6)
    evaluation = noisy["evaluation"]
    assert evaluation["label"] == "trained noiseless, tested under chip's noise, 200 shots"
    assert evaluation["noise"]["per_wire"]["readout_01"] == [QUBITS[0]["readout_01"], QUBITS[1]["readout_01"]]
    assert evaluation["summary"]["log_loss"]["mean"] != noisy["summary"]["log_loss"]["mean"]
    assert evaluation["difference"]["accuracy"] == pytest.approx(
        evaluation["summary"]["accuracy"]["mean"] - noisy["summary"]["accuracy"]["mean"])
    assert noisy["summary"] == _noisy_eval_run(tmp_path, compose, "plain")["summary"]  # scoring again changes nothing


def test_a_model_retested_under_noise_is_never_ranked_against_its_own_run():
    from qhybrid.report_table import mark_best

    rows = [{"data": "d", "baseline": False, "model": m, "roc_auc_mean": v} for m, v in (("a", 0.8), ("b", 0.9))]
    rows.append({"data": "d", "baseline": False, "model": "b (tested under noise)", "tested_under": "x's noise",
                 "roc_auc_mean": 0.95})
    mark_best(rows, "roc_auc")
    assert [r["model"] for r in rows if r.get("best")] == ["b"]


def test_scoring_shots_come_from_streams_apart_from_the_trainings(compose):
    from qhybrid.build import build_backend, build_eval_backend
    from qhybrid.schema import validate

    spec = validate(compose(["model=g6", "backend=torch", "backend.shots=100", "eval_shots=100"]))
    training, scoring = build_backend(spec), build_eval_backend(spec)
    for fold in (0, 1):
        trained, scored = training.for_fold(fold).device._rng, scoring.for_fold(fold).device._rng
        assert not (trained.random(8) == scored.random(8)).any()
    assert scoring.record()["seed"] != training.record()["seed"]


@pytest.mark.parametrize("asked", ["eval_noise.depolarizing=0.1", "eval_shots=100"])
def test_scoring_a_classical_model_under_noise_is_refused_not_ignored(asked, compose):
    from qhybrid.schema import validate

    with pytest.raises(ConfigError, match="model=g0 is classical"):
        validate(compose(["model=g0", asked]))


@pytest.mark.parametrize("overrides, words", [
    (["model=g0", "backend.shots=100"], "backend.shots=100 acts on a model's circuit, and model=g0 is classical"),
    (["model=g0", "backend.noise.depolarizing=0.1"], "backend.noise acts on a model's circuit"),
    (["model=g6", "backend=torch", "backend.shots=99999999999999999999"], "backend.shots=99999999999999999999 is out"),
    (["model=g6", "backend=torch", "backend.shots=10", "backend.seed=-1"], "backend.seed=-1 is out of range"),
    (["model=g6", "backend=torch", "backend.noise.from="], "backend.noise.from is empty"),
    (["model=g6", "eval_shots=99999999999999999999"], "eval_shots=99999999999999999999 is not a number of shots"),
    (["model=g6", "eval_noise.readout_01=0.1", "model.quantum.observables=[X0,Z1]"],
     "eval_noise: an asymmetric readout error on X0"),
])
def test_noise_and_shots_that_cannot_act_are_refused_at_start(compose, overrides, words):
    from qhybrid.schema import validate

    with pytest.raises(ConfigError) as refused:
        validate(compose(overrides))
    assert words in str(refused.value)


def test_a_calibration_file_changed_before_a_resume_is_refused(tmp_path):
    from qhybrid.training.resume import check_same_config, save_config

    path = tmp_path / "chip.json"
    path.write_text(json.dumps(CALIBRATION))
    config = {"model": {"name": "g6"}, "backend": {"noise": {"from": str(path)}}, "eval_noise": None}
    save_config(tmp_path, config)
    check_same_config(tmp_path, config)  # unchanged: resumes
    path.write_text(json.dumps({**CALIBRATION, "name": "recalibrated"}))
    with pytest.raises(ConfigError, match="calibration_sha256.backend.noise.from"):
        check_same_config(tmp_path, config)
