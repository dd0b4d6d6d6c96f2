"""What `qhybrid report` writes: report.csv, report.md (every user text
escaped: no raw HTML, no Markdown), report.html (self-contained: images embedded) and the
comparison chart (bars from zero, error bars clipped to the metric's range, grouped by data
set). The rows and findings come from qhybrid.report.
"""

from __future__ import annotations

import base64
import csv
import html
import io as _io
import re
from typing import Any

import numpy as np

from qhybrid.errors import first_line
from qhybrid.report_runs import IMAGES, PNG_SIGNATURE, RunRecord
from qhybrid.report_table import by_data, display, headers
from qhybrid.training.metrics import REGISTRY, lower_is_better


def csv_text(rows: list[dict[str, Any]], failures: list[RunRecord], metrics: list[str]) -> str:
    columns = ["run", "model", "baseline", "tested_under", "best", "data", "overrides", "backend", "folds",
               *(f"{m}_{k}" for m in metrics for k in ("mean", "std")), "train_seconds", "parameters", "error"]
    records = [{**r, "best": bool(r.get("best"))} for r in rows]
    records += [{"run": f.label, "overrides": " ".join(f.overrides), "error": f.error} for f in failures]
    buffer = _io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return buffer.getvalue()


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]|#~])")
_LIST_MARKER = re.compile(r"^([-+]|\d+[.)])")


def md(text: Any, starts_line: bool = False) -> str:
    """User text as literal Markdown: one line, no raw HTML, no emphasis, links, code or table
    breaks; where it starts a line (a list item), no list marker either."""
    one_line = " ".join(str(text).split())  # a newline would end a table row
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(one_line, quote=False))  # & < > as entities
    if not starts_line:
        return escaped
    return _LIST_MARKER.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], escaped)


def _problem_lines(failures: list[RunRecord], skipped: list[RunRecord]) -> list[tuple[str, str]]:
    """(heading, line) for each failed job and skipped folder."""
    out = [("Failed jobs", f"{f.label} ({' '.join(f.overrides) or 'defaults'}): {f.error}") for f in failures]
    return out + [("Skipped folders", s.skipped or "") for s in skipped]


def markdown(rows: list[dict[str, Any]], failures: list[RunRecord], metrics: list[str], title: str,
             notes: list[str] = (), skipped: list[RunRecord] = ()) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(md(c) for c in cells) + " |"

    out = [f"# {md(title, True)}", ""] + [f"- {md(n, True)}" for n in notes] + ([""] if notes else [])
    out += [line(headers(metrics)), "| " + " | ".join(["---"] * len(headers(metrics))) + " |"]
    out += [line(display(r, metrics)) for r in rows]
    heading = None
    for section, text in _problem_lines(failures, list(skipped)):
        if section != heading:
            out += ["", f"## {section}", ""]
            heading = section
        out.append(f"- {md(text, True)}")
    return "\n".join(out) + "\n"


