"""Right answers from the served pipeline, checked with a TRAINED classifier (EfficientNet-Lite0).

The server here is the real one serving the model repository with the trained test model installed
by ``densenet-build model`` (its preprocessing preset set to match), so these tests check what a user
gets: the labels for real photographs, not only shapes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import tritonclient.http as httpclient
from imagefactory import encode, photo, with_exif_orientation
from inference import http_infer, results
from PIL import Image
from servers import REPO_ROOT, serving

from densenet_serve.scratch import scratch_repository

pytestmark = pytest.mark.e2e

CATS = {"tabby, tabby cat", "tiger cat", "Egyptian cat"}
# scikit-image's photographs and what a trained ImageNet classifier must see in them.
EXPECTED_TOP1 = {
    "chelsea.png": CATS,
    "coffee.png": {"espresso"},
    "rocket.jpg": {"missile", "projectile, missile"},
    "motorcycle_left.png": {"moped", "motor scooter, scooter"},
    "camera.png": {"tripod"},
}


@pytest.fixture(scope="module")
def trained_url(trained_model, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("trained")
    repository = scratch_repository(
        REPO_ROOT / "model_repository", workdir / "model_repository", trained_model
    )
    with serving(repository, workdir) as triton:
        yield f"127.0.0.1:{triton.options.http_port}"


@pytest.fixture
def client(trained_url: str) -> Iterator[httpclient.InferenceServerClient]:
    with httpclient.InferenceServerClient(trained_url, network_timeout=120) as http:
        yield http


def _jpeg(name: str) -> bytes:
    return encode(photo(name).convert("RGB"), "JPEG", quality=92)


def test_the_server_serves_the_trained_model_with_its_preprocessing(client, trained_model):
    densenet = client.get_model_config("densenet")["parameters"]
    assert densenet["weights"]["string_value"] == trained_model.weights
    assert densenet["preprocessing"]["string_value"] == "efficientnet_lite"
    assert (
        client.get_model_config("preprocess")["parameters"]["preset"]["string_value"] == "efficientnet_lite"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED_TOP1))
def test_real_photos_get_the_right_label(client, name):
    labels, scores, _ = results(http_infer(client, [_jpeg(name)], top_k=5))
    assert labels[0][0] in EXPECTED_TOP1[name], labels[0]
    assert scores[0][0] > 0.3  # confident, not a lucky argmax over noise
    assert np.all(np.diff(scores[0]) <= 0)


def test_coffee_top5_holds_espresso_and_cup(client):
    labels, _, _ = results(http_infer(client, [_jpeg("coffee.png")], top_k=5))
    assert {"espresso", "cup"} <= set(labels[0])


def test_exif_rotated_twin_and_png_get_the_same_answer(client):
    """A phone stores the sensor's pixels and an EXIF orientation; the server must apply it."""
    # coffee: one clear answer (a cat photo sits between three cat classes, and JPEG noise picks one).
    coffee = photo("coffee.png").convert("RGB")
    # Stored rotated by 90°, with orientation 6 ("rotate 90° clockwise to display") it shows upright.
    rotated = with_exif_orientation(coffee.transpose(Image.Transpose.ROTATE_90), 6)
    sideways = encode(coffee.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95)
    png = encode(coffee, "PNG")
    images = [encode(coffee, "JPEG", quality=95), rotated, png, sideways]
    labels, scores, _ = results(http_infer(client, images, top_k=1))
    assert [row[0] for row in labels[:3]] == ["espresso"] * 3
    # Not merely the same argmax: the three decode to nearly the same pixels.
    np.testing.assert_allclose(scores[:3, 0], scores[0, 0], atol=0.05)
    # The test can fail: without its EXIF tag the same pixels are seen sideways, and scored otherwise.
    assert abs(scores[3, 0] - scores[0, 0]) > 0.05 or labels[3][0] != "espresso"


def test_a_batch_of_8_answers_like_8_single_requests(client):
    names = sorted(EXPECTED_TOP1)
    images = [_jpeg(names[i % len(names)]) if i < 5 else encode(photo(names[i % 5]), "PNG") for i in range(8)]
    batch_labels, batch_scores, batch_ids = results(http_infer(client, images, top_k=5))
    for row, image in enumerate(images):
        labels, scores, ids = results(http_infer(client, [image], top_k=5))
        assert batch_labels[row] == labels[0]
        np.testing.assert_array_equal(batch_ids[row], ids[0])
        np.testing.assert_allclose(batch_scores[row], scores[0], rtol=1e-4, atol=1e-6)
