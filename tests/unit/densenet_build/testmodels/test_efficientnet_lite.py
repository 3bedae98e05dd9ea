"""The trained test model: EfficientNet-Lite0 as ONNX in densenet-7's interface gives right answers."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from densenet_build.testmodels.efficientnet_lite import PREPROCESSING, _same_pads
from densenet_contract.names import PREPROCESSING_KEY, WEIGHTS_KEY
from preprocess import PreprocessConfig, Preprocessor, preprocess_one
from tests.support.imagefactory import encode, photo


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pads"),
    [
        (224, 3, 2, [0, 0, 1, 1]),
        (112, 3, 1, [1, 1, 1, 1]),
        (56, 5, 2, [1, 1, 2, 2]),
        (14, 5, 1, [2, 2, 2, 2]),
    ],
)
def test_tensorflow_same_padding(size, kernel, stride, pads):
    """TF puts the odd padding pixel at the end (bottom/right), unlike a symmetric PyTorch pad."""
    assert _same_pads(size, kernel, stride) == pads
    assert (size + pads[0] + pads[2] - kernel) // stride + 1 == -(-size // stride)


def test_interface_and_metadata(trained_model):
    model = onnx.load(str(trained_model.path))
    assert [i.name for i in model.graph.input] == ["data_0"]
    assert [o.name for o in model.graph.output] == ["fc6_1"]
    dims = [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [1, 1000, 1, 1]
    props = {p.key: p.value for p in model.metadata_props}
    assert props[PREPROCESSING_KEY] == PREPROCESSING == trained_model.preprocessing
    assert "trained" in props[WEIGHTS_KEY].lower()


@pytest.fixture(scope="module")
def classify(trained_model):
    session = ort.InferenceSession(str(trained_model.path), providers=["CPUExecutionProvider"])
    pre = Preprocessor(PreprocessConfig.from_preset(PREPROCESSING, decode_threads=1))
    from densenet_build.repository.labels import imagenet_labels

    labels = imagenet_labels()

    def top5(image_bytes: bytes) -> list[str]:
        logits = session.run(None, {"data_0": preprocess_one(pre, image_bytes)[np.newaxis]})[0].ravel()
        return [labels[i] for i in np.argsort(-logits)[:5]]

    yield top5
    pre.close()


@pytest.mark.parametrize(
    ("name", "top1"),
    [
        ("coffee.png", {"espresso"}),
        ("chelsea.png", {"tabby, tabby cat", "tiger cat", "Egyptian cat"}),
        ("rocket.jpg", {"missile", "projectile, missile"}),
        ("camera.png", {"tripod"}),
    ],
)
def test_right_answers_on_real_photos(classify, name, top1):
    top5 = classify(encode(photo(name).convert("RGB"), "JPEG"))
    assert top5[0] in top1, top5
