"""The prediction-quality metrics on the real server: each counter moves by exactly what was sent.

A first server (the session's) answers a folder of photographs through ``densenet-client baseline``:
that file is the drift reference, and its probabilities place the low-confidence threshold between
the answers. A second server is then started with that reference, the threshold, a drift window of
exactly the folder's size and a 1 MB byte limit. It receives the same photographs (good answers,
some below the threshold), refused images of every reason, a request mixing a good image and a
bad one, and one with a bad ``top_k`` (refused by postprocess: no answer). Its metrics endpoint
must then show exactly those counts: histogram buckets, per-class predictions, refusals per
reason, input sizes, the info gauges, and drift scores computed here with the same pure functions.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from densenet_build.repository.pbtxt import update_parameters
from densenet_client.monitoring import parse_metrics, summarize
from postprocess.confidence import CONFIDENCE_BUCKETS
from postprocess.drift import Distribution, drift, noise_floor
from preprocess.decode import strip_padding
from preprocess.input_metrics import BYTES_BUCKETS, PIXELS_BUCKETS
from tests.support.imagefactory import bad_images, cat_jpeg, encode, photo
from tests.support.inference import http_infer
from tests.support.scratch import scratch_repository
from tests.support.servers import REPO_ROOT, serving

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).parent / "densenet-client")
PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "horse.png", "camera.png")
MAX_BYTES = 1_000_000
# Each refused image and the reason it must be counted under.
REFUSED = {
    "empty-after-padding": "empty",
    "text": "format",
    "random": "format",
    "gif": "format",
    "truncated-jpeg": "corrupt",
    "jpeg-header-only": "corrupt",
    "png-header-only": "corrupt",
    "png-bomb": "too_many_pixels",
    "jpeg-bomb": "too_many_pixels",
}


def metrics(url: str) -> dict:
    with urllib.request.urlopen(f"http://{url}/metrics", timeout=10) as response:
        return parse_metrics(response.read().decode())


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[name][tuple(sorted(labels.items()))]


def buckets(samples: dict, name: str) -> dict[float, float]:
    return {float(dict(k)["le"]): v for k, v in samples[name + "_bucket"].items()}


def expected_buckets(values: list[float], bounds: tuple[float, ...]) -> dict[float, float]:
    counts = {bound: float(sum(v <= bound for v in values)) for bound in bounds}
    return {**counts, math.inf: float(len(values))}


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("typical")
    for name in PHOTOS:
        (folder / f"{Path(name).stem}.jpg").write_bytes(encode(photo(name), "JPEG"))
    return folder


@pytest.fixture(scope="module")
def reference(server, photo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``densenet-client baseline`` on the folder, against the session's server."""
    output = tmp_path_factory.mktemp("baseline") / "drift_reference.json"
    completed = subprocess.run(
        [CLI, "baseline", str(photo_folder), "-o", str(output), "--url", server.http_url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    data = json.loads(output.read_text())
    assert data["images"] == len(PHOTOS) == len(data["class_ids"]) == len(data["top1_probabilities"])
    return data


@pytest.fixture(scope="module")
def threshold(reference: dict) -> float:
    """Half-way between the middle two answers' probabilities: some answers fall below, some not."""
    scores = sorted(reference["top1_probabilities"])
    middle = len(scores) // 2
    assert scores[middle - 1] < scores[middle], scores
    return (scores[middle - 1] + scores[middle]) / 2


@pytest.fixture(scope="module")
def quality_server(seeded_onnx, tmp_path_factory, reference: dict, threshold: float) -> Iterator[str]:
    """Its own server: nobody else's requests reach it; returns the metrics address."""
    workdir = tmp_path_factory.mktemp("quality")
    repository = scratch_repository(REPO_ROOT / "model_repository", workdir / "model_repository", seeded_onnx)
    (repository / "postprocess" / "drift_reference.json").write_text(json.dumps(reference))
    update_parameters(
        repository / "postprocess" / "config.pbtxt",
        {
            "drift_reference": "drift_reference.json",
            "drift_window": str(len(PHOTOS)),
            "low_confidence_threshold": repr(threshold),
        },
    )
    update_parameters(repository / "preprocess" / "config.pbtxt", {"max_bytes": str(MAX_BYTES)})
    with serving(repository, workdir) as triton:
        yield triton


def answer(client, image: bytes) -> tuple[int, float]:
    result = http_infer(client, [image], top_k=1)
    return int(result.as_numpy("CLASS_IDS")[0, 0]), float(result.as_numpy("SCORES")[0, 0])


def settled(url: str, check, timeout_s: float = 60.0) -> dict:
    """The metrics once ``check(samples)`` passes: the models write them just after answering (off
    the request path), so a reader may see the state before; polled, with a deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        samples = metrics(url)
        try:
            check(samples)
            return samples
        except (AssertionError, KeyError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def test_counters_move_by_exactly_what_was_sent(quality_server, photo_folder, reference, threshold):
    metrics_url = f"127.0.0.1:{quality_server.options.metrics_port}"
    http_url = f"127.0.0.1:{quality_server.options.http_port}"
    start = metrics(metrics_url)
    # Nothing is counted before the first request: Triton's warm-up answers are not answers.
    assert value(start, "densenet_top1_probability_count") == 0
    assert value(start, "densenet_image_bytes_count") == 0
    assert math.isnan(value(start, "densenet_drift_score"))
    assert value(start, "densenet_drift_window_answers") == 0

    good = [path.read_bytes() for path in sorted(photo_folder.iterdir())]
    too_large = b"\xff\xd8\xff" + b"\x01" * MAX_BYTES
    refused = {**{name: bad_images()[name] for name in REFUSED}, "too-large": too_large}
    reference_distribution = Distribution.of(
        np.array(reference["class_ids"]), np.array(reference["top1_probabilities"]), 1000
    )
    answers = []
    with httpclient.InferenceServerClient(http_url, network_timeout=120) as client:
        answers += [answer(client, image) for image in good]

        def full_window_like_the_reference(samples):
            # The same images as the reference, and the window holds exactly them: no drift at all.
            assert value(samples, "densenet_drift_window_answers") == len(PHOTOS)
            assert value(samples, "densenet_drift_score") == 0.0

        settled(metrics_url, full_window_like_the_reference)
        for image in refused.values():
            with pytest.raises(InferenceServerException):
                http_infer(client, [image])
        with pytest.raises(InferenceServerException):  # one bad image fails its whole request
            http_infer(client, [cat_jpeg(), bad_images()["text"]])
        with pytest.raises(InferenceServerException):  # refused by postprocess: not an answer
            http_infer(client, [cat_jpeg()], top_k=5000)
        answers += [answer(client, cat_jpeg()) for _ in range(3)]

    ids = [class_id for class_id, _ in answers]
    scores = [score for _, score in answers]
    low = sum(score < threshold for score in scores)
    assert 0 < low < len(answers)
    sent = [*good, *refused.values(), cat_jpeg(), bad_images()["text"], cat_jpeg(), *[cat_jpeg()] * 3]
    reasons = Counter([*REFUSED.values(), "too_large", "format"])
    sizes = [len(strip_padding(image)) for image in sent]
    # The mixed request's good image and the one with a bad top_k were decoded too.
    accepted = [*good, cat_jpeg(), cat_jpeg(), *[cat_jpeg()] * 3]
    pixels = [photo_size(image) for image in accepted]
    window = answers[-len(PHOTOS) :]  # the drift window: the last len(PHOTOS) answers
    expected = drift(
        Distribution.of(np.array([i for i, _ in window]), np.array([s for _, s in window]), 1000),
        reference_distribution,
    )
    assert expected.score > 0

    def everything_sent(end):
        # postprocess: every answer, its top-1 probability bucket and class, the low-confidence ones.
        assert value(end, "densenet_top1_probability_count") == len(answers)
        assert buckets(end, "densenet_top1_probability") == expected_buckets(scores, CONFIDENCE_BUCKETS)
        assert value(end, "densenet_top1_probability_sum") == pytest.approx(sum(scores), rel=1e-9)
        assert value(end, "densenet_low_confidence_answers_total") == low
        assert value(end, "densenet_low_confidence_threshold") == pytest.approx(threshold, rel=1e-12)
        predicted = {
            int(dict(labels)["class_id"]): count
            for labels, count in end["densenet_predictions_total"].items()
        }
        assert len(predicted) == 1000
        assert {k: v for k, v in predicted.items() if v} == dict(Counter(ids))
        # preprocess: every image it was sent, each refusal under its reason, the sizes it saw.
        assert value(end, "densenet_image_bytes_count") == len(sent)
        for reason in ("empty", "too_large", "format", "too_many_pixels", "corrupt", "other"):
            assert value(end, "densenet_images_refused_total", reason=reason) == reasons[reason], reason
        assert buckets(end, "densenet_image_bytes") == expected_buckets(sizes, BYTES_BUCKETS)
        assert buckets(end, "densenet_image_pixels") == expected_buckets(pixels, PIXELS_BUCKETS)
        # drift: the last window against the reference, computed here with the same pure functions.
        assert value(end, "densenet_drift_window_answers") == len(PHOTOS)
        assert value(end, "densenet_drift_score") == pytest.approx(expected.score, rel=1e-9)
        floor = noise_floor(reference_distribution, len(PHOTOS))
        assert value(end, "densenet_drift_noise_floor") == pytest.approx(floor, rel=1e-9)

    end = settled(metrics_url, everything_sent)

    # What is served, as recorded in the configs.
    (weights,) = end["densenet_served_weights_info"].items()
    assert dict(weights[0])["weights"].startswith("seeded-random")
    assert weights[1] == 1
    (preprocessing,) = end["densenet_preprocessing_info"].items()
    assert dict(preprocessing[0])["preset"] == "densenet_caffe"
    assert preprocessing[1] == 1

    # docs/quality.md: about 1,045 series, 1,000 of them the class counts.
    series = sum(len(values) for name, values in end.items() if name.startswith("densenet_"))
    assert series == 1045

    summary = summarize(end)
    assert (summary.answers, summary.low_confidence, summary.images) == (len(answers), low, len(sent))
    assert sum(summary.refused.values()) == len(refused) + 1


def photo_size(image: bytes) -> int:
    from io import BytesIO

    from PIL import Image

    width, height = Image.open(BytesIO(image)).size
    return width * height


def test_the_client_prints_the_summary(quality_server):
    completed = subprocess.run(
        [CLI, "quality", "--metrics-url", f"http://127.0.0.1:{quality_server.options.metrics_port}/metrics"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    print(completed.stdout)  # docs/quality.md shows such a summary
    assert "low confidence" in completed.stdout
    assert "seeded-random" in completed.stdout
    assert "drift score" in completed.stdout


def test_the_dali_engine_counts_the_same(seeded_onnx, tmp_path_factory):
    """preprocess with engine dali (on DALI's CPU operators): the same input metrics, exactly."""
    pytest.importorskip(
        "nvidia.dali", reason="nvidia-dali is in requirements/dali.txt (make dev installs it)"
    )
    workdir = tmp_path_factory.mktemp("quality-dali")
    repository = scratch_repository(REPO_ROOT / "model_repository", workdir / "model_repository", seeded_onnx)
    preprocess = repository / "preprocess"
    dali = (preprocess / "configs" / "dali.pbtxt").read_text().replace("kind: KIND_GPU", "kind: KIND_CPU")
    (preprocess / "configs" / "cpu.pbtxt").write_text(dali)  # the launcher serves --model-config-name=cpu
    good = [encode(photo(name), "JPEG") for name in PHOTOS[:2]]
    refused = {"format": bad_images()["gif"], "too_many_pixels": bad_images()["png-bomb"]}
    with serving(repository, workdir) as triton:
        url = f"127.0.0.1:{triton.options.metrics_port}"
        with httpclient.InferenceServerClient(
            f"127.0.0.1:{triton.options.http_port}", network_timeout=120
        ) as client:
            answers = [answer(client, image) for image in good]
            for image in refused.values():
                with pytest.raises(InferenceServerException):
                    http_infer(client, [image])

        def counted(samples):
            assert value(samples, "densenet_top1_probability_count") == len(answers)
            sizes = [len(image) for image in [*good, *refused.values()]]
            assert buckets(samples, "densenet_image_bytes") == expected_buckets(sizes, BYTES_BUCKETS)
            pixels = [photo_size(image) for image in good]
            assert buckets(samples, "densenet_image_pixels") == expected_buckets(pixels, PIXELS_BUCKETS)
            for reason in ("empty", "too_large", "format", "too_many_pixels", "corrupt", "other"):
                expected = 1 if reason in refused else 0
                assert value(samples, "densenet_images_refused_total", reason=reason) == expected, reason

        samples = settled(url, counted)
    (preprocessing,) = samples["densenet_preprocessing_info"]
    assert dict(preprocessing)["preset"] == "densenet_caffe"
