"""Triton's own image_client usage works against our models, and our `inception` preset matches it.

The default preset is densenet-7's own training preprocessing (densenet_caffe); image_client's
`-s INCEPTION` is kept as the `inception` preset, checked here on a server configured with it.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from PIL import Image

from densenet_build.repository.pbtxt import update_parameters
from tests.support.imagefactory import cat_jpeg, encode, photo
from tests.support.scratch import scratch_repository
from tests.support.servers import REPO_ROOT, serving

pytestmark = pytest.mark.e2e


def image_client_preprocess(data: bytes) -> np.ndarray:
    """image_client.py's preprocess() for densenet with `-s INCEPTION` (FP32, NCHW, 3x224x224)."""
    sample = Image.open(io.BytesIO(data)).convert("RGB")
    resized = np.array(sample.resize((224, 224), Image.BILINEAR))
    typed = resized.astype(np.float32)
    scaled = (typed / 127.5) - 1
    return np.transpose(scaled, (2, 0, 1))


@pytest.fixture(scope="module")
def inception_client(seeded_onnx, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("inception")
    repository = scratch_repository(REPO_ROOT / "model_repository", workdir / "model_repository", seeded_onnx)
    update_parameters(repository / "preprocess" / "config.pbtxt", {"preset": "inception"})
    with serving(repository, workdir) as triton:
        client = httpclient.InferenceServerClient(f"127.0.0.1:{triton.options.http_port}", network_timeout=60)
        yield client
        client.close()


def test_the_default_preset_is_not_image_client(http_client):
    """The default server feeds densenet-7 its own preprocessing, which image_client does not."""
    image = cat_jpeg()
    tensor = httpclient.InferInput("IMAGE", [1, len(image)], "UINT8")
    tensor.set_data_from_numpy(np.frombuffer(image, np.uint8)[np.newaxis])
    pixels = http_client.infer("preprocess", [tensor]).as_numpy("PIXELS")
    assert np.abs(pixels[0] - image_client_preprocess(image)).max() > 0.5


@pytest.mark.parametrize(
    "image",
    [
        cat_jpeg(),
        encode(photo("astronaut.png"), "PNG"),
        encode(photo("coffee.png").resize((333, 500)), "JPEG"),
    ],
    ids=["cat-jpeg", "astronaut-png", "coffee-portrait-jpeg"],
)
def test_inception_preset_equals_image_client(inception_client, image):
    tensor = httpclient.InferInput("IMAGE", [1, len(image)], "UINT8")
    tensor.set_data_from_numpy(np.frombuffer(image, np.uint8)[np.newaxis])
    pixels = inception_client.infer("preprocess", [tensor]).as_numpy("PIXELS")
    assert pixels.shape == (1, 3, 224, 224)
    np.testing.assert_allclose(pixels[0], image_client_preprocess(image), atol=1e-5, rtol=0)


def test_metadata_is_what_image_client_parses(http_client):
    metadata = http_client.get_model_metadata("densenet")
    config = http_client.get_model_config("densenet")
    assert len(metadata["inputs"]) == len(metadata["outputs"]) == 1
    assert metadata["inputs"][0]["shape"] == [-1, 3, 224, 224]
    assert metadata["inputs"][0]["datatype"] == "FP32"
    assert config["input"][0]["format"] == "FORMAT_NCHW"
    assert config["max_batch_size"] > 0


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_class_count_with_labels_on_densenet(protocol, http_url, grpc_url, model_repository):
    module, url = (httpclient, http_url) if protocol == "http" else (grpcclient, grpc_url)
    labels = (model_repository / "densenet" / "labels.txt").read_text().splitlines()
    batch = np.stack(
        [image_client_preprocess(cat_jpeg()), image_client_preprocess(encode(photo("coffee.png")))]
    )
    with module.InferenceServerClient(url) as client:
        tensor = module.InferInput("data_0", list(batch.shape), "FP32")
        tensor.set_data_from_numpy(batch)
        classified = client.infer(
            "densenet", [tensor], outputs=[module.InferRequestedOutput("fc6_1", class_count=3)]
        )
        raw = client.infer("densenet", [tensor], outputs=[module.InferRequestedOutput("fc6_1")])
    logits = raw.as_numpy("fc6_1").reshape(2, 1000)
    rows = classified.as_numpy("fc6_1")
    assert rows.shape == (2, 3)
    for row, image_logits in zip(rows, logits, strict=False):
        parsed = [
            entry.decode().split(":", 2) for entry in row
        ]  # "score:index:label", as image_client prints
        ids = [int(index) for _, index, _ in parsed]
        assert ids == np.argsort(-image_logits, kind="stable")[:3].tolist()
        assert [label for _, _, label in parsed] == [labels[i] for i in ids]
        np.testing.assert_allclose([float(score) for score, _, _ in parsed], image_logits[ids], rtol=1e-5)
