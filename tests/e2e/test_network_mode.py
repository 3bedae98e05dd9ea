"""Network mode under attack: the one-request crashes of tritonserver 2.51 stop at nginx.

One launcher (`densenet-serve --host 0.0.0.0`) serves the whole module; every test checks that
tritonserver was neither restarted nor replaced. All traffic goes to 127.0.0.1, bounded.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from densenet_serve.core import GRPC_ADMIN_HEADER
from tests.support.bare import postprocess_only_server
from tests.support.inference import http_infer, results
from tests.support.network import ADMIN_TOKEN, NetworkLauncher, start_network_launcher
from tests.support.processes import listening_addresses

pytestmark = pytest.mark.e2e

INFER = "/v2/models/densenet_ensemble/infer"
CHUNKS = 3_000_000  # one-byte chunks: tritonserver 2.51 overflows its stack on them (test below)
NESTING = 50_000  # nested JSON arrays that crash tritonserver 2.51 (30,000 do not)


@pytest.fixture(scope="module")
def edge(model_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetworkLauncher]:
    launcher = start_network_launcher(model_repository, tmp_path_factory.mktemp("network"))
    yield launcher
    assert launcher.stop() == 0


@pytest.fixture
def unharmed(edge: NetworkLauncher) -> Iterator[None]:
    """After the test: the same tritonserver process, no restart, and a real inference answered."""
    pid = edge.tritonserver_pid()
    yield
    assert edge.process.poll() is None, edge.output()[-3000:]
    assert edge.tritonserver_pid() == pid, "tritonserver was replaced"
    assert "watchdog:" not in edge.output(), edge.output()[-3000:]
    assert https_classify(edge).shape == (1, 5)


def https_classify(edge: NetworkLauncher, image: bytes | None = None) -> np.ndarray:
    from tests.support.imagefactory import cat_jpeg

    client = httpclient.InferenceServerClient(
        f"127.0.0.1:{edge.https_port}", ssl=True, ssl_options={"ca_certs": str(edge.certificate)}
    )
    with client:
        return results(http_infer(client, [image or cat_jpeg()]))[2]


def post(edge: NetworkLauncher, path: str, body: bytes, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(edge.https_url + path, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120, context=edge.ssl_context()) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def get(edge: NetworkLauncher, path: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(edge.https_url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60, context=edge.ssl_context()) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def requests_seen(edge: NetworkLauncher) -> int:
    """Requests Triton has counted for the ensemble and preprocess (successes and failures)."""
    total = 0
    for model in ("densenet_ensemble", "preprocess"):
        status, text = get(edge, f"/v2/models/{model}/stats", {"admin-token": ADMIN_TOKEN})
        assert status == 200, text
        stats = json.loads(text)["model_stats"][0]["inference_stats"]
        total += stats["success"]["count"] + stats["fail"]["count"]
    return total


def chunk_flood(sock, chunks: int, path: str = INFER) -> bytes:
    """One binary infer request whose body is ``chunks`` one-byte chunks; returns the reply's start."""
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        "Inference-Header-Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )
    block = b"1\r\nx\r\n" * 100_000
    for _ in range(chunks // 100_000):
        sock.sendall(block)
    sock.sendall(b"0\r\n\r\n")
    reply = b""
    while b"\r\n\r\n" not in reply:
        data = sock.recv(65536)
        if not data:
            break
        reply += data
    return reply


def nested_json(depth: int) -> bytes:
    data = b"[" * depth + b"]" * depth
    return b'{"inputs":[{"name":"IMAGE","datatype":"UINT8","shape":[1,1],"data":' + data + b"}]}"


def tritonserver_rss(edge: NetworkLauncher) -> int:
    for line in Path(f"/proc/{edge.tritonserver_pid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_the_chunk_flood_is_de_chunked_and_reaches_triton_as_one_bad_image(edge, unharmed):
    with edge.tls_socket() as sock:
        reply = chunk_flood(sock, CHUNKS)
    # Triton itself answers: the body arrived whole (3 MB of 'x'), as a Content-Length body.
    assert reply.startswith(b"HTTP/1.1 400"), reply[:300]
    assert b"not a recognised image format" in reply


@pytest.mark.parametrize("with_header", [False, True], ids=["json-body", "json-header"])
def test_deeply_nested_json_is_refused_at_the_edge(edge, unharmed, with_header):
    body = nested_json(NESTING)
    headers = {"Inference-Header-Content-Length": str(len(body))} if with_header else {}
    seen = requests_seen(edge)
    status, text = post(edge, INFER, body, headers)
    assert status == 413
    assert "send tensors as binary data" in json.loads(text)["error"]
    assert requests_seen(edge) == seen


def test_small_json_requests_still_reach_triton(edge, unharmed):
    body = json.dumps(
        {"inputs": [{"name": "IMAGE", "datatype": "UINT8", "shape": [1, 4], "data": [1, 2, 3, 4]}]}
    )
    status, text = post(edge, INFER, body.encode(), {"Content-Type": "application/json"})
    assert status == 400
    assert "not a recognised image format" in text


def test_a_20_mib_body_gets_413_from_the_proxy_and_never_reaches_triton(edge, unharmed):
    seen = requests_seen(edge)
    status, text = post(edge, INFER, bytes(20 << 20), {"Inference-Header-Content-Length": "0"})
    assert status == 413
    assert "request body above" in text
    assert requests_seen(edge) == seen


def test_a_gzip_bomb_is_refused_at_the_edge_and_triton_memory_does_not_move(edge, unharmed):
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    block = bytes(1 << 20)
    bomb = b"".join(compressor.compress(block) for _ in range(1024)) + compressor.flush()
    assert len(bomb) < 2 << 20  # ~1 MiB on the wire, 1 GiB inflated
    before, seen = tritonserver_rss(edge), requests_seen(edge)
    status, text = post(
        edge, INFER, bomb, {"Content-Encoding": "gzip", "Inference-Header-Content-Length": "0"}
    )
    assert status == 415
    assert "compressed request bodies" in text
    # Inflated by tritonserver 2.51 it grew the process by 1.2 GB; refused, nothing arrives.
    assert tritonserver_rss(edge) - before < 64 << 20
    assert requests_seen(edge) == seen


@pytest.mark.parametrize("encoding", ["deflate", "br", "GZIP", "identity, gzip"])
def test_every_content_encoding_but_identity_is_refused(edge, encoding):
    status, _ = post(
        edge, INFER, b"x", {"Content-Encoding": encoding, "Inference-Header-Content-Length": "0"}
    )
    assert status == 415


def test_200_idle_slow_connections_do_not_stop_real_clients(edge, unharmed, cat):
    slow = []
    try:
        for i in range(200):
            if i % 2:  # half never even start TLS
                slow.append(socket.create_connection(("127.0.0.1", edge.https_port), timeout=30))
            else:  # half send the start of a request and stall
                sock = edge.tls_socket(timeout_s=30)
                sock.sendall(f"POST {INFER} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le".encode())
                slow.append(sock)
        assert https_classify(edge, cat).shape == (1, 5)
        assert grpc_classify(edge, cat).shape == (1, 5)
    finally:
        for sock in slow:
            sock.close()


def grpc_classify(edge: NetworkLauncher, image: bytes) -> np.ndarray:
    array = np.frombuffer(image, dtype=np.uint8)[np.newaxis]
    with grpcclient.InferenceServerClient(
        f"127.0.0.1:{edge.grpc_port}", ssl=True, root_certificates=str(edge.certificate)
    ) as client:
        tensor = grpcclient.InferInput("IMAGE", list(array.shape), "UINT8")
        tensor.set_data_from_numpy(array)
        return client.infer("densenet_ensemble", [tensor], client_timeout=120).as_numpy("CLASS_IDS")


def test_https_and_grpc_over_tls_classify_alike(edge, cat):
    assert np.array_equal(https_classify(edge, cat), grpc_classify(edge, cat))


@pytest.mark.parametrize("trust", [["--cacert", "CERT"], ["-k"]], ids=["cacert", "insecure"])
def test_curl_over_https(edge, cat, tmp_path, trust):
    image = tmp_path / "cat.jpg"
    image.write_bytes(cat)
    command = [
        "curl", "-sS", "--fail-with-body", *[str(edge.certificate) if a == "CERT" else a for a in trust],
        "--data-binary", f"@{image}", "-H", "Inference-Header-Content-Length: 0", edge.https_url + INFER,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b'{"model_name":"densenet_ensemble"')


def test_the_certificate_fingerprint_is_printed(edge):
    from densenet_serve.tls import fingerprint

    assert f"SHA-256 fingerprint {fingerprint(edge.certificate)}" in edge.output()


def test_plain_http_is_not_served_on_the_https_port(edge):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{edge.https_port}/v2/health/ready", timeout=30)
    assert refused.value.code == 400


ADMIN_GETS = [
    "/v2/models/densenet/stats",
    "/v2/models/stats",
    "/v2/models/densenet/versions/1/stats",
    "/v2/trace/setting",
    "/v2/models/densenet/trace/setting",
    "/v2/logging",
]
ADMIN_POSTS = [
    "/v2/repository/index",
    "/v2/repository/models/densenet/load",
    "/v2/repository/models/densenet/unload",
    "/v2/trace/setting",
    "/v2/logging",
]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_admin_apis_are_refused_by_nginx_itself_without_the_token(edge, method):
    """Refused at the edge: the access log shows no upstream answered (a bypass bug in Triton's own
    token check is never reached from outside)."""
    paths = ADMIN_GETS if method == "GET" else ADMIN_POSTS
    for n, path in enumerate(paths):
        for token in (None, "wrong", ADMIN_TOKEN.upper(), ADMIN_TOKEN + "x", " " + ADMIN_TOKEN + "x"):
            marker = f"admin-{method}-{n}-{hash(token) & 0xFFFF}"
            headers = {} if token is None else {"admin-token": token}
            if method == "GET":
                status, text = get(edge, f"{path}?{marker}", headers)
            else:
                status, text = post(edge, f"{path}?{marker}", b"{}", headers)
            assert status == 403, (path, token)
            assert json.loads(text)["error"] == "this API needs the admin token (header admin-token)"
            assert " up=- " in edge.access_log_line(marker)


def test_admin_apis_work_with_the_token(edge):
    token = {"admin-token": ADMIN_TOKEN}
    for path in ADMIN_GETS:
        status, text = get(edge, path, token)
        assert status == 200, (path, text)
    assert post(edge, "/v2/repository/index", b"{}", token)[0] == 200
    status, text = post(edge, "/v2/repository/models/densenet/unload", b"{}", token)
    assert "explicit model load / unload is not allowed" in text  # Triton's own refusal: it got there
    # Shared memory: closed at the edge even with the token.
    register = b'{"key":"/x","offset":0,"byte_size":16}'
    for path in ("/v2/systemsharedmemory/region/x/register", "/v2/cudasharedmemory/status"):
        status, text = post(edge, path, register, token)
        assert status == 403
        assert "not available over the network" in text


@pytest.mark.parametrize(
    "path",
    [
        "/v2/%73ystemsharedmemory/status",  # an escape
        "/v2/models/densenet_ensemble/infer/../stats",  # a dot segment
        "/v2/models//densenet/stats",  # an empty segment
        "/v2/models/densenet%2Fstats",
    ],
)
def test_only_plain_paths_pass_so_nginx_checks_what_triton_reads(edge, path):
    with edge.tls_socket() as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nadmin-token: {ADMIN_TOKEN}\r\n"
                     "Connection: close\r\n\r\n".encode())  # fmt: skip
        reply = b""
        while data := sock.recv(65536):
            reply += data
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert b"the request path must be plain" in reply


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v2", 200),
        ("/v2/health/live", 200),
        ("/v2/health/ready", 200),
        ("/v2/models/densenet_ensemble", 200),
        ("/v2/models/densenet_ensemble/ready", 200),
        ("/v2/models/densenet_ensemble/config", 200),
        ("/v2/models/densenet/versions/1/config", 200),
        ("/v2/models/unknown_model/config", 404),
        ("/v2/models/densenet_ensemble/generate", 404),
        ("/metrics", 404),
        ("/", 404),
        ("/v2/health", 404),
    ],
)
def test_the_allow_list_passes_health_metadata_and_config_of_the_served_models_only(edge, path, status):
    marker = f"allow-{abs(hash(path)) & 0xFFFFFF}"
    got, text = get(edge, f"{path}?{marker}")
    assert got == status, text
    upstream = " up=200 " if status == 200 else " up=- "  # refused by nginx, never reaching Triton
    assert upstream in edge.access_log_line(marker)


