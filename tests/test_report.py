"""qhybrid report: one table for a sweep (runs, baselines, best, failures), CSV, Markdown and
a self-contained HTML page whose images decode."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser

import pandas as pd
from conftest import run_cli

FAST = ["trainer.max_epochs=2", "baselines=[logreg,svc]", "quantization=none"]


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


def test_a_sweep_with_a_failing_job_is_reported_whole(tmp_path):
    sweep = tmp_path / "sweep"
    # data=csv without data.path fails at validation: the other jobs must still finish and be reported
    result = run_cli(["train", "-m", "model=g0", "data=iris_binary,breast_cancer,csv", *FAST,
                      f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert result.returncode == 1 and "1 job(s) failed" in result.stderr and "data.path is required" in result.stderr
    report = run_cli(["report", str(sweep)], cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "logreg (baseline)" in report.stdout and "★ best" in report.stdout
    assert "failed: 2" in report.stdout and "data.path is required" in report.stdout

    table = pd.read_csv(sweep / "report.csv")
    finished = table[table["error"].isna()]
    assert sorted(finished["model"]) == ["g0", "g0", "logreg", "logreg", "svc", "svc"]
    assert finished["best"].sum() == 1
    best = finished[finished["best"]].iloc[0]
    hybrids = finished[~finished["baseline"].astype(bool)]
    assert best["roc_auc_mean"] == hybrids["roc_auc_mean"].max()
    for run in ("0", "1"):  # the numbers are the runs' own
        metrics = json.loads((sweep / run / "metrics.json").read_text())
        row = hybrids[hybrids["run"].astype(str) == run].iloc[0]
        assert row["accuracy_mean"] == metrics["summary"]["accuracy"]["mean"]
        assert row["backend"] == metrics["backend"]["name"]
    failed = table[table["error"].notna()]
    assert list(failed["run"].astype(str)) == ["2"] and "data.path is required" in failed["error"].iloc[0]

    markdown = (sweep / "report.md").read_text()
    assert "| 0 | g0" in markdown and "## Failed jobs" in markdown

    page = Page()
    page.feed((sweep / "report.html").read_text())
    header, *rows = page.rows
    assert header[:2] == ["run", "model"] and len(rows) == 6
    assert any("★ best" in r[1] for r in rows) and sum("(baseline)" in r[1] for r in rows) == 4
    # the comparison plots and each run's ROC, PR and learning curves, all real PNGs
    assert len(page.images) == 2 + 2 * 3
    assert all(image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) > 1000 for image in page.images)


def test_report_errors_are_one_line(tmp_path):
    missing = run_cli(["report", str(tmp_path / "nowhere")], cwd=tmp_path)
    assert missing.returncode == 2 and "no such folder" in missing.stderr and len(missing.stderr.splitlines()) == 1
    empty = run_cli(["report", str(tmp_path)], cwd=tmp_path)
    assert empty.returncode == 2 and "holds no run folders" in empty.stderr
    bad = run_cli(["report", str(tmp_path), "metrics=banana"], cwd=tmp_path)
    assert bad.returncode == 2 and "banana" in bad.stderr
