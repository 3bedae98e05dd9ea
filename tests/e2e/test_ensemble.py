"""The ensemble on the real server: HTTP, gRPC, curl, several images, concurrency, top_k, parity."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from densenet_serve import MODELS
from tests.support.imagefactory import cat_jpeg, encode, photo, sized_jpeg
from tests.support.inference import (
    curl_json,
    grpc_infer,
    http_infer,
    image_rows,
    reference_top_k,
    results,
    until_admitted,
)

pytestmark = pytest.mark.e2e


def test_all_models_ready_and_weights_reported(http_client):
    for model in MODELS:
        assert http_client.is_model_ready(model)
    parameters = http_client.get_model_config("densenet")["parameters"]
    assert "seeded-random" in parameters["weights"]["string_value"]
    assert len(parameters["source_sha256"]["string_value"]) == 64


def test_http_classifies_a_photo(http_client, cat, labels):
    names, scores, ids = results(http_infer(http_client, [cat]))
    assert scores.shape == ids.shape == (1, 5)
    assert ids.dtype == np.int32
    assert scores.dtype == np.float32
    assert np.all(np.diff(scores[0]) <= 0), "best first"
    assert 0 < scores[0].sum() <= 1.0001
    assert names[0] == [labels[i] for i in ids[0]]


def test_grpc_gives_the_same_answer(grpc_client, http_client, cat):
    _, grpc_scores, grpc_ids = results(grpc_infer(grpc_client, [cat]))
    _, http_scores, http_ids = results(http_infer(http_client, [cat]))
    np.testing.assert_array_equal(grpc_ids, http_ids)
    np.testing.assert_allclose(grpc_scores, http_scores, rtol=1e-6)


def test_parity_with_in_process_reference(http_client, cat, model_repository):
    _, scores, ids = results(http_infer(http_client, [cat]))
    ref_ids, ref_scores = reference_top_k(cat, model_repository / "densenet" / "1" / "model.onnx")
    assert ids[0].tolist() == ref_ids.tolist()
    np.testing.assert_allclose(scores[0], ref_scores, atol=1e-4)


def test_raw_binary_curl_request(http_url, cat, tmp_path):
    """The README's one curl: the body is the JPEG, nothing else."""
    import tritonclient.http as httpclient

    image = tmp_path / "cat.jpg"
    image.write_bytes(cat)
    headers, body = tmp_path / "headers.txt", tmp_path / "body.bin"
    subprocess.run(
        [
            "curl",
            "-sS",
            "--fail-with-body",
            "--data-binary",
            f"@{image}",
            "-H",
            "Inference-Header-Content-Length: 0",
            "-D",
            str(headers),
            "-o",
            str(body),
            f"http://{http_url}/v2/models/densenet_ensemble/infer",
        ],
        check=True,
        timeout=60,
    )
    header_length = next(
        int(line.split(":", 1)[1])
        for line in headers.read_text().splitlines()
        if line.lower().startswith("inference-header-content-length")
    )
    result = httpclient.InferResult.from_response_body(body.read_bytes(), header_length=header_length)
    names, scores, ids = results(result)
    assert ids.shape == (1, 5)
    assert len(names[0]) == 5
    assert np.all(np.diff(scores[0]) <= 0)


def test_json_in_json_out_request_is_readable(http_url, cat):
    request = {
        "inputs": [{"name": "IMAGE", "datatype": "UINT8", "shape": [1, len(cat)], "data": list(cat)}],
        "parameters": {"top_k": 3},
    }
    code, response = curl_json(http_url, request)
    assert code == 200, response
    outputs = {o["name"]: o for o in response["outputs"]}
    assert set(outputs) == {"LABELS", "SCORES", "CLASS_IDS"}
    assert outputs["LABELS"]["shape"] == [1, 3]
    assert all(isinstance(label, str) for label in outputs["LABELS"]["data"])
    assert all(0 <= s <= 1 for s in outputs["SCORES"]["data"])


