#!/usr/bin/env bash
# Create ./.venv and install qhybrid (editable) with its test tools.
# Idempotent: when nothing changed since the last run it returns at once.
#
#   QHYBRID_TORCH   torch requirement installed first when the venv has no torch
#                   (default: the tested pin below; e.g. QHYBRID_TORCH=torch for the newest)
#   PYTHON          interpreter used to create the venv (default: python3, needs >= 3.10)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${QHYBRID_TORCH:-torch==2.13.0}
STAMP="$VENV/.qhybrid-setup"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "setup: $PYTHON is missing or older than Python 3.10. Fix: install Python >= 3.10, or run PYTHON=/path/to/python3.11 make ..." >&2
  exit 2
fi

want="$("$PYTHON" -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest()[:16])') $TORCH_SPEC"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c 'import qhybrid' 2>/dev/null; then
  # installed; the native executor's compiled kernels: loaded from Numba's cache in a second,
  # compiled again (about a minute) when their source changed
  exec "$VENV/bin/python" -m qhybrid.quantum.native_warm
fi

echo "setup: installing qhybrid into $VENV (first time: a few minutes)"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
LOG="$VENV/setup.log"
: > "$LOG"
# pip's output goes to the log: shown only when a step fails, with what failed
pip_step() {
  local what=$1; shift
  if ! "$VENV/bin/python" -m pip install --quiet "$@" >> "$LOG" 2>&1; then
    tail -n 25 "$LOG" >&2
    echo "setup: $what failed (pip install $*; the whole output is in $LOG)" >&2
    exit 1
  fi
}
pip_step "upgrading pip" --upgrade pip setuptools wheel
# torch first, pinned: a bare `torch` requirement would pull the newest release (with
# several GB of CUDA wheels on Linux). qhybrid itself only asks for torch>=2.2, which the
# pin satisfies, so the next step installs no other torch.
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  pip_step "installing $TORCH_SPEC" "$TORCH_SPEC"
fi
pip_step "installing qhybrid and its test tools" -e ".[dev]"
echo "$want" > "$STAMP"
echo "setup: done ($("$VENV/bin/qhybrid" --version), torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)'))"
"$VENV/bin/python" -m qhybrid.quantum.native_warm
