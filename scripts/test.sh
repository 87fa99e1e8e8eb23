#!/usr/bin/env bash
# Set up .venv if needed, then run every check: ruff (lint and format), mypy and pytest.
# Offline by design: no test reaches the network or a model hub.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
# The chat page's browser test drives Debian's Chromium; install it when we can (as root).
if ! command -v chromium >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser test" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
    >/dev/null 2>&1 || echo "could not install chromium: the browser test will be skipped" >&2
fi
export HF_HUB_OFFLINE=1 YOLO_OFFLINE=1 TOKENIZERS_PARALLELISM=false
YOLO_CONFIG_DIR=$(mktemp -d)
RAP_CACHE=$(mktemp -d)
export YOLO_CONFIG_DIR RAP_CACHE
trap 'rm -rf "$YOLO_CONFIG_DIR" "$RAP_CACHE"' EXIT
echo "== ruff" && .venv/bin/ruff check llama_index_rap tests examples benchmarks && .venv/bin/ruff format --check llama_index_rap tests examples benchmarks
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && .venv/bin/python -m pytest "$@"
