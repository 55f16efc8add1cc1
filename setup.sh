#!/usr/bin/env bash
# Create .venv (once) and install gan-eval with its test dependencies into it. Safe to re-run.
# Needs only the package registries; torch comes from this machine's local wheel cache.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pip_install() {
  if ! .venv/bin/python -m pip install -q "$@" >"$log" 2>&1; then
    grep -v "is ignored" "$log" >&2; echo "setup.sh: pip install $* failed" >&2; exit 1
  fi
}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip_install --upgrade pip
# The torch/torchvision pair that installs from this machine's disk; pyproject accepts any torch>=2.2.
pip_install "torch==2.14.1" "torchvision==0.29.1"
pip_install -e ".[dev]"
.venv/bin/python -c "import gan_eval, torch; print('gan-eval', gan_eval.__version__, 'ready in .venv (torch', torch.__version__ + ')')"
