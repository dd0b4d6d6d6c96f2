"""`qhybrid predict`: saved models reproduce their fold's metrics in a fresh process, INT8
included; bad input and unsafe checkpoints are one clear line.

One g4 run (INT8 export on) serves every test; the fresh-process checks run the installed
command, the others run the command in this process."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from helpers import fast, run_cli, run_in_process
from helpers.scheduling import HEAVY

from qhybrid.data import load_dataset
from qhybrid.schema import BuiltinDataSpec


@pytest.fixture(scope="module")
def g4_run(tmp_path_factory):
    """g4 with its INT8 export, 5 folds (the tests use folds 0 to 4), no baselines."""
    tmp = tmp_path_factory.mktemp("g4")
    run = tmp / "run"
    result = run_in_process(["train", "model=g4", "data=breast_cancer", *fast(keep=["quantization", "cv.n_splits"]),
                             "quantization.latency_repeats=1", f"hydra.run.dir={run}"], cwd=tmp)
    assert result.returncode == 0, result.stderr
    return run


def _fold_csv(run, fold, path, drop=None, rename=None, extra=False):
    data = load_dataset(BuiltinDataSpec(name="breast_cancer"))
    rows = pd.read_csv(run / "predictions.csv").query("fold == @fold")["row"].to_numpy()
    table = pd.DataFrame(data.X[rows], columns=data.feature_names)
    table["target"] = [data.classes[i] for i in data.y[rows]]
    if drop:
        table = table.drop(columns=[drop])
    if rename:
        table = table.rename(columns=rename)
    if extra:
        table["zip code"] = 1.0
    table.to_csv(path, index=False)
    return path


@HEAVY
@pytest.mark.parametrize("checkpoint, key", [("fold_1_int8", "int8"), ("fold_1", None)])
def test_predict_in_a_fresh_process_reproduces_the_fold(g4_run, tmp_path, checkpoint, key):
    source = _fold_csv(g4_run, 1, tmp_path / "fold1.csv")
    out = tmp_path / "pred.csv"
    result = run_cli(["predict", f"run={g4_run}", f"input={source}", f"checkpoint={checkpoint}", f"output={out}"],
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    fold = json.loads((g4_run / "metrics.json").read_text())["folds"][1]
    stored = fold["int8"]["metrics"] if key else fold
    for name in ("accuracy", "roc_auc", "log_loss", "f1"):
        if key:  # integer matrix products: exactly
            assert printed[name] == stored[name], name
        else:  # float32 products may round differently with memory alignment (MKL): to rounding
            assert printed[name] == pytest.approx(stored[name], rel=1e-6), name
    table = pd.read_csv(out)
    assert list(table.columns) == ["prediction", "proba_benign", "proba_malignant"] and len(table) == fold["n_test"]


def test_int8_files_are_smaller_and_ensemble_averages(g4_run, tmp_path, cli):
    checkpoints = g4_run / "checkpoints"
    for k in range(5):
        assert (checkpoints / f"fold_{k}_int8.pt").stat().st_size < (checkpoints / f"fold_{k}.pt").stat().st_size
    source = _fold_csv(g4_run, 0, tmp_path / "fold0.csv")
    result = cli(["predict", f"run={g4_run}", f"input={source}", "ensemble=true", "checkpoint=int8",
                  f"output={tmp_path / 'p.csv'}"])
    assert result.returncode == 0 and "with 5 model(s)" in result.stdout


@pytest.mark.parametrize("change, message", [
    ({"drop": "mean radius"}, "lacks 1 feature column(s) the model needs: mean radius"),
    ({"rename": {"mean radius": "radius"}}, "has column(s) the model does not know: radius"),
    ({"extra": True}, "has column(s) the model does not know: zip code"),
])
def test_bad_columns_are_one_line(g4_run, tmp_path, change, message, cli):
    source = _fold_csv(g4_run, 0, tmp_path / "bad.csv", **change)
    result = cli(["predict", f"run={g4_run}", f"input={source}"])
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


class _Exploit:
    def __reduce__(self):
        return (print, ("pwned: code ran on load",))


def test_a_checkpoint_that_would_run_code_is_refused(g4_run, tmp_path, cli):
    evil = tmp_path / "evil"
    (evil / "checkpoints").mkdir(parents=True)
    (evil / "metrics.json").write_text((g4_run / "metrics.json").read_text())
    path = evil / "checkpoints" / "fold_0.pt"
    torch.save({"format_version": 1, "payload": _Exploit()}, path)
    source = _fold_csv(g4_run, 0, tmp_path / "x.csv")
    result = cli(["predict", f"run={evil}", f"input={source}", "checkpoint=fold_0"])
    assert result.returncode == 2 and "could run code" in result.stderr
    assert "pwned" not in result.stdout + result.stderr and "weights_only" not in result.stderr


def test_a_truncated_checkpoint_is_one_line(g4_run, tmp_path, cli):
    broken = tmp_path / "broken"
    (broken / "checkpoints").mkdir(parents=True)
    data = (g4_run / "checkpoints" / "fold_0.pt").read_bytes()
    (broken / "checkpoints" / "fold_0.pt").write_bytes(data[: len(data) // 2])
    source = _fold_csv(g4_run, 0, tmp_path / "x.csv")
    result = cli(["predict", f"run={broken}", f"input={source}", "checkpoint=fold_0"])
    assert result.returncode == 2 and "not a readable qhybrid checkpoint" in result.stderr
    assert "weights_only" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unknown_arguments_and_missing_run(tmp_path, cli):
    result = cli(["predict", "run=nowhere", "input=x.csv", "colour=blue"])
    assert result.returncode == 2 and "unknown argument 'colour=blue'" in result.stderr
    (tmp_path / "x.csv").write_text("a\n1\n")
    result = cli(["predict", "run=nowhere", "input=x.csv"])
    assert result.returncode == 2 and "is not a run folder" in result.stderr


def test_input_fold_uses_the_runs_own_rows(g4_run, tmp_path, cli):
    result = cli(["predict", f"run={g4_run}", "input=fold_3", "checkpoint=fold_3_int8",
                  f"output={tmp_path / 'p.csv'}"])
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    stored = json.loads((g4_run / "metrics.json").read_text())["folds"][3]["int8"]["metrics"]
    assert printed["roc_auc"] == stored["roc_auc"] and printed["log_loss"] == stored["log_loss"]


def test_init_from_refuses_an_int8_checkpoint(g4_run):
    from qhybrid.errors import QHybridError
    from qhybrid.training.finetune import load_initial

    with pytest.raises(QHybridError, match="INT8 checkpoint.*fold_0.pt"):
        load_initial(g4_run / "checkpoints" / "fold_0_int8.pt")


def test_a_layer_with_one_input_stays_float_in_the_int8_export_and_loads_back():
    import torch
    from torch import nn

    from qhybrid.training.quantize import int8_state_dict, load_int8_state_dict, quantize_int8

    def model():  # a single readout into the head: Linear(1, 3), which torchao's per-row scales cannot take
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 1), nn.Tanh(), nn.Linear(1, 3))

    X = torch.randn(16, 4)
    quantized = quantize_int8(model())
    assert isinstance(quantized[2].weight, nn.Parameter) and type(quantized[2].weight.data) is torch.Tensor
    assert torch.allclose(quantized(X), model()(X), atol=0.05)  # int8 rounding in the first layer only
    loaded = load_int8_state_dict(model(), int8_state_dict(quantized))
    assert torch.equal(loaded(X), quantized(X))
