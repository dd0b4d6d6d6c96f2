"""`qhybrid bench`: how rounds combine, its input checks, and one small run end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import one_line, run_cli
from helpers.scheduling import HEAVY

from qhybrid.bench import REFERENCE, combine_rounds


def _run(impl, rate, **extra):
    return {"impl": impl, "n": 2, "L": 1, "B": 4, "samples_per_s": rate, "probe_out": [[0.5]], "probe_grad": [[0.1]],
            **extra}


def test_rounds_give_median_rate_and_median_of_per_round_ratios():
    runs = {REFERENCE: [_run(REFERENCE, 10), _run(REFERENCE, 20), _run(REFERENCE, 10)],
            "native_gates": [_run("native_gates", 100), _run("native_gates", 100), _run("native_gates", 300)],
            "torchlayer_loop": [_run("torchlayer_loop", 1)]}
    rows = {r["impl"]: r for r in combine_rounds(runs, list(runs))}
    native = rows["native_gates"]
    assert native["samples_per_s"] == 100 and native["rounds"] == [100, 100, 300]
    assert native["speedup"] == 10
    assert rows["torchlayer_loop"]["speedup"] == pytest.approx(0.1)  # against broadcasting's first round
    assert rows[REFERENCE]["speedup"] == 1 and rows[REFERENCE]["max_error"] == 0


def test_per_round_pairing_differs_from_ratio_of_medians():
    runs = {REFERENCE: [_run(REFERENCE, 10), _run(REFERENCE, 40), _run(REFERENCE, 40)],
            "native_gates": [_run("native_gates", 100), _run("native_gates", 100), _run("native_gates", 400)]}
    native = {r["impl"]: r for r in combine_rounds(runs, list(runs))}["native_gates"]
    assert native["speedup"] == 10  # rounds 10x, 2.5x, 10x; the ratio of medians would be 100 / 40


def test_failed_runs_are_reported_not_combined():
    runs = {REFERENCE: [_run(REFERENCE, 10)], "lightning_adjoint": [{"impl": "lightning_adjoint", "error": "boom"}]}
    rows = {r["impl"]: r for r in combine_rounds(runs, list(runs))}
    assert rows["lightning_adjoint"]["error"] == "boom" and "speedup" not in rows["lightning_adjoint"]


@pytest.mark.parametrize("args, message", [(["--rounds", "0"], "--rounds must be at least 1"),
                                           (["--cases", "4,2"], "--cases takes n,L,B triples")])
def test_bad_arguments_are_one_line(tmp_path, args, message):
    result = run_cli(["bench", *args], cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@HEAVY
def test_small_bench_writes_table_and_agrees_with_pennylane(tmp_path, cli):
    # the bench itself in this process; it times each implementation in a process of its own (a
    # new interpreter per implementation and round: one round, how rounds combine is tested above)
    result = cli(["bench", "--cases", "3,1,8", "--impls", "native_gates", "--rounds", "1", "--min-seconds", "0.05",
                  "--out", str(tmp_path / "b")])
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "b" / "bench.json").read_text())
    rows = {r["impl"]: r for r in data["results"]}
    assert set(rows) == {REFERENCE, "native_gates"}
    assert len(rows["native_gates"]["rounds"]) == 1 and rows["native_gates"]["speedup"] > 0
    assert rows["native_gates"]["max_error"] < 1e-12
    assert "| native_gates | 3 | 1 | 8 |" in (tmp_path / "b" / "bench.md").read_text()


@HEAVY
def test_bench_times_a_circuit_of_your_own(tmp_path, cli):
    (tmp_path / "mine.yaml").write_text("embedding: iqp\nlayers: [{gate: CRY, wires: ring}]\n")
    result = cli(["bench", "--circuit", "mine.yaml", "--observables", "Z0 Z1", "probs", "--cases", "3,1,8",
                  "--impls", "native_auto", "torchlayer_loop", "--rounds", "1", "--min-seconds", "0.05",
                  "--out", str(tmp_path / "b")])
    assert result.returncode == 0, result.stderr
    rows = {r["impl"]: r for r in json.loads((tmp_path / "b" / "bench.json").read_text())["results"]}
    assert set(rows) == {REFERENCE, "native_auto"}  # the per-sample loop runs the built-in circuit only
    assert rows["native_auto"]["max_error"] < 1e-12  # against PennyLane running the same circuit


OPAQUE = """
import pennylane as qml

class Spin(qml.operation.Operation):
    num_wires = 1
    num_params = 1

    @staticmethod
    def compute_matrix(theta):
        return qml.RY.compute_matrix(theta)

def circuit(inputs, weights):
    qml.AngleEmbedding(inputs, wires=range(2))
    Spin(weights[0], wires=0)
    qml.CNOT(wires=[0, 1])
