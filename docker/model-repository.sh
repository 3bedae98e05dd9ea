#!/bin/sh
# densenet-model-repository onnx|engine: fill the model repository volume that Triton serves.
#
# The one place that says how a deployed repository is made: compose's `model` (onnx) and `engine`
# services and the Kubernetes Job run this script, in the images of docker/Dockerfile.
#   1. this release's configs and model.py glue (from the image) into $MODEL_REPOSITORY
#   2. densenet-build model: trained weights from the first source that answers ($MODEL_SOURCE,
#      default download: densenet-7 from the ONNX model zoo's mirrors, else torchvision's
#      DenseNet-121; it fails rather than serve random weights), sha256-verified, cached in
#      $BUILD_CACHE; MODEL_URL/MODEL_SHA256 (read by densenet-build itself) name a private mirror,
#      https_proxy a proxy ($MODEL_SOURCE=seeded: offline test weights); writes densenet/1/model.onnx,
#      records the weights and the preprocessing they need in the densenet configs and sets the
#      preprocess preset to match (all the CPU profile needs)
#   3. engine only: the TensorRT plan in $PRECISION (fp32 | fp16 | int8), unless the repository
#      already holds a plan that `densenet-build check` accepts for this TensorRT and GPU and whose
#      sidecar says the same precision and weights; the steps are those of `make engine`.
# Environment: MODEL_REPOSITORY (/models), BUILD_CACHE (/cache), MODEL_SOURCE (download), MODEL_URL,
# MODEL_SHA256,
# PRECISION (fp16), REPOSITORY_TEMPLATE (/opt/densenet/model_repository).
# Plans for other GPUs already in the volume stay: install keeps one plan per compute capability.
set -eu

mode=${1:-engine}
repo=${MODEL_REPOSITORY:-/models}
cache=${BUILD_CACHE:-/cache}
template=${REPOSITORY_TEMPLATE:-/opt/densenet/model_repository}
precision=${PRECISION:-fp16}
densenet=$repo/densenet

case $mode in
    onnx | engine) ;;
    *) echo "usage: densenet-model-repository onnx|engine" >&2; exit 64 ;;
esac

echo "== configs and model glue from $template"
mkdir -p "$repo"
cp -R "$template/." "$repo/"

echo "== ONNX model (source ${MODEL_SOURCE:-download})"
densenet-build model --source "${MODEL_SOURCE:-download}" --cache-dir "$cache" --repository "$repo"
[ "$mode" = onnx ] && exit 0

plan_matches() {
    densenet-build check --model-dir "$densenet" || return 1
    python3 - "$densenet" "$precision" <<'EOF'
import json, re, sys
from pathlib import Path

densenet, precision = Path(sys.argv[1]), sys.argv[2]
weights = re.search(r'key: "weights" value: \{ string_value: "([^"]*)"', (densenet / "configs/cpu.pbtxt").read_text())
sidecars = [json.loads(p.read_text()) for p in (densenet / "1").glob("model_sm*.json")]
same = sidecars and weights and all(s["precision"] == precision and s["weights"] == weights[1] for s in sidecars)
sys.exit(0 if same else 1)
EOF
}

echo "== TensorRT plan ($precision)"
if plan_matches; then
    echo "the installed plan matches this ONNX, precision, TensorRT and GPU: not rebuilding"
    densenet-build install --model-dir "$densenet" # the configs were just replaced: list the plans again
    exit 0
fi
# The steps of `make engine` (Makefile), on the volume's paths; a test keeps the two in step.
work=$cache/engine
config=$densenet/config.pbtxt
mkdir -p "$work"
densenet-build samples "$work/samples" --seed 0
densenet-build samples "$work/calibration" --seed 1
densenet-build prepare "$densenet/1/model.onnx" "$work/model.onnx" --simplify --densenet-config "$config"
densenet-build variants "$work/model.onnx" --output-dir "$work" --precision "$precision" \
    --samples-dir "$work/samples" --calibration-dir "$work/calibration" --densenet-config "$config"
densenet-build engine "$work/model_$precision.onnx" --timing-cache "$work/timing.cache" \
    --densenet-config "$config"
densenet-build install "$work/model_$precision.plan" --model-dir "$densenet"
densenet-build check --model-dir "$densenet"
densenet-build verify "$work/model_$precision.plan" --reference "$work/model_fp32.onnx" \
    --samples-dir "$work/samples" --densenet-config "$config"
