#!/usr/bin/env bash
# A qhybrid sweep on SLURM through submitit: run it on the login node; each job of the
# sweep becomes one task of a SLURM job array (conf/hydra/launcher/slurm.yaml), and this
# script waits for the array, then prints the sweep's report.
#   scripts/slurm_sweep.sh hydra.launcher.partition=gpu hydra.launcher.gpus_per_node=1 \
#       model=g0,g6,g10 data=iris_binary,breast_cancer seed=0,1,2
# SLURM_LAUNCHER=slurm_local tries the same sweep on this machine without SLURM.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/qhybrid ] || bash scripts/setup.sh
sweep="outputs/sweeps/$(date +%Y-%m-%d_%H-%M-%S)-$$"
status=0
.venv/bin/qhybrid train -m "hydra/launcher=${SLURM_LAUNCHER:-slurm}" "hydra.sweep.dir=$sweep" "$@" || status=$?
.venv/bin/qhybrid report "$sweep"
exit "$status"
