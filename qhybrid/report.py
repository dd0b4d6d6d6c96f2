"""`qhybrid report <run or sweep folder> [metrics=roc_auc,accuracy,f1] [sort=<metric>]`.

One table for a run or a whole sweep: each run's overrides, the backend it used, mean ±
std of the chosen metrics over its folds, training time and parameter counts, with its
classical baselines as rows of their own right below it; the best run (first metric) is
marked, and jobs that failed are listed with their error line. Written to the terminal
(rich), ``report.csv``, ``report.md`` and a self-contained ``report.html`` (images embedded:
a comparison plot with error bars, each run's ROC, PR and learning curves).
"""

from __future__ import annotations

import base64
import html
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from qhybrid.errors import QHybridError

USAGE = "usage: qhybrid report <run or sweep folder> [metrics=roc_auc,accuracy,f1] [sort=<metric>]"
DEFAULT_METRICS = ("roc_auc", "accuracy", "f1")
IMAGES = ("roc.png", "pr.png", "learning_curves.png", "trading_returns.png")


@dataclass
class RunRecord:
    folder: Path
    label: str  # the folder relative to the report's root
    overrides: list[str]
    metrics: Optional[dict[str, Any]] = None  # metrics.json; None for a failed job
    error: Optional[str] = None
    rows: list[dict[str, Any]] = field(default_factory=list)  # the hybrid's row, then one per baseline


def find_runs(root: Path) -> list[RunRecord]:
    """Every run folder under ``root`` (itself included): a folder with a .hydra/ config or
    a metrics.json. A folder with a config but no metrics.json is a job that failed (or is
    still running): its last error line comes from its log."""
    folders = sorted({p.parent for p in root.rglob("metrics.json")} | {p.parent for p in root.rglob(".hydra")},
                     key=_natural)
    records = []
    for folder in folders:
        label = str(folder.relative_to(root)) if folder != root else folder.name
        record = RunRecord(folder, label, _overrides(folder))
        try:
            record.metrics = json.loads((folder / "metrics.json").read_text())
        except FileNotFoundError:
            record.error = _error_line(folder)
        except (OSError, ValueError) as err:
            record.error = f"metrics.json unreadable: {err}"
        records.append(record)
    return records


def _natural(path: Path) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.parts)


def _overrides(folder: Path) -> list[str]:
    try:
        from omegaconf import OmegaConf

        return [str(o) for o in OmegaConf.load(folder / ".hydra" / "overrides.yaml")]
    except (OSError, ValueError, TypeError):
        return []


def _drop_common_overrides(records: list[RunRecord]) -> list[str]:
    """Overrides every run shares say nothing about how they differ: keep them out of the
    table (the title names them). Returns the shared ones."""
    if len(records) < 2:
        return []
    common = set(records[0].overrides).intersection(*(r.overrides for r in records[1:]))
    for record in records:
        record.overrides = [o for o in record.overrides if o not in common]
    return sorted(common)


def _error_line(folder: Path) -> str:
    """The last ERROR line of the job's log (qhybrid writes the one-line error there)."""
    for log in sorted(folder.glob("*.log")):
        errors = [line for line in log.read_text(errors="replace").splitlines() if "[ERROR]" in line]
        if errors:
            return errors[-1].split("[ERROR]", 1)[1].strip()
    return "no metrics.json and no error in the log: the job failed before writing, or is still running"


def _stat(summary: dict[str, Any], name: str) -> tuple[Optional[float], Optional[float]]:
    stat = summary.get(name) or {}
    return stat.get("mean"), stat.get("std")


def table_rows(records: list[RunRecord], metrics: list[str]) -> list[dict[str, Any]]:
    """Flat rows: per finished run the hybrid, then its baselines; failed jobs last."""
    rows = []
    for record in records:
        if record.metrics is None:
            continue
        m = record.metrics
        common = {"run": record.label, "overrides": " ".join(record.overrides), "data": _data_name(record),
                  "backend": (m.get("backend") or {}).get("name", ""), "folds": (m.get("cv") or {}).get("n_folds")}
        hybrid = {**common, "model": m["model"]["name"], "baseline": False,
                  "parameters": m["model"].get("n_parameters"), "train_seconds": m["timing"]["train_seconds"]}
        for name in metrics:
            hybrid[f"{name}_mean"], hybrid[f"{name}_std"] = _stat(m["summary"], name)
        record.rows = [hybrid]
        for base, result in (m.get("baselines") or {}).items():
            row = {**common, "model": base, "baseline": True, "backend": "", "parameters": result.get("n_parameters"),
                   "train_seconds": sum(f.get("train_seconds", 0.0) for f in result.get("folds", []))}
            for name in metrics:
                row[f"{name}_mean"], row[f"{name}_std"] = _stat(result["summary"], name)
            record.rows.append(row)
        rows.extend(record.rows)
    return rows


