#!/usr/bin/env bash
# One qhybrid run as a SLURM batch job. Submit from the repository root:
#   sbatch scripts/sbatch_train.sh model=g6 data=breast_cancer
#   sbatch --partition=gpu --gres=gpu:1 scripts/sbatch_train.sh model=g6 backend=auto trainer.device=cuda
# Every argument is a qhybrid override. The run folder is outputs/<date>/<time>-<id>/ as
# usual; SLURM's own log goes to slurm-<job id>.out. On pre-emption (SIGTERM) qhybrid
# keeps the folds it finished.
#SBATCH --job-name=qhybrid
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=02:00:00
#SBATCH --output=slurm-%j.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
# the quick start's environment; on a cluster, load modules first if Python needs them
[ -x .venv/bin/qhybrid ] || bash scripts/setup.sh
exec .venv/bin/qhybrid train "$@"
