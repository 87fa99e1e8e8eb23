#!/usr/bin/env bash
# Set up .venv if needed, then the main job: remember a concept and list it.
# Runs offline with the tiny random-weight models by default (RAP_MODELS=default for real
# weights). The store is a fresh folder under rap-out/ unless RAP_DB says otherwise.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
export RAP_MODELS=${RAP_MODELS:-tiny}
export RAP_DB=${RAP_DB:-$root/rap-out/demo-db}
if [[ $RAP_MODELS == tiny ]]; then
  export HF_HUB_OFFLINE=1
  rm -rf "$RAP_DB"
fi
rap="$root/.venv/bin/rap"
"$rap" remember Bo examples/images/bo.png --category dog --alias Bobo \
  --description "Bo is my Shiba Inu with a red collar." --replace
"$rap" remember Mam examples/images/mam.png --category person \
  --description "Mam is my mother; she wears glasses and a green scarf." --replace
"$rap" list