def _data_name(record: RunRecord) -> str:
    try:
        from omegaconf import OmegaConf

        return str(OmegaConf.load(record.folder / ".hydra" / "config.yaml").data.name)
    except Exception:  # noqa: BLE001 - a run written without Hydra (the Python API) still reports
        return ""


def mark_best(rows: list[dict[str, Any]], metric: str) -> Optional[dict[str, Any]]:
    """The hybrid row with the best mean of ``metric`` (lowest for a loss)."""
    candidates = [r for r in rows if not r["baseline"] and r.get(f"{metric}_mean") is not None]
    if not candidates:
        return None
    lower = metric in ("log_loss", "loss")
    best = (min if lower else max)(candidates, key=lambda r: r[f"{metric}_mean"])
    best["best"] = True
    return best


def _cell(row: dict[str, Any], name: str) -> str:
    mean, std = row.get(f"{name}_mean"), row.get(f"{name}_std")
    if mean is None:
        return "n/a"
    return f"{mean:.4f} ± {std:.4f}" if std is not None else f"{mean:.4f}"


COLUMNS = ("run", "model", "data", "overrides", "backend")


def _display(row: dict[str, Any], metrics: list[str]) -> list[str]:
    model = f"{row['model']} (baseline)" if row["baseline"] else row["model"] + (" ★ best" if row.get("best") else "")
    own = not row["baseline"]  # a baseline's row sits under its run's: run and overrides are not repeated
    return [row["run"] if own else "", model, row["data"], row["overrides"] if own else "",
            row["backend"], *(_cell(row, m) for m in metrics), f"{row['train_seconds']:.1f}",
            str(row["parameters"] if row["parameters"] is not None else "")]


def headers(metrics: list[str]) -> list[str]:
    return [*COLUMNS, *(f"{m} (mean ± std)" for m in metrics), "train s", "parameters"]


def write_csv(path: Path, rows: list[dict[str, Any]], failures: list[RunRecord], metrics: list[str]) -> None:
    from qhybrid import io

    columns = ["run", "model", "baseline", "best", "data", "overrides", "backend", "folds",
               *(f"{m}_{k}" for m in metrics for k in ("mean", "std")), "train_seconds", "parameters", "error"]
    records = [{**r, "best": bool(r.get("best"))} for r in rows]
    records += [{"run": f.label, "overrides": " ".join(f.overrides), "error": f.error} for f in failures]
    io.write_csv(path, records, columns)


def markdown(rows: list[dict[str, Any]], failures: list[RunRecord], metrics: list[str], title: str) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [f"# {title}", "", line(headers(metrics)), line(["---"] * len(headers(metrics)))]
    out += [line(_display(r, metrics)) for r in rows]
    if failures:
        out += ["", "## Failed jobs", ""] + [f"- `{f.label}` ({' '.join(f.overrides)}): {f.error}" for f in failures]
    return "\n".join(out) + "\n"