def _plotted(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """The rows with a value of ``metric``, data set by data set (so comparable bars stand together)."""
    order = {data: i for i, data in enumerate(by_data(rows))}
    shown = [r for r in rows if r.get(f"{metric}_mean") is not None]
    return sorted(shown, key=lambda r: order[r["data"]])


def _error_bars(shown: list[dict[str, Any]], metric: str):
    """Means and asymmetric ± std bars within the metric's range: [0, 1], [0, inf) for a loss or
    an error, (-inf, 1] for R²."""
    means = np.array([r[f"{metric}_mean"] for r in shown], dtype=float)
    stds = np.array([r[f"{metric}_std"] or 0.0 for r in shown], dtype=float)
    lowest, highest = REGISTRY[metric].bounds
    low, high = np.clip(means - stds, lowest, highest), np.clip(means + stds, lowest, highest)
    # a hand-edited mean outside [0, 1] keeps its bar, with no bar past the bound
    return means, np.maximum(np.vstack([means - low, high - means]), 0.0), np.maximum(high, means)


def comparison_plot(rows: list[dict[str, Any]], metric: str) -> bytes:
    """The metric's mean ± std per run (hybrids) and per baseline, as PNG bytes."""
    # lazy: `qhybrid report --help` imports this module and must not load matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from qhybrid.training.plots import plain_text

    shown = _plotted(rows, metric)
    several = len({r["data"] for r in shown}) > 1
    with plain_text():  # run labels, data and model names are text, never mathtext
        fig = Figure(figsize=(min(max(6.0, 0.5 * len(shown) + 2), 180.0), 4.8))
        ax = fig.add_subplot(1, 1, 1)
        if shown:
            means, yerr, high = _error_bars(shown, metric)
            colors = ["#9aa5b1" if r["baseline"] else ("#d1495b" if r.get("best") else "#00798c") for r in shown]
            ax.bar(range(len(shown)), means, yerr=yerr, color=colors, capsize=3)
            labels = [(f"{r['data']} · " if several else "") + f"{r['run']}: {r['model']}"
                      + (" (baseline)" if r["baseline"] else "") for r in shown]
            ax.set_xticks(range(len(shown)), labels=labels, rotation=60, ha="right", fontsize="small")
            for k in range(1, len(shown)):  # a rule between data sets: bars across it are not compared
                if shown[k]["data"] != shown[k - 1]["data"]:
                    ax.axvline(k - 0.5, color="#444", lw=0.8, ls=":")
            top = float(high.max()) * 1.1 if lower_is_better(metric) else max(1.08, float(high.max()) + 0.05)
            bottom = float((means - yerr[0]).min())  # below 0 only for a negative R²
            ax.set_ylim(min(0.0, bottom * 1.1), max(top, 1e-3))  # bars start at 0: small looks small
        else:
            ax.text(0.5, 0.5, f"no run has a value of {metric}", ha="center", va="center", transform=ax.transAxes)
        legend = [Patch(color="#00798c", label="hybrid run"), Patch(color="#9aa5b1", label="classical baseline")]
        if any(r.get("best") for r in shown):
            legend.insert(1, Patch(color="#d1495b", label="best hybrid of its data set (of 2 or more runs)"))
        ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        direction = "lower" if lower_is_better(metric) else "higher"
        ax.set(ylabel=f"{metric} (mean ± std over folds)",
               title=f"{metric} by run ({direction} is better; compare runs of the same data set only)")
        buffer = _io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _run_images(record: RunRecord) -> list[str]:
    """The run's own figures that are real PNGs (a missing or unreadable one is left out)."""
    images = []
    for name in IMAGES:
        try:
            data = (record.folder / name).read_bytes()
        except OSError:
            continue
        if data.startswith(PNG_SIGNATURE):
            images.append(_img(data, f"{record.label} {name}"))
    return images


def _comparison_images(rows: list[dict[str, Any]], metrics: list[str], warn) -> list[str]:
    parts = []
    for metric in metrics[:2]:
        try:
            parts.append(_img(comparison_plot(rows, metric), f"{metric} by run"))
        except Exception as err:  # noqa: BLE001 - a figure is never worth the report: the table has the numbers
            problem = f"the {metric} comparison plot could not be drawn ({type(err).__name__}: {first_line(err, 200)})"
            warn(problem)
            parts.append(f"<p>{html.escape(problem)}</p>")
    return parts


def html_page(records: list[RunRecord], rows: list[dict[str, Any]], failures: list[RunRecord], metrics: list[str],
              title: str, notes: list[str] = (), skipped: list[RunRecord] = (), warn=lambda line: None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers(metrics))
    body = []
    for r in rows:
        css = "baseline" if r["baseline"] else ("best" if r.get("best") else "")
        body.append(f'<tr class="{css}">' + "".join(f"<td>{html.escape(c)}</td>" for c in display(r, metrics))
                    + "</tr>")
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if notes:
        parts.append('<ul id="notes">' + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    parts += [f'<table id="runs"><thead><tr>{head}</tr></thead><tbody>', *body, "</tbody></table>"]
    problems = _problem_lines(failures, list(skipped))
    for section in dict.fromkeys(s for s, _ in problems):
        ident = "failures" if section == "Failed jobs" else "skipped"
        parts.append(f'<h2>{section}</h2><ul id="{ident}">' + "".join(
            f"<li>{html.escape(text)}</li>" for s, text in problems if s == section) + "</ul>")
    parts.append("<h2>Comparison</h2>")
    parts += _comparison_images(rows, metrics, warn)
    for record in records:
        if record.metrics is None:
            continue
        parts.append(f"<h2>{html.escape(record.label)} ({html.escape(' '.join(record.overrides) or 'defaults')})"
                     f"</h2><div class=\"images\">{''.join(_run_images(record))}</div>")
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:0.9em}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:nth-child(-n+4){text-align:left}"
             "tr.baseline{color:#667}tr.best{background:#fde8ea;font-weight:bold}img{max-width:46%;margin:4px}")
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
