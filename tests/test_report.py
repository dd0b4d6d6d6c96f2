"""qhybrid report: one table for a sweep (runs, baselines, best, failures), CSV, Markdown and
a self-contained HTML page whose images decode; best runs and baselines compared per data set
only; user text printed literally everywhere; bad folders as one line or one warning."""

from __future__ import annotations

import base64
import errno
import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from helpers import fast, run_cli
from helpers.scheduling import HEAVY

from qhybrid import report, report_pages

FAST = fast("baselines=[logreg,svc]", keep=["plots"])  # the report shows the baselines and figures of each run


class Page(HTMLParser):
    """The report page's table cells and embedded images."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self.images: list[bytes] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._in_cell = True
            self.rows[-1].append("")
        elif tag == "img":
            src = attrs["src"]
            assert src.startswith("data:image/png;base64,")  # embedded, nothing fetched
            self.images.append(base64.b64decode(src.split(",", 1)[1], validate=True))

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data


@HEAVY
def test_a_sweep_with_a_failing_job_is_reported_whole(tmp_path, broken_data_conf, cli):
    sweep = tmp_path / "sweep"
    # data=broken's file has one class, found when the job reads it: the other jobs must still finish
    result = cli(["train", "--config-dir", str(broken_data_conf), "-m", "model=g0",
                  "data=iris_binary,breast_cancer,broken", *FAST, f"hydra.sweep.dir={sweep}"])
    assert result.returncode == 1 and "1 job(s) failed" in result.stderr and "single class" in result.stderr
    report = cli(["report", str(sweep)])
    assert report.returncode == 0, report.stdout + report.stderr
    assert "logreg (baseline)" in report.stdout
    assert "failed: 2" in report.stdout and "single class" in report.stdout
    # one run on each of two data sets: neither is "best" of anything
    assert "★ best" not in report.stdout and "no run is marked best by roc_auc" in report.stdout

    table = pd.read_csv(sweep / "report.csv")
    finished = table[table["error"].isna()]
    assert sorted(finished["model"]) == ["g0", "g0", "logreg", "logreg", "svc", "svc"]
    assert sorted(finished["data"].unique()) == ["breast_cancer", "iris_binary"]
    assert finished["best"].sum() == 0
    hybrids = finished[~finished["baseline"].astype(bool)]
    for run in ("0", "1"):  # the numbers are the runs' own
        metrics = json.loads((sweep / run / "metrics.json").read_text())
        row = hybrids[hybrids["run"].astype(str) == run].iloc[0]
        assert row["accuracy_mean"] == metrics["summary"]["accuracy"]["mean"]
        assert row["backend"] == metrics["backend"]["name"]
    failed = table[table["error"].notna()]
    assert list(failed["run"].astype(str)) == ["2"] and "single class" in failed["error"].iloc[0]

    markdown = (sweep / "report.md").read_text()
    assert "| 0 | g0" in markdown and "## Failed jobs" in markdown

    page = Page()
    page.feed((sweep / "report.html").read_text())
    header, *rows = page.rows
    assert header[:2] == ["run", "model"] and len(rows) == 6
    assert not any("★ best" in r[1] for r in rows) and sum("(baseline)" in r[1] for r in rows) == 4
    # the comparison plots and each run's ROC, PR, confusion matrix and learning curves, all real PNGs
    assert len(page.images) == 2 + 2 * 4
    assert all(image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) > 1000 for image in page.images)


def test_report_errors_are_one_line(tmp_path, cli):
    # the installed command once (exit code and stderr of a real process), then in this process
    missing = run_cli(["report", str(tmp_path / "nowhere")], cwd=tmp_path)
    assert missing.returncode == 2 and "no such folder" in missing.stderr and len(missing.stderr.splitlines()) == 1
    assert cli(["report", str(tmp_path / "nowhere")]) == missing
    empty = cli(["report", str(tmp_path)])
    assert empty.returncode == 2 and "holds no run folders" in empty.stderr
    bad = cli(["report", str(tmp_path), "metrics=banana"])
    assert bad.returncode == 2 and "banana" in bad.stderr


# -- run folders written from metrics.json alone (the report only reads folders) ----------------

def write_run(folder: Path, scores: dict, baselines: dict | None = None, data: str = "iris_binary",
              model: str = "g0", overrides: tuple = (), hydra: bool = True) -> Path:
    """A run folder as qhybrid train leaves it. ``scores``: {metric: (mean, std)}; a data set's
    name in .hydra/config.yaml (a CLI run) or in metrics.json's data block (hydra=False)."""

    def summary(values: dict) -> dict:
        return {name: {"mean": mean, "std": std} for name, (mean, std) in values.items()}

    metrics = {"summary": summary(scores), "model": {"name": model, "n_parameters": 42},
               "timing": {"train_seconds": 3.0, "total_seconds": 4.0}, "backend": {"name": "native"},
               "cv": {"name": "stratified_kfold", "n_folds": 5}, "classes": ["no", "yes"], "n_samples": 100,
               "n_features": 4, "baselines": {name: {"summary": summary(values), "n_parameters": 5,
                                                     "folds": [{"train_seconds": 0.1}] * 5}
                                              for name, values in (baselines or {}).items()}}
    folder.mkdir(parents=True)
    if hydra:
        (folder / ".hydra").mkdir()
        (folder / ".hydra" / "config.yaml").write_text(json.dumps({"data": {"name": data}}))
        (folder / ".hydra" / "overrides.yaml").write_text(json.dumps(list(overrides)))
    else:
        metrics["data"] = {"name": data}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def report_of(folder: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = report.run([str(folder), *args])
    out, err = capsys.readouterr()
    return code, out, err


def figures_of(monkeypatch) -> list:
    """Every matplotlib figure saved from now on, to read its axes after it is drawn."""
    from matplotlib.figure import Figure

    saved, savefig = [], Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (saved.append(fig), savefig(fig, *a, **k))[1])
    return saved