def test_several_images_in_one_request(http_client):
    images = [cat_jpeg(), sized_jpeg(640, 480), encode(photo("astronaut.png"), "PNG")]
    _names, scores, ids = results(http_infer(http_client, images))
    assert ids.shape == (3, 5)
    for row, image in enumerate(images):
        _, single_scores, single_ids = results(http_infer(http_client, [image]))
        assert ids[row].tolist() == single_ids[0].tolist()
        np.testing.assert_allclose(scores[row], single_scores[0], atol=1e-5)


def test_sixteen_concurrent_requests(http_url, cat):
    import tritonclient.http as httpclient

    images = [cat, sized_jpeg(500, 375), sized_jpeg(300, 500, "astronaut.png"), sized_jpeg(224, 224)]
    with httpclient.InferenceServerClient(http_url, network_timeout=120) as client:
        expected = [results(http_infer(client, [image]))[2][0].tolist() for image in images]

    def one(index: int) -> list[int]:
        # More at once than the CPU server's bounded queues hold: the surplus is refused as busy
        # at once and sent again, as a client does (test_overload.py checks the refusals).
        with httpclient.InferenceServerClient(http_url, network_timeout=120) as client:
            return results(until_admitted(lambda: http_infer(client, [images[index % 4]])))[2][0].tolist()

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(16)))
    assert answers == [expected[i % 4] for i in range(16)]


@pytest.mark.parametrize("k", [1, 3, 1000])
def test_per_request_top_k(http_client, grpc_client, cat, k):
    _, scores, ids = results(http_infer(http_client, [cat], top_k=k))
    assert ids.shape == (1, k)
    _, _, grpc_ids = results(grpc_infer(grpc_client, [cat], top_k=k))
    assert grpc_ids.tolist() == ids.tolist()
    if k == 1000:
        np.testing.assert_allclose(scores.sum(), 1.0, rtol=1e-4)
        assert sorted(ids[0].tolist()) == list(range(1000))


@pytest.mark.parametrize("k", [0, -3, 1001, "many", 2.5])
def test_invalid_top_k_is_a_400(http_client, http_url, cat, k):
    with pytest.raises(InferenceServerException, match="top_k must be") as caught:
        http_infer(http_client, [cat], top_k=k)
    assert caught.value.status() == "400"
    assert http_client.is_server_ready()


def test_invalid_top_k_over_grpc_is_invalid_argument(grpc_client, cat):
    with pytest.raises(InferenceServerException, match="top_k must be") as caught:
        grpc_infer(grpc_client, [cat], top_k=0)
    assert "INVALID_ARGUMENT" in str(caught.value.status())


def test_bad_image_is_a_400_and_harms_nobody(http_client, http_url, cat):
    with pytest.raises(InferenceServerException, match="not a recognised image format") as caught:
        http_infer(http_client, [b"this is not an image"])
    assert caught.value.status() == "400"
    message = caught.value.message()
    assert "Traceback" not in message
    assert "/" not in message.replace("JPEG, PNG", "")
    _, _, ids = results(http_infer(http_client, [cat]))
    assert ids.shape == (1, 5)
    assert http_client.is_server_ready()


def test_one_bad_image_among_several_names_its_position(http_client, cat):
    with pytest.raises(InferenceServerException, match=r"image 2 of 3: .*truncated") as caught:
        http_infer(http_client, [cat, cat[: len(cat) // 2], cat])
    assert caught.value.status() == "400"


def test_requests_of_different_sizes_batch_together(http_url):
    """Ragged batching: concurrent requests with different byte lengths and image counts."""
    import tritonclient.http as httpclient

    requests = [[sized_jpeg(320, 240)], [sized_jpeg(800, 600), sized_jpeg(200, 200)], [cat_jpeg()]] * 3

    def one(images):
        with httpclient.InferenceServerClient(http_url, network_timeout=120) as client:
            return results(until_admitted(lambda: http_infer(client, images)))[2].shape

    with ThreadPoolExecutor(9) as pool:
        shapes = list(pool.map(one, requests))
    assert shapes == [(len(r), 5) for r in requests]


def test_image_rows_pads_with_zeros():
    rows = image_rows([b"\x01\x02\x03", b"\x04"])
    assert rows.tolist() == [[1, 2, 3], [4, 0, 0]]