"""


@HEAVY
def test_bench_leaves_out_what_cannot_run_a_circuit_with_foreign_operations(tmp_path, cli):
    (tmp_path / "spin.py").write_text(OPAQUE)
    result = cli(["bench", "--circuit", f"{tmp_path / 'spin.py'}:circuit", "--weight-shapes", '{"weights": [1]}',
                  "--cases", "2,1,4", "--impls", "native_auto", "pennylane_shift", "--rounds", "1",
                  "--min-seconds", "0.05", "--out", str(tmp_path / "b")])
    assert "native_auto left out: the circuit has operations outside qhybrid's gate registry (Spin)" in result.stdout
    assert "pennylane_shift left out: Spin has no parameter-shift rule" in result.stdout
    # nothing asked for is left to time: the reference alone is no bench
    assert result.returncode == 2 and "nothing of --impls native_auto pennylane_shift can run here" in result.stderr
    assert not (tmp_path / "b").exists()


@HEAVY
def test_the_issue_command_without_jax_leaves_it_out_in_one_line_and_runs_the_rest(tmp_path, cli, monkeypatch):
    # issue 15's command, one small case. None in sys.modules makes `import jax` fail as it
    # does where jax is not installed (CI), also where it is
    monkeypatch.setitem(sys.modules, "jax", None)
    result = cli(["bench", "--impls", "native", "pennylane_jax", "pennylane_broadcast", "--threads", "1",
                  "--cases", "3,1,8", "--rounds", "1", "--min-seconds", "0.05", "--out", str(tmp_path / "b")])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    notes = [line for line in result.stdout.splitlines() if "left out" in line]
    assert notes == ["pennylane_jax left out: jax is not installed (pip install 'qhybrid[bench]')"]
    data = json.loads((tmp_path / "b" / "bench.json").read_text())
    rows = {r["impl"]: r for r in data["results"]}
    assert set(rows) == {REFERENCE, "native"} and rows["native"]["max_error"] < 1e-12
    assert rows["native"]["strategy"] in ("compact", "fused", "gates")  # what the automatic strategy picked for B=8
    assert data["meta"]["threads"] == 1 and {r["threads"] for r in rows.values()} == {1}
    assert "jax" not in data["meta"]
    table = (tmp_path / "b" / "bench.md").read_text()
    assert f"| native (auto: {rows['native']['strategy']}) | 3 | 1 | 8 | 1 |" in table


@HEAVY
def test_pennylane_jax_agrees_with_pennylane_and_reports_its_compile_time(tmp_path, cli):
    pytest.importorskip("jax")  # an optional extra (qhybrid[bench]); CI does not install it
    result = cli(["bench", "--cases", "3,1,8", "--impls", "pennylane_jax", "--threads", "1", "--rounds", "1",
                  "--min-seconds", "0.05", "--out", str(tmp_path / "b")])
    assert result.returncode == 0, result.stderr
    rows = {r["impl"]: r for r in json.loads((tmp_path / "b" / "bench.json").read_text())["results"]}
    jax_row = rows["pennylane_jax"]
    assert "error" not in jax_row and jax_row["max_error"] < 1e-12 and jax_row["threads"] == 1
    assert jax_row["compile_s"] > 0 and "compile_s" not in rows[REFERENCE]


@pytest.mark.parametrize("args, message", [
    (["--threads", "0"], "--threads 0 is not a count of threads"),
    (["--threads", "99999999999"], "--threads 99999999999 is not a count of threads"),
    (["--min-seconds", "0"], "--min-seconds 0 is not a positive number of seconds"),
    (["--timeout", "inf"], "--timeout inf is not a positive number of seconds"),
    (["--cap-seconds", "-1"], "--cap-seconds -1 is not a positive number of seconds"),
    (["--noise", "--impls", "native"], "--noise times steps under noise, and native is noiseless"),
    (["--threads", "abc"], "argument --threads: invalid int value: 'abc'"),
])
def test_a_bad_option_is_one_line_before_anything_is_timed(cli, args, message):
    one_line(cli(["bench", *args]), message)


def test_an_earlier_bench_folder_is_never_overwritten_and_a_file_is_no_folder(cli, tmp_path):
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "bench.json").write_text("{}")
    one_line(cli(["bench", "--out", str(earlier)]), "already holds bench.json of an earlier bench")
    assert (earlier / "bench.json").read_text() == "{}"
    (tmp_path / "afile").write_text("x")
    one_line(cli(["bench", "--out", str(tmp_path / "afile")]), "is a file, not a folder")


def test_nothing_asked_for_that_can_run_is_one_line(cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "jax", None)  # as where jax is not installed
    result = cli(["bench", "--impls", "pennylane_jax", "--cases", "3,1,8", "--out", str(tmp_path / "b")])
    assert result.returncode == 2 and "nothing of --impls pennylane_jax can run here" in result.stderr
    assert not (tmp_path / "b").exists()


def test_a_circuit_that_cannot_compile_is_one_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("layers: [{gate: CNOT, wires: [0, 7]}]\n")
    result = run_cli(["bench", "--circuit", "bad.yaml", "--cases", "3,1,8"], cwd=tmp_path)
    assert result.returncode == 2 and "is not 2 distinct wire(s)" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_allocator_setting_is_applied_once_and_can_be_left_alone():
    code = "from qhybrid.allocator import retain_freed_memory as r; print(r(), r())"
    default = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={"QHYBRID_MALLOC": "default", "PATH": ""})
    assert default.stdout.split() == ["False", "False"], default.stderr
    applied = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if sys.platform.startswith("linux") and "glibc" in " ".join(__import__("platform").libc_ver()):
        assert applied.stdout.split() == ["True", "True"], applied.stderr
