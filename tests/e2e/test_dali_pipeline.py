"""The DALI preprocess pipeline (preprocess/configs/dali.pbtxt) on the real server, on DALI's CPU operators.

The GPU deployment loads the same model.py and parameters with ``kind: KIND_GPU``; here the scratch
repository's copy says ``KIND_CPU`` (DALI's CPU twin) and nothing else changes, so these tests run
the served DALI path end to end: a trained classifier's answers, and bad images refused per request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from densenet_serve import TritonServer
from preprocess import PreprocessConfig
from tests.support.imagefactory import bad_images, cat_jpeg, corrupt_huffman_table, encode, photo, sized_jpeg
from tests.support.inference import http_infer, reference_top_k, results, until_admitted
from tests.support.scratch import scratch_repository
from tests.support.servers import REPO_ROOT, serving

pytest.importorskip("nvidia.dali", reason="nvidia-dali is in requirements/dali.txt (make dev installs it)")
pytestmark = pytest.mark.e2e

PHOTOS = ("chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "camera.png", "astronaut.png")


def _jpeg(name: str) -> bytes:
    return encode(photo(name).convert("RGB"), "JPEG", quality=92)


def serve_dali_on_the_cpu(repository: Path) -> None:
    """The launcher serves --model-config-name=cpu: the DALI config, on the CPU, under that name."""
    preprocess = repository / "preprocess"
    dali = (preprocess / "configs" / "dali.pbtxt").read_text()
    assert "kind: KIND_GPU" in dali
    (preprocess / "configs" / "cpu.pbtxt").write_text(dali.replace("kind: KIND_GPU", "kind: KIND_CPU"))


@pytest.fixture(scope="module")
def dali_server(trained_model, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    workdir = tmp_path_factory.mktemp("dali")
    repository = scratch_repository(
        REPO_ROOT / "model_repository", workdir / "model_repository", trained_model
    )
    serve_dali_on_the_cpu(repository)
    with serving(repository, workdir) as triton:
        yield triton


@pytest.fixture(scope="module")
def dali_url(dali_server: TritonServer) -> str:
    return f"127.0.0.1:{dali_server.options.http_port}"


@pytest.fixture
def client(dali_url: str) -> Iterator[httpclient.InferenceServerClient]:
    with httpclient.InferenceServerClient(dali_url, network_timeout=120) as http:
        yield http


def test_the_served_preprocess_runs_dali(client):
    parameters = client.get_model_config("preprocess")["parameters"]
    assert parameters["pipeline"]["string_value"] == "dali"
    assert parameters["preset"]["string_value"] == "efficientnet_lite"  # set by densenet-build model


def test_answers_equal_the_python_pipelines(client, trained_model):
    """The classes the Python path ranks best (computed in this process) get the same probabilities
    within 0.02, and the same top-1 wherever it leads by more than that (near ties may swap).

    The reference decodes JPEGs at full size, as DALI does; the default fast path's reduced DCT
    scale moves low-confidence answers a little more (docs/preprocessing.md, "DALI")."""
    config = PreprocessConfig.from_preset("efficientnet_lite", jpeg_draft=False)
    images = [_jpeg(name) for name in PHOTOS]
    _, scores, ids = results(http_infer(client, images, top_k=1000))
    for name, image, served_ids, served_scores in zip(PHOTOS, images, ids, scores, strict=True):
        served = dict(zip(served_ids.tolist(), served_scores.tolist(), strict=True))
        expected_ids, expected_scores = reference_top_k(image, trained_model.path, 3, config)
        for class_id, probability in zip(expected_ids.tolist(), expected_scores.tolist(), strict=True):
            assert abs(served[class_id] - probability) < 0.02, f"{name}: class {class_id}"
        if expected_scores[0] - expected_scores[1] > 0.02:
            assert served_ids[0] == expected_ids[0], name


def test_good_and_bad_requests_in_dynamic_batches_each_get_their_own_answer(dali_url, client):
    good = {"cat": cat_jpeg(), "coffee": sized_jpeg(640, 480)}
    bad = {**bad_images(), "bad-huffman-table": corrupt_huffman_table(cat_jpeg())}
    expected = {name: results(http_infer(client, [data]))[2][0].tolist() for name, data in good.items()}
    work = [("good", name) for name in good] * 6 + [("bad", name) for name in bad] * 2

    def send(item: tuple[str, str]):
        kind, name = item
        with httpclient.InferenceServerClient(dali_url, network_timeout=120) as http:
            image = (good if kind == "good" else bad)[name]
            try:  # more at once than the bounded queues hold: a busy refusal is sent again
                return item, results(until_admitted(lambda: http_infer(http, [image])))[2][0].tolist()
            except InferenceServerException as error:
                return item, (error.status(), error.message())

    with ThreadPoolExecutor(len(work)) as pool:
        answers = list(pool.map(send, work))
    for (kind, name), answer in answers:
        if kind == "good":
            assert answer == expected[name], name
        else:
            status, message = answer
            assert status == "400", f"{name}: {status} {message}"
            assert "Traceback" not in message
            assert ".py" not in message
    assert client.is_server_ready()


def test_a_bad_image_in_a_multi_image_request_names_its_row(client):
    with pytest.raises(InferenceServerException) as caught:
        http_infer(client, [cat_jpeg(), corrupt_huffman_table(cat_jpeg())])
    assert caught.value.status() == "400"
    assert "image 2 of 2: corrupt image data" in caught.value.message()
    labels, _, _ = results(http_infer(client, [cat_jpeg()]))  # the rebuilt pipeline serves on
    assert labels[0]


def test_the_dali_pipeline_unloads_cleanly(dali_server):
    """Last in this file: stopping the server runs each instance's finalize, which closes the pipeline."""
    dali_server.stop()
    log = dali_server.log_path.read_text(errors="replace")
    assert "successfully unloaded 'preprocess'" in log
    finalize_failures = re.findall(r"[^\n]*\): finalize[^\n]*", log)
    assert not finalize_failures, f"finalize raised: {finalize_failures}"
