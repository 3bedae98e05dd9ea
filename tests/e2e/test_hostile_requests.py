"""Odd but valid images get answers; malformed requests get clear errors; the server stays up."""

from __future__ import annotations

import http.client
import json
import time

import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from tests.support.imagefactory import bad_images, odd_images
from tests.support.inference import http_infer, results

pytestmark = pytest.mark.e2e


ODD = odd_images()


@pytest.mark.parametrize("name", list(ODD))
def test_odd_but_valid_images_are_classified_in_bounded_time(http_client, name):
    started = time.monotonic()
    labels, scores, ids = results(http_infer(http_client, [ODD[name]]))
    assert time.monotonic() - started < 30
    assert ids.shape == (1, 5)
    assert np.all(np.isfinite(scores))
    assert all(labels[0])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bad_images()["jpeg-header-only"], "truncated or corrupt JPEG"),
        (bad_images()["png-header-only"], "truncated PNG"),
    ],
    ids=["jpeg-header-only", "png-header-only"],
)
def test_header_only_files_are_400(http_client, data, message):
    with pytest.raises(InferenceServerException, match=message) as caught:
        http_infer(http_client, [data])
    assert caught.value.status() == "400"


def raw_post(http_url: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    host, port = http_url.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


@pytest.mark.parametrize(("declared", "sent"), [(100, 50), (50, 100)], ids=["body-short", "body-long"])
def test_binary_size_mismatch_between_header_and_body(http_url, http_client, declared, sent):
    header = json.dumps(
        {"inputs": [{"name": "IMAGE", "datatype": "UINT8", "shape": [1, declared],
                     "parameters": {"binary_data_size": declared}}]}
    ).encode()  # fmt: skip
    status, text = raw_post(
        http_url,
        "/v2/models/densenet_ensemble/infer",
        header + b"\x01" * sent,
        {"Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"},
    )
    assert status == 400, text
    assert "Traceback" not in text
    assert http_client.is_server_ready()


def test_image_above_the_byte_limit_is_400(http_client):
    too_big = b"\xff\xd8\xff\xe0" + b"\x01" * (16 * 1024 * 1024 + 10)
    with pytest.raises(InferenceServerException, match="the limit is 16777216 bytes") as caught:
        http_infer(http_client, [too_big])
    assert caught.value.status() == "400"
    assert http_client.is_server_ready()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v2/models/no_such_model/infer", {400, 404}),
        ("/v2/models/densenet_ensemble/versions/7/infer", {400, 404}),
    ],
    ids=["unknown-model", "unknown-version"],
)
def test_unknown_model_or_version(http_url, path, expected):
    status, text = raw_post(http_url, path, b"\xff\xd8\xff", {"Inference-Header-Content-Length": "0"})
    assert status in expected, text
    assert "Traceback" not in text
