"""Model, tensor and metadata names fixed by the design (docs/design.md, "Model repository")."""

from __future__ import annotations

from collections.abc import Mapping

# The models of the repository and the ensemble clients call.
ENSEMBLE = "densenet_ensemble"
PREPROCESS = "preprocess"
DENSENET = "densenet"
POSTPROCESS = "postprocess"
MODELS = (ENSEMBLE, PREPROCESS, DENSENET, POSTPROCESS)

# Tensors: the ensemble's one input, the preprocess output, densenet-7's own names, the answers.
IMAGE = "IMAGE"
PIXELS = "PIXELS"
INPUT_NAME = "data_0"
OUTPUT_NAME = "fc6_1"
LABELS = "LABELS"
SCORES = "SCORES"
CLASS_IDS = "CLASS_IDS"
INPUT_DIMS = (3, 224, 224)
NUM_CLASSES = 1000  # ILSVRC-2012
OUTPUT_DIMS = (NUM_CLASSES, 1, 1)

# What a model file says it carries (ONNX metadata_props) and the configs record beside it:
# `densenet-build model` writes them together; the CPU densenet refuses a file they do not describe.
WEIGHTS_KEY = "weights"
SOURCE_SHA256_KEY = "source_sha256"
PREPROCESSING_KEY = "preprocessing"  # the preprocess preset the weights were trained with
SOURCE_KEY = "source"  # where the weights came from: zoo, torchvision, seeded, efficientnet-lite0, file
RECORDED_KEYS = (WEIGHTS_KEY, SOURCE_SHA256_KEY, PREPROCESSING_KEY, SOURCE_KEY)


def served_weights(record: Mapping[str, str]) -> tuple[str, str]:
    """What a config's record (RECORDED_KEYS) says is served: the weights, and their source, digest and
    preprocessing on one line (the launcher's banner and ``densenet-client status`` print both)."""
    weights = record.get(WEIGHTS_KEY) or "not recorded (a plan installed without `densenet-build model`?)"
    details = ", ".join(
        f"{label} {record.get(key) or '?'}"
        for label, key in (
            ("source", SOURCE_KEY),
            ("sha256", SOURCE_SHA256_KEY),
            ("preprocessing", PREPROCESSING_KEY),
        )
    )
    return weights, details


# The launcher's per-start prefix for the python backend's /dev/shm regions, handed to the models.
SHM_PREFIX_VARIABLE = "DENSENET_SHM_PREFIX"
