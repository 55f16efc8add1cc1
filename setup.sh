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
# Fashion-MNIST (real data for dataset:fashion-mnist and the fashion-cnn tests) from the Debian package
# dataset-fashion-mnist: installed system-wide when root, else unpacked into .data/ (found by datasets.py).
fashion_file=fashion-mnist/train-images-idx3-ubyte.gz
if [ ! -f "/usr/share/datasets/$fashion_file" ] && [ ! -f ".data/$fashion_file" ]; then
  if [ "$(id -u)" = 0 ]; then
    { apt-get install -y -q dataset-fashion-mnist || { apt-get update -q && apt-get install -y -q dataset-fashion-mnist; }; } >"$log" 2>&1 || true
  else
    deb_dir=$(mktemp -d)
    { (cd "$deb_dir" && apt-get download dataset-fashion-mnist) && dpkg -x "$deb_dir"/dataset-fashion-mnist_*.deb "$deb_dir/root" \
      && mkdir -p .data && rm -rf .data/fashion-mnist && cp -r "$deb_dir/root/usr/share/datasets/fashion-mnist" .data/; } >"$log" 2>&1 || true
    rm -rf "$deb_dir"
  fi
  if [ ! -f "/usr/share/datasets/$fashion_file" ] && [ ! -f ".data/$fashion_file" ]; then
    cat "$log" >&2; echo "setup.sh: could not provide Fashion-MNIST (Debian package dataset-fashion-mnist)" >&2
    [ "${CI:-}" = true ] && exit 1
  fi
fi
.venv/bin/python -c "import gan_eval, torch; print('gan-eval', gan_eval.__version__, 'ready in .venv (torch', torch.__version__ + ')')"