@pytest.mark.parametrize("value", [" 5x", "5 5", "-1", "0x10", "1e3", "+5", "5;"])
def test_a_malformed_inference_header_content_length_gets_400_from_the_edge(edge, value):
    marker = f"ihcl-{abs(hash(value)) & 0xFFFFFF}"
    status, text = post(edge, f"{INFER}?{marker}", b"{}", {"Inference-Header-Content-Length": value})
    assert status == 400
    assert json.loads(text)["error"] == "Inference-Header-Content-Length must be a decimal number of bytes"
    assert " up=- " in edge.access_log_line(marker)


def test_grpc_admin_protocols_are_refused_by_nginx_without_the_token(edge):
    token = {GRPC_ADMIN_HEADER: ADMIN_TOKEN}
    with grpcclient.InferenceServerClient(
        f"127.0.0.1:{edge.grpc_port}", ssl=True, root_certificates=str(edge.certificate)
    ) as client:
        refusals = [
            lambda headers: client.get_inference_statistics("densenet", headers=headers),
            lambda headers: client.unload_model("densenet", headers=headers),
            lambda headers: client.load_model("densenet", headers=headers),
            lambda headers: client.get_model_repository_index(headers=headers),
            lambda headers: client.get_trace_settings(headers=headers),
            lambda headers: client.get_log_settings(headers=headers),
        ]
        for refused in refusals:
            for headers in (None, {GRPC_ADMIN_HEADER: "wrong-token-0123456789"}):
                with pytest.raises(InferenceServerException, match="PERMISSION_DENIED"):
                    refused(headers)
        with pytest.raises(InferenceServerException, match="PERMISSION_DENIED"):
            client.get_system_shared_memory_status(headers=token)
        with pytest.raises(InferenceServerException, match="PERMISSION_DENIED"):
            client.get_cuda_shared_memory_status(headers=token)
        assert client.get_inference_statistics("densenet", headers=token).model_stats
        assert client.get_model_repository_index(headers=token).models
        assert client.get_log_settings(headers=token)
        with pytest.raises(InferenceServerException):
            client.infer("densenet_ensemble", [], compression_algorithm="gzip")
    refused = edge.access_log_lines('"POST /inference.GRPCInferenceService/ModelStatistics HTTP/2.0" 403', 2)
    assert len(refused) == 2  # without the token and with a wrong one
    assert all(" up=- " in line for line in refused)


