#!/usr/bin/env bash
# Set up .venv if needed, then the main job: `rap demo`. It remembers Bo and Mam (pictures
# drawn by the project), finds them in two scenes, captions one, answers a question, prints
# the prompts and answers and writes the annotated pictures to rap-out/demo/.
# Offline with the tiny random-weight models by default; RAP_MODELS=default for real ones.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
models=${RAP_MODELS:-tiny}
if [[ $models == tiny ]]; then
  export HF_HUB_OFFLINE=1
fi
rm -rf rap-out/demo
.venv/bin/rap --models "$models" demo --out rap-out/demo
