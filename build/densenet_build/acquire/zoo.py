"""Fixed facts of the model this project serves (docs/design.md)."""

from __future__ import annotations

INPUT_NAME = "data_0"
OUTPUT_NAME = "fc6_1"
INPUT_DIMS = (3, 224, 224)
NUM_CLASSES = 1000
OUTPUT_DIMS = (NUM_CLASSES, 1, 1)

DENSENET7_URL = "https://github.com/onnx/models/raw/main/validated/vision/classification/densenet-121/model/densenet-7.onnx"
DENSENET7_SHA256 = "79c3bc0974696a2ea9efd2f7bca19fdd630834bd0086f1b4a1c3db3dce3b2a51"
DENSENET7_BYTES = 32_719_461
DENSENET7_WEIGHTS = "onnx-model-zoo densenet-7 (ImageNet-trained)"

# ONNX metadata_props key naming the weights a model file carries; the serving model reports it.
WEIGHTS_KEY = "weights"
SOURCE_SHA256_KEY = "source_sha256"
# ...and the preprocessing preset its weights were trained with (preprocess.PRESETS); the launcher
# refuses a preprocess config that disagrees.
PREPROCESSING_KEY = "preprocessing"
DENSENET7_PREPROCESSING = "densenet_caffe"
