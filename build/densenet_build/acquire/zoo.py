"""densenet-7, the ONNX model zoo's DenseNet-121 this project serves: where it is and what it is.

The zoo's GitHub repository stopped serving its Git LFS files on 2025-07-01 (its README); the same
file lives on in the zoo's Hugging Face mirror, tried first. The names every package shares
(tensors, metadata keys) are in :mod:`densenet_contract.names`.
"""

from __future__ import annotations

_PATH = "validated/vision/classification/densenet-121/model/densenet-7.onnx"
DENSENET7_URLS = (
    f"https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main/{_PATH}",
    f"https://github.com/onnx/models/raw/main/{_PATH}",  # Git LFS, dead since 2025-07-01: kept in case
)
DENSENET7_SHA256 = "79c3bc0974696a2ea9efd2f7bca19fdd630834bd0086f1b4a1c3db3dce3b2a51"
DENSENET7_BYTES = 32_719_461
DENSENET7_WEIGHTS = "onnx-model-zoo densenet-7 (ImageNet-trained)"
# The preprocess preset (preprocess.PRESETS) densenet-7's weights were trained with.
DENSENET7_PREPROCESSING = "densenet_caffe"
DENSENET7_GONE = (
    "the ONNX model zoo's Git LFS downloads ended on 2025-07-01 (its Hugging Face mirror has the file)"
)
