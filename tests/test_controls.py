"""Controls on identical folds (qhybrid.controls), repeated splits (repeats=R) and the paired
comparisons a run writes (metrics.json "comparisons", the terminal, the report)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pennylane as qml
import pytest
import torch

from helpers.presets import fast
from qhybrid.controls import trainable_count
from qhybrid.models.matched import MatchedLayer, layer_size, make_control, matched_hidden
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.observables import default_observables
from qhybrid.quantum.pennylane_executor import build_qnode
from qhybrid.quantum.programs import program_of
from qhybrid.quantum.spec import QuantumSpec
from test_native_any_gate import pennylane_outputs

CIRCUITS = {
    "strongly_entangling": QuantumSpec(n_qubits=3),
    "hard_gating": QuantumSpec(n_qubits=3, gating="hard", ansatz="basic_entangler"),
    "yaml": QuantumSpec(n_qubits=3, circuit={"embedding": {"kind": "angle", "rotation": "Y"}, "layers": [
        {"gate": "CRX", "wires": [[0, 1]]}, {"gate": "RY", "wires": "all"}, {"gate": "CNOT", "wires": [[1, 2]]}],
        "reps": 2}),
}


@pytest.mark.parametrize("name", CIRCUITS)
def test_the_separable_twin_has_no_multi_wire_gate_and_no_wire_reads_another(name):
    spec = CIRCUITS[name]
    original, twin = program_of(spec), program_of(QuantumSpec(**{**vars(spec), "separable": True}))
    assert any(len(g.wires) > 1 for g in original.gates)
    assert all(len(g.wires) == 1 for g in twin.gates)
    assert twin.weight_shape == original.weight_shape  # the weights load from the original's
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, generator=generator, dtype=torch.float64) * 2 - 1
    w = torch.rand(twin.weight_shape, generator=generator, dtype=torch.float64) * 6
    executor = NativeExecutor(twin, "auto")
    moved = x.clone()
    moved[:, 1:] += 0.7  # only wires 1 and 2 move: <Z0> of a product state cannot see them
    same, other = executor(twin.angles(x, w, None)), executor(twin.angles(moved, w, None))
    torch.testing.assert_close(same[:, 0], other[:, 0], atol=1e-12, rtol=0)
    assert not torch.allclose(same[:, 1], other[:, 1])
    if spec.gating == "none":  # the twin runs exactly as PennyLane runs the same gates (float64)
        qnode = build_qnode(twin, qml.device("default.qubit", wires=3), "backprop", None)
        reference = pennylane_outputs(qnode(twin.angles(x, w, None).matrix()), default_observables(3), 4)
        torch.testing.assert_close(same, reference, atol=1e-10, rtol=0)


@pytest.mark.parametrize("n_inputs, n_outputs, target", [(4, 4, 24), (4, 4, 5), (2, 3, 100), (8, 1, 60), (4, 4, 0),
                                                       (4, 4, 200), (10, 2, 30)])
def test_the_matched_layer_is_the_size_nearest_the_circuits_with_no_bottleneck(n_inputs, n_outputs, target):
    layer = MatchedLayer(n_inputs, n_outputs, target)
    count = trainable_count(layer)
    assert count == layer_size(n_inputs, n_outputs, layer.hidden)
    allowed = [0, *range(min(n_inputs, n_outputs), 400)]
    assert layer.hidden in allowed
    assert abs(count - target) == min(abs(layer_size(n_inputs, n_outputs, h) - target) for h in allowed)
    out = layer(torch.randn(3, n_inputs) * 10)
    assert out.shape == (3, n_outputs) and out.abs().max() <= 1  # an expectation value's range


def test_each_control_takes_away_one_thing_and_keeps_the_rest(compose):
    from qhybrid.build import build_backend, build_run_model
    from qhybrid.schema import validate

    spec = validate(compose(["model=g6", "controls=all"]))
    backend = build_backend(spec)

    def build(s, b):
        torch.manual_seed(0)
        return build_run_model(s, 4, 2, b)[0]

    hybrid = build(spec, backend)
    frozen = make_control("frozen_quantum", build, spec, backend)
    assert trainable_count(frozen) == trainable_count(hybrid) - trainable_count(hybrid.quantum)
    torch.testing.assert_close(frozen.state_dict(), hybrid.state_dict())  # the same draws, the circuit's kept
    separable = make_control("separable", build, spec, backend)
    assert trainable_count(separable) == trainable_count(hybrid)
    assert all(len(g.wires) == 1 for g in separable.quantum.program.gates)
    matched = make_control("classical_matched", build, spec, backend)
    assert isinstance(matched.quantum, MatchedLayer)
    assert abs(trainable_count(matched.quantum) - trainable_count(hybrid.quantum)) < trainable_count(hybrid.quantum) / 2
    torch.testing.assert_close(matched.encoder.state_dict(), hybrid.encoder.state_dict())  # the rest starts the same


def test_controls_and_repeats_train_on_the_hybrids_folds_and_are_compared_pair_by_pair(cli, tmp_path):
    out = tmp_path / "run"
    result = cli(["train", "model=g6", "data=iris_binary", "controls=all", "repeats=2",
                  *fast("baselines=[logreg]"), f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["cv"]["repeats"] == 2 and len(set(metrics["cv"]["split_seeds"])) == 2
    assert len(metrics["folds"]) == 4 and [r["repeat"] for r in metrics["folds"]] == [0, 0, 1, 1]
    assert set(metrics["controls"]) == {"separable", "classical_matched", "frozen_quantum"}
    for name, control in metrics["controls"].items():
        assert [(r["fold"], r["n_train"], r["n_test"]) for r in control["folds"]] == \
               [(r["fold"], r["n_train"], r["n_test"]) for r in metrics["folds"]], name
    versus = metrics["comparisons"]["versus"]
    assert list(versus) == ["separable", "classical_matched", "frozen_quantum", "logreg"]
    for name, c in versus.items():
        roc = c["metrics"]["roc_auc"]
        hybrid = [r["roc_auc"] for r in metrics["folds"]]
        other = [r["roc_auc"] for r in (metrics["controls"].get(name) or metrics["baselines"][name])["folds"]]
        assert roc["delta"] == pytest.approx(sum(h - o for h, o in zip(hybrid, other)) / 4)
        assert roc["interval"][0] <= roc["delta"] <= roc["interval"][1] and 0 <= roc["p"] <= 1
        assert c["verdict"] in result.stdout
    predictions = pd.read_csv(out / "predictions.csv")
    tested = {fold: set(rows["row"]) for fold, rows in predictions.groupby("fold")}
    assert tested[0] | tested[1] == tested[2] | tested[3]  # each repeat tests every row once ...
    assert tested[0] != tested[2] and tested[0] != tested[3]  # ... split by another seed
    report = cli(["report", str(out)])
    assert report.returncode == 0 and versus["separable"]["verdict"] in report.stdout
    assert "separable (control)" in (out / "report.md").read_text()


@pytest.mark.parametrize("overrides, words", [
    (["model=g0", "controls=all"], "model=g0 is classical"),
    (["model=g6", "controls=[frozen_quantum]", "model.quantum.trainable=false"], "no trainable weights"),
    (["model=g6", "controls=[separable]", "model.quantum.ansatz=none"], "no gate on two or more wires"),
    (["model=g6", "controls=[entangled]"], "controls[0]"),
    (["model=g6", "controls=[separable,separable]"], "twice"),
    (["model=g6", "repeats=0"], "repeats=0"),
    (["model=g6", "repeats=2", "cv.shuffle=false"], "cv.shuffle=false"),
    (["model=g6", "repeats=3", "cv=walk_forward"], "time order"),
])
def test_a_control_or_repeat_that_cannot_be_is_refused_by_name(compose, overrides, words):
    from qhybrid.errors import ConfigError
    from qhybrid.schema import validate

    with pytest.raises(ConfigError, match=re.escape(words)):
        validate(compose(["data=iris_binary", *overrides]))


def test_on_the_command_line_a_refused_control_is_one_line_and_writes_nothing(cli, tmp_path):
    result = cli(["train", "data=iris_binary", "model=g0", "controls=all", *fast(), f"hydra.run.dir={tmp_path / 'run'}"])
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run" / "metrics.json").exists()


def test_controls_all_leaves_out_a_control_the_model_already_is(compose):
    from qhybrid.schema import validate

    spec = validate(compose(["model=g6", "controls=all", "model.quantum.trainable=false"]))
    assert spec.controls == ["separable", "classical_matched"]


def test_a_run_started_before_controls_repeats_and_search_existed_resumes(tmp_path):
    from qhybrid.training.resume import CONFIG_FILE, check_same_config

    now = {"seed": 0, "controls": [], "repeats": 1, "search": {"budget": 0, "inner_folds": 3}}
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"seed": 0}))
    check_same_config(tmp_path, now)  # what the older run did: no controls, one split, no search
    with pytest.raises(Exception, match="repeats"):
        check_same_config(tmp_path, {**now, "repeats": 3})
