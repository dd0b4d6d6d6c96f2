"""The report's judgement: the best run per data set, and the sentences that say what the
table shows (a classical baseline ahead of the best hybrid, a data set with a single run)."""

from __future__ import annotations

from typing import Any

from qhybrid.training.metrics import lower_is_better


def _scored(rows: list[dict[str, Any]], metric: str, baseline: bool) -> list[dict[str, Any]]:
    """Hybrid runs (or baselines) with a value of ``metric``; a run's model re-tested under
    eval_noise is its run's, not another run to rank."""
    return [r for r in rows if r["baseline"] == baseline and not r.get("tested_under") and not r.get("control")
            and r.get(f"{metric}_mean") is not None]


def _top(rows: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    pick = min if lower_is_better(metric) else max
    return pick(rows, key=lambda r: r[f"{metric}_mean"])


def by_data(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["data"], []).append(row)
    return groups


def mark_best(rows: list[dict[str, Any]], metric: str) -> dict[str, list[dict[str, Any]]]:
    """Per data set, the hybrid rows with the best mean of ``metric`` (lowest for a loss),
    marked ``best``. Only runs on the same data set are compared, and only when at least two
    of them have a value: a lone run is not the best of anything. Ties are all marked, unless
    every run ties (then none is better than another)."""
    best = {}
    for data, group in by_data(rows).items():
        hybrids = _scored(group, metric, baseline=False)
        value = _top(hybrids, metric)[f"{metric}_mean"] if hybrids else None
        tied = [r for r in hybrids if r[f"{metric}_mean"] == value]
        if len(hybrids) < 2 or len(tied) == len(hybrids):
            continue
        best[data] = tied
        for row in tied:
            row["best"] = True
    return best


def _cell(row: dict[str, Any], name: str) -> str:
    mean, std = row.get(f"{name}_mean"), row.get(f"{name}_std")
    if mean is None:
        return "n/a"
    return f"{mean:.4f} ± {std:.4f}" if std is not None else f"{mean:.4f} ± n/a"


def _who(row: dict[str, Any]) -> str:
    return f"{row['model']} (run {row['run']})"


def _baselines_ahead(group: list[dict[str, Any]], top: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    """The baselines (each name once, its best row) whose mean beats the best hybrid's, best first."""
    lower = lower_is_better(metric)
    ahead: dict[str, dict[str, Any]] = {}
    for row in _scored(group, metric, baseline=True):
        value = row[f"{metric}_mean"]
        if (value < top[f"{metric}_mean"]) if lower else (value > top[f"{metric}_mean"]):
            kept = ahead.get(row["model"])
            if kept is None or _top([kept, row], metric) is row:
                ahead[row["model"]] = row
    return sorted(ahead.values(), key=lambda r: r[f"{metric}_mean"], reverse=not lower)


def findings(rows: list[dict[str, Any]], metric: str, best: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What the table means, in words, one line per data set: its best run, a classical
    baseline that beats its best (or only) hybrid, a metric no run has, a missing baseline."""
    lines = []
    for data, group in by_data(rows).items():
        hybrids = _scored(group, metric, baseline=False)
        if not hybrids:
            lines.append(f"{data}: no hybrid run has a value of {metric} (undefined on every fold, or not "
                         f"computed for this task): no run is compared by it")
            continue
        top = _top(hybrids, metric)
        if data in best:
            tied = best[data]
            lines.append(f"best run by {metric} on {data}: " + ", ".join(_who(r) for r in tied)
                         + f" {_cell(top, metric)} ({'tied, ' if len(tied) > 1 else ''}of {len(hybrids)} runs)")
        ahead = _baselines_ahead(group, top, metric)
        if ahead:
            how = "lower (better)" if lower_is_better(metric) else "higher"
            lines.append(f"{data}: classical baselines score {how} than the best hybrid by {metric}: "
                         + ", ".join(f"{r['model']} {_cell(r, metric)}" for r in ahead)
                         + f" vs {_who(top)} {_cell(top, metric)}")
        elif not any(r["baseline"] for r in group):
            lines.append(f"{data}: no classical baseline ran beside the hybrid, so nothing shows whether its "
                         f"{metric} is good (train with baselines=[logreg,svc])")
    if not best and len(_scored(rows, metric, baseline=False)) > 1:
        lines.append(f"no run is marked best by {metric}: no data set has two runs with a value of it "
                     f"(runs on different data sets are not compared)")
    return lines


def comparison_notes(records) -> list[str]:
    """Each run's paired comparisons (metrics.json "comparisons"), one verdict a line."""
    lines = []
    for record in records:
        comparisons = (record.metrics or {}).get("comparisons")
        if not isinstance(comparisons, dict):
            continue
        model = record.metrics["model"]["name"]
        tuned = record.metrics.get("search")
        if isinstance(tuned, dict) and isinstance(tuned.get("spaces"), dict):
            sides = "; ".join(f"{model if side == 'hybrid' else side} over "
                              + (", ".join(str(d.get("key")) for d in space) or "nothing")
                              for side, space in tuned["spaces"].items())
            lines.append(f"run {record.label}: each side tuned with {tuned.get('budget')} trials per fold, scored by "
                         f"an inner {tuned.get('inner_folds')}-fold {tuned.get('metric')}: {sides}")
        for name, c in (comparisons.get("versus") or {}).items():
            lines.append(f"run {record.label}: {model} vs {name} ({c.get('kind')}): {c.get('verdict')}")
    return lines


# -- the table's cells ----------------------------------------------------------------------------

COLUMNS = ("run", "model", "data", "overrides", "backend")


def display(row: dict[str, Any], metrics: list[str]) -> list[str]:
    model = f"{row['model']} ({'control' if row.get('control') else 'baseline'})" if row["baseline"] else row["model"] + (" ★ best" if row.get("best") else "")
    # a baseline's row (or the model re-tested under noise) sits under its run's: run and overrides not repeated
    own = not row["baseline"] and not row.get("tested_under")
    seconds, parameters = row["train_seconds"], row["parameters"]
    return [row["run"] if own else "", model, row["data"], row["overrides"] if own else "",
            row["backend"], *(_cell(row, m) for m in metrics), f"{seconds:.1f}" if seconds is not None else "",
            f"{parameters:.0f}" if parameters is not None else ""]


def headers(metrics: list[str]) -> list[str]:
    return [*COLUMNS, *(f"{m} (mean ± std)" for m in metrics), "train s", "parameters"]


# -- command --------------------------------------------------------------------------------------

