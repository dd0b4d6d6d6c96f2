#!/usr/bin/env bash
# experiment=medical for g0, g4 and g10 over split seeds 0..2 (the table in
# docs/benchmarks.md): one markdown row per run; run folders under outputs/medical_table/.
set -euo pipefail
cd "$(dirname "$0")/.."
QHYBRID=${QHYBRID:-.venv/bin/qhybrid}
PYTHON=${PYTHON:-.venv/bin/python}
echo "| model | seed | ROC-AUC | PR-AUC | sensitivity at threshold | specificity at threshold | accuracy | train |"
echo "|---|---|---|---|---|---|---|---|"
for model in g0 g4 g10; do
  for seed in 0 1 2; do
    run=outputs/medical_table/$model-$seed
    "$QHYBRID" train experiment=medical model=$model seed=$seed hydra.run.dir=$run > /dev/null
    "$PYTHON" - "$run" "$model" "$seed" <<'PY'
import json
import sys

run, model, seed = sys.argv[1:]
metrics = json.load(open(f"{run}/metrics.json"))
s = metrics["summary"]


def stat(name: str) -> str:
    return f"{s[name]['mean']:.4f} ± {s[name]['std']:.4f}"


print(f"| {model} | {seed} | {stat('roc_auc')} | {stat('pr_auc')} | {stat('sensitivity_at_threshold')} | "
      f"{stat('specificity_at_threshold')} | {s['accuracy']['mean']:.4f} | {metrics['timing']['train_seconds']:.1f} s |")
PY
  done
done
