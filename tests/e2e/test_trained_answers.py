"""Right answers from the served pipeline, checked with a TRAINED classifier (EfficientNet-Lite0).

The server here is the real one serving the model repository with the trained test model installed
by ``densenet-build model`` (its preprocessing preset set to match), so these tests check what a user
gets: the labels for real photographs, not only shapes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as httpclient
from PIL import Image

from densenet_client.cli.datasets import ilsvrc2012
from tests.support.imagefactory import encode, photo, with_exif_orientation
from tests.support.inference import http_infer, results
from tests.support.servers import serving_model

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
    with serving_model(trained_model, tmp_path_factory.mktemp("trained")) as url:
        yield url


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


# Photos whose answer is clear, as (scikit-image file, class id, wnid).
LABELLED = [
    ("coffee.png", 967, "n07920052"),  # espresso
    ("camera.png", 872, "n04485082"),  # tripod
    ("rocket.jpg", 657, "n03773504"),  # missile
    ("motorcycle_left.png", 665, "n03785016"),  # moped
]


def _labelled_sets(root: Path) -> dict[str, Path]:
    """The same five images in the three layouts `evaluate` reads; the fifth is labelled wrongly."""
    images = [*LABELLED, ("coffee.png", 285, "n02124075")]  # coffee as "Egyptian cat": a sure miss
    by_folder, by_name = root / "by-folder", root / "by-name"
    rows = ["file,label"]  # a header, then labels as a wnid, a class id or a class name
    for number, (name, class_id, wnid) in enumerate(images):
        data, stem = _jpeg(name), f"{number}-{Path(name).stem}.jpg"
        (by_folder / wnid).mkdir(parents=True, exist_ok=True)
        (by_folder / wnid / stem).write_bytes(data)
        by_name.mkdir(exist_ok=True)
        (by_name / f"{wnid}_{stem}").write_bytes(data)
        label = [wnid, str(class_id), f'"{ilsvrc2012().names[class_id]}"'][number % 3]
        rows.append(f"../by-name/{wnid}_{stem},{label}")
    (root / "csv").mkdir()
    (root / "csv" / "labels.csv").write_text("\n".join(rows) + "\n")
    return {"wnid folders": by_folder, "wnid file names": by_name, "CSV": root / "csv" / "labels.csv"}


@pytest.mark.parametrize("layout", ["wnid folders", "wnid file names", "CSV"])
def test_evaluate_reports_the_served_accuracy(trained_url, tmp_path, layout):
    dataset = _labelled_sets(tmp_path)[layout]
    command = [
        sys.executable,
        "-m",
        "densenet_client",
        "evaluate",
        str(dataset),
        "--url",
        f"http://{trained_url}",
    ]
    done = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["layout"] == layout
    assert (report["images"], report["classes"], report["failed"], report["skipped"]) == (5, 5, [], [])
    assert (report["top1"]["hits"], report["top1"]["total"]) == (4, 5)
    assert report["top1"]["ci95"] == pytest.approx([0.376, 0.964], abs=1e-3)
    assert report["top5"]["hits"] == 4
    assert [(m["label"], m["predicted"][0]["label"]) for m in report["misses"]] == [
        ("Egyptian cat", "espresso")
    ]
    text = subprocess.run(
        [*command, "--min-top1", "0.9"], capture_output=True, text=True, timeout=300, check=False
    )
    assert text.returncode == 1
    assert "top-1   80.0%   95% CI 37.6% - 96.4%   (4 of 5)" in text.stdout
    assert "n02124075 Egyptian cat" in text.stdout
    assert "top-1 80.0% is below --min-top1 90.0%" in text.stderr
