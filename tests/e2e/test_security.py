"""Security properties of our configuration of the real server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from densenet_serve.core import ADMIN_HEADER, GRPC_ADMIN_HEADER
from tests.support.processes import listening_addresses

pytestmark = pytest.mark.e2e

RESTRICTED_GETS = [
    "/v2/models/densenet/stats",
    "/v2/logging",
    "/v2/trace/setting",
]
RESTRICTED_POSTS = [
    ("/v2/repository/index", {}),
    ("/v2/repository/models/densenet/unload", {}),
    ("/v2/repository/models/densenet/load", {}),
    ("/v2/systemsharedmemory/region/x/register", {"key": "/x", "offset": 0, "byte_size": 16}),
]


def call(http_url: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{http_url}{path}", data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize("path", RESTRICTED_GETS)
def test_restricted_get_needs_the_token(http_url, admin_headers, path):
    assert call(http_url, path)[0] == 403
    assert call(http_url, path, headers={"admin-token": "wrong"})[0] == 403
    assert call(http_url, path, headers=admin_headers)[0] == 200


@pytest.mark.parametrize(("path", "body"), RESTRICTED_POSTS, ids=[p for p, _ in RESTRICTED_POSTS])
def test_restricted_post_is_refused_without_the_token(http_url, path, body):
    status, text = call(http_url, path, body)
    assert status == 403
    assert "restricted" in text.lower()


def test_model_load_and_unload_are_refused_even_with_the_token(http_url, http_client, admin_headers):
    for action in ("unload", "load"):
        status, text = call(http_url, f"/v2/repository/models/densenet/{action}", {}, admin_headers)
        assert status >= 400, f"{action} was allowed: {text}"
        assert "explicit model load / unload is not allowed" in text
    assert http_client.is_model_ready("densenet")


def test_grpc_restricted_protocols_need_the_token(grpc_url, admin_headers):
    grpc_headers = {GRPC_ADMIN_HEADER: admin_headers[ADMIN_HEADER]}
    with grpcclient.InferenceServerClient(grpc_url) as client:
        with pytest.raises(InferenceServerException, match="This protocol is restricted"):
            client.get_inference_statistics("densenet")
        with pytest.raises(InferenceServerException, match="This protocol is restricted"):
            client.unload_model("densenet")
        with pytest.raises(InferenceServerException, match="explicit model load / unload is not allowed"):
            client.unload_model("densenet", headers=grpc_headers)
        assert client.get_inference_statistics("densenet", headers=grpc_headers).model_stats
        assert client.is_model_ready("densenet")


def test_inference_health_and_metadata_stay_open(http_url):
    assert call(http_url, "/v2/health/ready")[0] == 200
    assert call(http_url, "/v2/models/densenet_ensemble")[0] == 200
    assert call(http_url, "/v2/models/densenet_ensemble/config")[0] == 200


def test_binds_to_localhost_by_default(server):
    # 127.0.0.1 in /proc/net/tcp's byte order, alone or IPv4-mapped in tcp6 (gRPC listens there).
    loopback = {"0100007F", "0000000000000000FFFF00000100007F"}
    for port in (server.options.http_port, server.options.grpc_port, server.options.metrics_port):
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on {port}"
        assert addresses <= loopback, f"port {port} listens beyond loopback: {addresses}"