def comparison_plot(rows: list[dict[str, Any]], metric: str) -> bytes:
    """The metric's mean ± std per run (hybrids) and per baseline, as PNG bytes."""
    import io as _io

    from matplotlib.figure import Figure

    shown = [r for r in rows if r.get(f"{metric}_mean") is not None]
    fig = Figure(figsize=(max(6.0, 0.5 * len(shown) + 2), 4.6))
    ax = fig.add_subplot(1, 1, 1)
    labels = [f"{r['run']}: {r['model']}" + (" (baseline)" if r["baseline"] else "") for r in shown]
    colors = ["#9aa5b1" if r["baseline"] else ("#d1495b" if r.get("best") else "#00798c") for r in shown]
    ax.bar(range(len(shown)), [r[f"{metric}_mean"] for r in shown], yerr=[r[f"{metric}_std"] or 0 for r in shown],
           color=colors, capsize=3)
    ax.set_xticks(range(len(shown)), labels=labels, rotation=60, ha="right", fontsize="small")
    values = [r[f"{metric}_mean"] for r in shown]
    if values:
        low = min(v - (r[f"{metric}_std"] or 0) for v, r in zip(values, shown))
        ax.set_ylim(max(0.0, low - 0.05) if metric != "log_loss" else 0.0, None)
    ax.set(ylabel=f"{metric} (mean ± std over folds)",
           title=f"{metric} by run (teal: hybrid, red: best, grey: classical baselines)")
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def html_page(records: list[RunRecord], rows: list[dict[str, Any]], failures: list[RunRecord], metrics: list[str],
              title: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers(metrics))
    body = []
    for r in rows:
        css = "baseline" if r["baseline"] else ("best" if r.get("best") else "")
        body.append(f'<tr class="{css}">' + "".join(f"<td>{html.escape(c)}</td>" for c in _display(r, metrics))
                    + "</tr>")
    parts = [f"<h1>{html.escape(title)}</h1>", f'<table id="runs"><thead><tr>{head}</tr></thead><tbody>',
             *body, "</tbody></table>"]
    if failures:
        parts.append('<h2>Failed jobs</h2><ul id="failures">' + "".join(
            f"<li><code>{html.escape(f.label)}</code> {html.escape(' '.join(f.overrides))}: "
            f"{html.escape(f.error or '')}</li>" for f in failures) + "</ul>")
    parts.append("<h2>Comparison</h2>")
    parts += [_img(comparison_plot(rows, m), f"{m} by run") for m in metrics[:2]]
    for record in records:
        if record.metrics is None:
            continue
        images = [_img((record.folder / name).read_bytes(), f"{record.label} {name}") for name in IMAGES
                  if (record.folder / name).is_file()]
        parts.append(f"<h2>{html.escape(record.label)} ({html.escape(' '.join(record.overrides) or 'defaults')})"
                     f"</h2><div class=\"images\">{''.join(images)}</div>")
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:0.9em}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:nth-child(-n+4){text-align:left}"
             "tr.baseline{color:#667}tr.best{background:#fde8ea;font-weight:bold}img{max-width:46%;margin:4px}")
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")


def _parse(args: list[str]) -> tuple[Path, list[str], Optional[str]]:
    folder, metrics, sort = None, list(DEFAULT_METRICS), None
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and key == "metrics":
            metrics = [m.strip() for m in value.split(",") if m.strip()]
        elif sep and key == "sort":
            sort = value
        elif not sep and folder is None:
            folder = Path(arg)
        else:
            raise QHybridError(f"unknown argument {arg!r}", USAGE.removeprefix("usage: "))
    if folder is None:
        raise QHybridError("a run or sweep folder is required", USAGE.removeprefix("usage: "))
    if not folder.is_dir():
        raise QHybridError(f"no such folder: {folder.resolve()}", "give a run folder or a sweep folder under outputs/")
    from qhybrid.schema import METRICS

    for name in metrics + ([sort] if sort else []):
        if name not in METRICS:
            raise QHybridError(f"metric {name!r} is not one qhybrid computes", f"use some of {', '.join(METRICS)}")
    return folder, metrics, sort


def main(args: list[str]) -> int:
    if args and args[0] in ("-h", "--help"):
        print(USAGE + "\n\n" + __doc__.split("\n\n", 1)[1])
        return 0
    from rich.table import Table

    from qhybrid import io
    from qhybrid.console import get_console

    root, metrics, sort = _parse(args)
    records = find_runs(root)
    if not records:
        raise QHybridError(f"{root} holds no run folders (no metrics.json, no .hydra/)",
                           "point at a folder written by qhybrid train (or train -m)")
    common = _drop_common_overrides(records)
    rows = table_rows(records, metrics)
    failures = [r for r in records if r.metrics is None]
    best = mark_best(rows, sort or metrics[0])
    title = f"qhybrid report: {root}" + (f" (every run: {' '.join(common)})" if common else "")
    table = Table(title=title, title_justify="left")
    for h in headers(metrics):
        table.add_column(h, overflow="fold")
    for r in rows:
        style = "dim" if r["baseline"] else ("bold" if r.get("best") else None)
        table.add_row(*_display(r, metrics), style=style)
    console = get_console()
    if console.is_terminal:
        console.print(table)  # folded to the terminal's width
    else:  # a pipe or a log file gets the table whole, one line a row
        from rich.console import Console

        Console(file=sys.stdout, width=1000, highlight=False).print(table)
    if best is not None:
        console.print(f"best run by {sort or metrics[0]}: {best['run']} ({best['model']})")
    for failure in failures:
        console.print(f"failed: {failure.label} ({' '.join(failure.overrides)}): {failure.error}")
    write_csv(root / "report.csv", rows, failures, metrics)
    io.write_text(root / "report.md", markdown(rows, failures, metrics, title))
    io.write_text(root / "report.html", html_page(records, rows, failures, metrics, title))
    console.print(f"wrote {root / 'report.html'}, report.csv, report.md")
    return 0


def run(args: list[str]) -> int:
    """CLI entry: errors as one line."""
    from qhybrid.errors import exit_code_of

    return exit_code_of(main, args)
