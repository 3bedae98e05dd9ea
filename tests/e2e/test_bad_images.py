"""Bad images through the whole ensemble: a clear 400 for each, and nobody else harmed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import tritonclient.http as httpclient
from PIL import Image
from tritonclient.utils import InferenceServerException

from tests.support.imagefactory import bad_images, cat_jpeg, encode, gradient, sized_jpeg
from tests.support.inference import curl_json, grpc_infer, http_infer, results, until_admitted

pytestmark = pytest.mark.e2e

GOOD = {
    "cat": cat_jpeg(),
    "coffee": sized_jpeg(640, 480),
    "png": encode(Image.fromarray(gradient(300, 200)), "PNG"),
}
MESSAGES = {
    "empty-after-padding": "empty image",
    "text": "not a recognised image format",
    "random": "not a recognised image format",
    "truncated-jpeg": "truncated",
    "png-bomb": "60000x60000",
    "jpeg-bomb": "60000x60000",
    "gif": "GIF images are not allowed",
}
BAD = {name: (data, MESSAGES[name]) for name, data in bad_images().items() if name in MESSAGES}


def assert_clean_message(message: str) -> None:
    assert "Traceback" not in message
    assert ".py" not in message
    assert "/" not in message.replace("JPEG, PNG", "")


def preprocess_counts(client, headers) -> tuple[int, int]:
    stats = client.get_inference_statistics("preprocess", headers=headers)["model_stats"][0]
    return stats["inference_count"], stats["execution_count"]


def test_mixed_good_and_bad_requests_in_dynamic_batches(http_url, http_client, admin_headers):
    expected = {name: results(http_infer(http_client, [data]))[2][0].tolist() for name, data in GOOD.items()}
    work = [("good", name) for name in GOOD] * 4 + [("bad", name) for name in BAD] * 2
    inferences_before, executions_before = preprocess_counts(http_client, admin_headers)

    def send(item):
        kind, name = item
        with httpclient.InferenceServerClient(http_url, network_timeout=120) as client:
            try:
                image = GOOD[name] if kind == "good" else BAD[name][0]
                ids = results(until_admitted(lambda: http_infer(client, [image])))[2][0]
                return kind, name, ids.tolist(), None
            except InferenceServerException as error:
                return kind, name, error.status(), error.message()

    with ThreadPoolExecutor(len(work)) as pool:
        answers = list(pool.map(send, work))
    for kind, name, payload, message in answers:
        if kind == "good":
            assert message is None, f"{name} failed: {message}"
            assert payload == expected[name]
        else:
            assert payload == "400", f"{name}: status {payload}"
            assert BAD[name][1] in message, f"{name}: {message}"
            assert_clean_message(message)
    inferences, executions = preprocess_counts(http_client, admin_headers)
    # Good images were decoded alongside bad ones in shared executions (not one request per run).
    assert inferences - inferences_before > executions - executions_before
    assert http_client.is_server_ready()


def test_bad_image_over_grpc_is_invalid_argument(grpc_client):
    with pytest.raises(InferenceServerException, match="truncated") as caught:
        grpc_infer(grpc_client, [BAD["truncated-jpeg"][0]])
    assert "INVALID_ARGUMENT" in str(caught.value.status())
    assert_clean_message(caught.value.message())


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([{"name": "IMAGE", "shape": [1, 0], "datatype": "UINT8", "data": []}], "empty image"),
        ([{"name": "IMAGE", "shape": [1, 2], "datatype": "FP32", "data": [1.0, 2.0]}], "expects 'UINT8'"),
        ([{"name": "IMAGE", "shape": [2], "datatype": "UINT8", "data": [1, 2]}], "unexpected shape"),
        (
            [
                {"name": "IMAGE", "shape": [1, 1], "datatype": "UINT8", "data": [1]},
                {"name": "SECOND", "shape": [1, 1], "datatype": "UINT8", "data": [1]},
            ],
            "expected 1 inputs but got 2",
        ),
    ],
    ids=["zero-length", "wrong-datatype", "no-batch-dimension", "second-input"],
)
def test_malformed_requests_get_clear_400s(http_url, http_client, inputs, message):
    code, response = curl_json(http_url, {"inputs": inputs})
    assert code == 400
    assert message in response["error"]
    assert http_client.is_server_ready()
