#!/usr/bin/env bash
# Create .venv at the repository root and install llama-index-rap with its dev tools.
# Re-running is cheap: it reinstalls only when pyproject.toml changed (hash kept in .venv).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
want=$(sha256sum pyproject.toml | cut -c1-16)
stamp=.venv/.rap-deps-$want
if [[ -f $stamp && -x .venv/bin/python ]]; then
  exit 0
fi
echo "setting up .venv (torch, open_clip, ultralytics, transformers, lancedb: a few minutes the first time)" >&2
"$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --editable '.[dev]'
rm -f .venv/.rap-deps-*
touch "$stamp"
echo "ready: .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))" >&2