RED = (0.8196, 0.2863, 0.3569)  # the best run's bar


def bar_colors(fig) -> list[tuple]:
    return [tuple(round(c, 4) for c in patch.get_facecolor()[:3]) for patch in fig.axes[0].patches]


@pytest.mark.parametrize("hydra", [True, False], ids=["cli-run", "api-run"])
def test_a_lone_run_that_its_baselines_beat_is_not_best_and_the_report_says_so(tmp_path, capsys, monkeypatch, hydra):
    run = write_run(tmp_path / "wine", {"roc_auc": (0.946, 0.031)}, hydra=hydra, model="g10",
                    baselines={"logreg": {"roc_auc": (0.998, 0.002)}, "svc": {"roc_auc": (0.999, 0.001)},
                               "rf": {"roc_auc": (0.9, 0.05)}})
    figures = figures_of(monkeypatch)
    code, out, _ = report_of(run, capsys)
    assert code == 0
    said = ("iris_binary: classical baselines score higher than the best hybrid by roc_auc: "
            "svc 0.9990 ± 0.0010, logreg 0.9980 ± 0.0020 vs g10 (run wine) 0.9460 ± 0.0310")
    assert said in out and "★ best" not in out and "rf" not in said
    assert said.replace("_", "\\_") in (run / "report.md").read_text()
    assert said in _text_of(run / "report.html")
    assert not pd.read_csv(run / "report.csv")["best"].any()
    assert RED not in bar_colors(figures[0])  # no red bar: nothing is best


def _text_of(page: Path) -> str:
    import html

    return html.unescape(page.read_text())