def test_triton_listens_on_loopback_only_and_nginx_on_every_address(edge):
    loopback = {"0100007F", "0000000000000000FFFF00000100007F"}
    command = edge.children()[edge.tritonserver_pid()]
    internal = [
        int(arg.split("=")[1]) for arg in command.split() if arg.startswith(("--http-port", "--grpc-port"))
    ]
    for port in [*internal, edge.metrics_port]:
        assert listening_addresses(port), f"nothing listens on {port}"
        assert listening_addresses(port) <= loopback, port
    for port in (edge.https_port, edge.grpc_port):
        assert listening_addresses(port) == {"00000000"}, port


def test_every_request_is_in_the_access_log(edge):
    assert get(edge, "/v2/health/ready?probe=access-log")[0] == 200
    line = edge.access_log_line("probe=access-log")
    assert '"GET /v2/health/ready?probe=access-log HTTP/1.1" 200' in line


def test_the_chunk_flood_crashes_a_bare_tritonserver(tmp_path, model_repository):
    """The attack is real: without the proxy one request kills tritonserver 2.51 (SIGSEGV)."""
    with postprocess_only_server(model_repository, tmp_path) as (process, port):
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock, contextlib.suppress(OSError):
            chunk_flood(sock, CHUNKS, "/v2/models/postprocess/infer")  # OSError: it died reading
        process.wait(timeout=120)
        assert process.returncode == -11, f"tritonserver exited with {process.returncode}"
