"""Each python model's ``model.py`` run through initialize/execute/finalize with a stand-in ``pb_utils``.

What the glue owes Triton, checked without a server: one response per request in order, a bad
request answered with INVALID_ARG without harming the others in its batch, and finalize closing what
initialize opened (the preprocessing pipeline, whichever pipeline; the metrics writer).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from densenet_contract.names import CLASS_IDS, IMAGE, INPUT_NAME, LABELS, OUTPUT_NAME, PIXELS, SCORES
from tests.support import fake_pb_utils as pb
from tests.support.imagefactory import cat_jpeg
from tests.support.scratch import scratch_repository

pytestmark = pytest.mark.usefixtures("triton_utils")


@pytest.fixture
def triton_utils(monkeypatch):
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", pb.module())
    monkeypatch.setattr(pb.MetricFamily, "made", [])


def padded(*images: bytes) -> np.ndarray:
    """One request's IMAGE rows: each image zero-padded to the longest, as clients send them."""
    rows = np.zeros((len(images), max(map(len, images), default=0)), np.uint8)
    for row, image in zip(rows, images, strict=True):
        row[: len(image)] = np.frombuffer(image, np.uint8)
    return rows


def started(model: str, config: dict, repository=None):
    instance = pb.load_model(model).TritonPythonModel()
    instance.initialize(pb.initialize_args(model, config, repository))
    return instance


def preprocess_config(kind: str = "python") -> dict:
    config = pb.model_config("preprocess", "dali" if kind == "dali" else None)
    config["parameters"]["decode_threads"] = {"string_value": "1"}
    return config


@pytest.mark.parametrize("kind", ["python", "dali"])
def test_preprocess_answers_each_request_and_closes_its_pipeline(kind):
    if kind == "dali":
        pytest.importorskip("nvidia.dali", reason="the DALI pipeline needs nvidia-dali (make dev)")
    model = started("preprocess", preprocess_config(kind))
    pipeline = model._preprocessor
    good = cat_jpeg()
    requests = [
        pb.InferenceRequest({IMAGE: padded(good)}),
        pb.InferenceRequest({IMAGE: padded(good, b"not an image")}),
        pb.InferenceRequest({IMAGE: padded(good, good)}),
        pb.InferenceRequest({IMAGE: np.zeros((0, 0), np.uint8)}),
    ]
    first, second, third, fourth = model.execute(requests)
    assert first.output(PIXELS).shape == (1, 3, 224, 224)
    assert second.error().code() == pb.TritonError.INVALID_ARG
    assert second.error().message().startswith("image 2 of 2: ")
    assert third.output(PIXELS).shape == (2, 3, 224, 224)
    np.testing.assert_array_equal(third.output(PIXELS)[1], first.output(PIXELS)[0])
    assert fourth.error().message() == "the request holds no image"
    model.finalize()
    closed = pipeline._pool is None if kind == "python" else pipeline._pipe is None
    assert closed, "finalize left the preprocessing pipeline open"
    assert not model._metrics._thread.is_alive()


def test_preprocess_reports_the_preset_its_config_names():
    config = preprocess_config()
    config["parameters"]["preset"] = {"string_value": "torchvision"}
    model = started("preprocess", config)
    model.finalize()
    info = next(f for f in pb.MetricFamily.made if f.name == "densenet_preprocessing_info")
    assert any(dict(labels)["preset"] == "torchvision" for labels in info.metrics)


def test_preprocess_refuses_pixels_dims_its_parameters_do_not_produce():
    config = preprocess_config()
    config["output"][0]["dims"] = [3, 200, 200]
    with pytest.raises(ValueError, match="output_size"):
        started("preprocess", config)


def test_postprocess_top_k_per_request_and_bad_top_k_alone_refused():
    model = started("postprocess", pb.model_config("postprocess"), pb.MODEL_REPOSITORY / "postprocess")
    logits = np.random.default_rng(0).normal(size=(3, 1000, 1, 1)).astype(np.float32)
    requests = [
        pb.InferenceRequest({OUTPUT_NAME: logits[:1]}),
        pb.InferenceRequest({OUTPUT_NAME: logits[1:2]}, {"top_k": 0}),
        pb.InferenceRequest({OUTPUT_NAME: logits[1:3]}, {"top_k": 2}),
    ]
    default, refused, two = model.execute(requests)
    assert default.output(LABELS).shape == (1, 5)  # the config's top_k
    assert int(default.output(CLASS_IDS)[0, 0]) == int(np.argmax(logits[0]))
    assert refused.error().code() == pb.TritonError.INVALID_ARG
    assert "top_k" in refused.error().message()
    assert two.output(SCORES).shape == (2, 2)
    assert two.output(SCORES).dtype == np.float32
    assert two.output(CLASS_IDS).dtype == np.int32
    assert np.all(np.diff(two.output(SCORES), axis=1) <= 0)  # best first
    model.finalize()
    assert not model._metrics._thread.is_alive()


def test_cpu_densenet_one_run_for_the_batch_one_response_per_request(tmp_path, seeded_onnx):
    repository = scratch_repository(pb.MODEL_REPOSITORY, tmp_path / "repository", seeded_onnx)
    config = pb.model_config("densenet", "cpu", repository)
    config["parameters"]["adaptive_threads"] = {"string_value": "false"}
    model = started("densenet", config, repository / "densenet")
    pixels = np.random.default_rng(1).normal(size=(3, 3, 224, 224)).astype(np.float32)
    one, two = model.execute(
        [pb.InferenceRequest({INPUT_NAME: pixels[:1]}), pb.InferenceRequest({INPUT_NAME: pixels[1:]})]
    )
    alone = model.execute([pb.InferenceRequest({INPUT_NAME: pixels[2:]})])[0]
    assert one.output(OUTPUT_NAME).shape == (1, 1000, 1, 1)
    assert two.output(OUTPUT_NAME).shape == (2, 1000, 1, 1)
    np.testing.assert_allclose(two.output(OUTPUT_NAME)[1], alone.output(OUTPUT_NAME)[0], atol=1e-4)
    model.finalize()


def test_cpu_densenet_refuses_a_file_its_config_does_not_describe(tmp_path, seeded_onnx):
    repository = scratch_repository(pb.MODEL_REPOSITORY, tmp_path / "repository", seeded_onnx)
    config = pb.model_config("densenet", "cpu", repository)
    config["parameters"]["weights"] = {"string_value": "something else"}
    with pytest.raises(ValueError, match="carries weights="):
        started("densenet", config, repository / "densenet")