def test_best_is_chosen_per_data_set_and_never_across_data_sets(tmp_path, capsys, monkeypatch):
    sweep = tmp_path / "sweep"
    write_run(sweep / "0", {"roc_auc": (0.99, 0.01)}, data="iris_binary", baselines={"logreg": {"roc_auc": (0.9, 0.1)}})
    write_run(sweep / "1", {"roc_auc": (0.80, 0.05)}, data="breast_cancer", model="g1",
              baselines={"logreg": {"roc_auc": (0.7, 0.1)}})
    write_run(sweep / "2", {"roc_auc": (0.85, 0.05)}, data="breast_cancer", model="g2",
              baselines={"logreg": {"roc_auc": (0.7, 0.1)}})
    figures = figures_of(monkeypatch)
    code, out, _ = report_of(sweep, capsys)
    assert code == 0
    table = pd.read_csv(sweep / "report.csv")
    assert list(table[table["best"]]["run"].astype(str)) == ["2"]  # not run 0, the highest on another data set
    assert "best run by roc_auc on breast_cancer: g2 (run 2) 0.8500 ± 0.0500 (of 2 runs)" in out
    assert "on iris_binary" not in out
    assert bar_colors(figures[0]).count(RED) == 1


def test_runs_that_all_tie_are_not_marked_best(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    for k in range(2):
        write_run(sweep / str(k), {"roc_auc": (1.0, 0.0)}, model=f"g{k}", baselines={"lr": {"roc_auc": (1.0, 0.0)}})
    write_run(sweep / "2", {"roc_auc": (0.9, 0.0)}, model="g2", data="iris")
    write_run(sweep / "3", {"roc_auc": (0.9, 0.0)}, model="g3", data="iris")
    write_run(sweep / "4", {"roc_auc": (0.8, 0.0)}, model="g4", data="iris")
    code, out, _ = report_of(sweep, capsys)
    assert code == 0 and "on iris_binary" not in out
    assert "best run by roc_auc on iris: g2 (run 2), g3 (run 3) 0.9000 ± 0.0000 (tied, of 3 runs)" in out
    assert sorted(pd.read_csv(sweep / "report.csv").query("best")["run"].astype(str)) == ["2", "3"]


def test_log_loss_is_better_lower(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    write_run(sweep / "0", {"log_loss": (0.30, 0.02)}, baselines={"logreg": {"log_loss": (0.10, 0.01)}})
    write_run(sweep / "1", {"log_loss": (0.20, 0.02)}, model="g1", baselines={"logreg": {"log_loss": (0.10, 0.01)}})
    code, out, _ = report_of(sweep, capsys, "sort=log_loss")
    assert code == 0 and "log_loss (mean ± std)" in out  # the column the best is chosen by is shown
    assert list(pd.read_csv(sweep / "report.csv").query("best")["run"].astype(str)) == ["1"]
    assert ("iris_binary: classical baselines score lower (better) than the best hybrid by log_loss: "
            "logreg 0.1000 ± 0.0100 vs g1 (run 1) 0.2000 ± 0.0200") in out


def error_bar_ends(ax) -> list[float]:
    from matplotlib.container import BarContainer

    bars = next(c for c in ax.containers if isinstance(c, BarContainer))
    return [y for line in bars.errorbar.lines[1] for y in line.get_ydata()]


def test_error_bars_stay_within_the_metrics_bounds_and_bars_start_at_zero(tmp_path, capsys, monkeypatch):
    sweep = tmp_path / "sweep"
    write_run(sweep / "0", {"roc_auc": (0.97, 0.10), "log_loss": (0.2, 0.3)},
              baselines={"lr": {"roc_auc": (0.96, 0.2)}})
    write_run(sweep / "1", {"roc_auc": (0.95, 0.01), "log_loss": (0.3, 0.1)})
    figures = figures_of(monkeypatch)
    assert report_of(sweep, capsys, "metrics=roc_auc,log_loss")[0] == 0
    bounded, loss = (fig.axes[0] for fig in figures[:2])
    assert bounded.get_ylim()[0] == 0 and bounded.get_ylim()[1] >= 1 and loss.get_ylim()[0] == 0
    caps = error_bar_ends(bounded)
    assert max(caps) == pytest.approx(1.0) and min(caps) == pytest.approx(0.76)  # 0.97 + 0.1 clipped; 0.96 - 0.2
    loss_caps = error_bar_ends(loss)
    assert min(loss_caps) == pytest.approx(0.0) and max(loss_caps) == pytest.approx(0.5)  # 0.2 ± 0.3: no loss < 0


HOSTILE = "<script>alert(1)</script>"


def test_user_text_is_literal_in_markdown_html_and_the_terminal(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    folder = sweep / HOSTILE  # a folder named <script>alert(1)< holding one named script>
    write_run(folder, {"roc_auc": (0.9, 0.1)}, overrides=(f"model={HOSTILE}", "x=a|b", "y=[red]z[/]", "z=$1_$2"),
              data="*star*_|")
    write_run(sweep / "[/]", {"roc_auc": (0.8, 0.1)}, overrides=("seed=1",), data="*star*_|")
    code, out, err = report_of(sweep, capsys)
    assert code == 0, err
    assert f"model={HOSTILE}" in out and "y=[red]z[/]" in out and "[/]" in out  # rich markup printed as written
    text = (sweep / "report.md").read_text()
    assert "<script" not in text and "&lt;script&gt;" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    header_cells = rows[0].count(" | ")
    for line in rows:  # no unescaped | splits a cell
        assert line.replace("\\|", "").count(" | ") == header_cells, line
    assert "x=a\\|b" in text and "\\*star\\*\\_\\|" in text
    page = Page()
    page.feed((sweep / "report.html").read_text())
    assert any(f"model={HOSTILE}" in cell for row in page.rows for cell in row)  # escaped, so text again
    assert "<script>" not in (sweep / "report.html").read_text()


def test_a_metric_no_run_has_and_odd_numbers_are_reported_not_a_traceback(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    write_run(sweep / "0", {"roc_auc": (None, None), "accuracy": (0.9, None)})  # undefined on every fold
    write_run(sweep / "1", {"roc_auc": (None, None), "accuracy": (0.8, 0.1)}, model="g1")
    metrics = json.loads((sweep / "1" / "metrics.json").read_text())
    metrics["summary"]["f1"] = {"mean": "high", "std": float("nan")}  # hand-edited: not a number
    metrics["timing"]["train_seconds"] = None
    (sweep / "1" / "metrics.json").write_text(json.dumps(metrics))
    code, out, err = report_of(sweep, capsys, "sort=sensitivity")
    assert code == 0, err
    assert "iris_binary: no hybrid run has a value of sensitivity" in out
    assert "no classical baseline ran beside the hybrid" not in out  # nothing to compare by sensitivity
    assert "0.9000 ± n/a" in out and "★ best" not in out
    table = pd.read_csv(sweep / "report.csv")
    assert table["roc_auc_mean"].isna().all() and table["f1_mean"].isna().all()
    code, out, _ = report_of(sweep, capsys, "sort=accuracy")
    assert "best run by accuracy on iris_binary: g0 (run 0)" in out
    assert "iris_binary: no classical baseline ran beside the hybrid" in out


def test_runs_on_two_csv_files_are_two_data_sets(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    for k, path in enumerate(["a.csv", "b.csv"]):
        write_run(sweep / str(k), {"roc_auc": (0.9 - k / 10, 0.01)}, hydra=False, model=f"g{k}")
        metrics = json.loads((sweep / str(k) / "metrics.json").read_text())
        metrics["data"] = {"name": "csv", "path": path, "target": "label"}
        (sweep / str(k) / "metrics.json").write_text(json.dumps(metrics))
    code, out, _ = report_of(sweep, capsys)
    assert code == 0 and "★ best" not in out
    assert sorted(pd.read_csv(sweep / "report.csv")["data"]) == ["csv (path=a.csv)", "csv (path=b.csv)"]


@pytest.mark.parametrize("content", ['{"accuracy": 0.9}', '{"summary": {"accuracy": {"mean": 0.9', "[1, 2]",
                                     '{"summary": {}, "model": {}, "timing": {}}'],
                         ids=["another-tool", "cut-short", "a-list", "no-model-name"])
def test_a_metrics_json_qhybrid_did_not_write(tmp_path, capsys, content):
    other = tmp_path / "other"
    other.mkdir()
    (other / "metrics.json").write_text(content)
    code, out, err = report_of(other, capsys)  # the report's root: one line, naming the file and the fix
    assert code == 2 and len(err.splitlines()) == 1 and str(other / "metrics.json") in err and "Fix:" in err
    assert not (other / "report.csv").exists()

    sweep = tmp_path / "sweep"
    write_run(sweep / "0", {"roc_auc": (0.9, 0.1)})
    (sweep / "1").mkdir()
    (sweep / "1" / "metrics.json").write_text(content)
    code, out, err = report_of(sweep, capsys)  # inside a sweep: one warning, the rest reported
    assert code == 0 and "Traceback" not in err
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and str(sweep / "1" / "metrics.json") in warnings[0]
    assert "0.9000 ± 0.1000" in out and "failed: 1" not in out
    assert "Skipped folders" in (sweep / "report.md").read_text()


def test_a_report_folder_that_cannot_be_written_is_one_line(tmp_path, capsys, monkeypatch, cli):
    run = write_run(tmp_path / "run", {"roc_auc": (0.9, 0.1)})
    (run / "report.csv").mkdir()  # a folder where the file goes: fails for root too
    result = cli(["report", str(run)])
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert f"cannot write {run / 'report.csv'}" in result.stderr and "Fix:" in result.stderr
    (run / "report.csv").rmdir()

    from qhybrid import io

    def read_only(path, text):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(io, "write_text", read_only)
    code, _, err = report_of(run, capsys)
    assert code == 2 and err.startswith("qhybrid: error: cannot write") and "Permission denied" in err
    assert "make the folder writable" in err and len(err.splitlines()) == 1


def test_the_comparison_chart_draws_dollar_labels(tmp_path):
    rows = [{"run": "$0_$50k", "model": "$<=50k", "baseline": False, "data": "$x$", "best": True,
             "roc_auc_mean": 0.9, "roc_auc_std": 0.05},
            {"run": "$0_$50k", "model": "svc", "baseline": True, "data": "$x$", "roc_auc_mean": 0.8,
             "roc_auc_std": None}]
    png = report_pages.comparison_plot(rows, "roc_auc")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    import io as _io

    import matplotlib.image

    assert matplotlib.image.imread(_io.BytesIO(png)).shape[0] > 100


def test_a_file_of_the_users_named_like_the_report_is_kept(tmp_path, capsys):
    run = write_run(tmp_path / "run", {"roc_auc": (0.9, 0.1)})
    assert report_of(run, capsys)[0] == 0
    assert report_of(run, capsys)[0] == 0  # the report's own files are replaced
    (run / "report.md").write_text("my notes on this run\n")
    code, _, err = report_of(run, capsys)
    assert code == 2 and f"{run / 'report.md'} exists and was not written by qhybrid report" in err
    assert (run / "report.md").read_text() == "my notes on this run\n"


def test_one_path_read_with_other_contents_is_two_data_sets(tmp_path, capsys):
    """Runs record their files' SHA-256 in the data key: the same path rewritten between two
    runs (labels shuffled, rows added) is another data set, never compared."""
    sweep = tmp_path / "sweep"
    for k in range(3):
        write_run(sweep / str(k), {"roc_auc": (0.9 - k / 10, 0.01)}, hydra=False, model=f"g{k}")
        metrics = json.loads((sweep / str(k) / "metrics.json").read_text())
        content = "first" if k < 2 else "rewritten"
        metrics["data"] = {"name": "csv", "files": {"data.path": "/data/train.csv"},
                           "key": f"name=csv path=/data/train.csv path_sha256={content}"}
        (sweep / str(k) / "metrics.json").write_text(json.dumps(metrics))
    code, out, _ = report_of(sweep, capsys)
    table = pd.read_csv(sweep / "report.csv")
    assert code == 0 and table["data"].nunique() == 2
    best = table[table["best"].astype(bool)]
    assert list(best["run"].astype(str)) == ["0"]  # the best of the two runs on the first contents only
