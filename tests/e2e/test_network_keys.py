"""Network mode with client API keys and tight per-client limits: who may classify, and how much.

One launcher (`densenet-serve --host 0.0.0.0 --api-key-file KEYS --rate-limit 1 --rate-burst 20`)
serves the module. Every way in is tried without a key, with a wrong one and with a right one:
HTTPS (urllib and curl), tritonclient over HTTPS and gRPC over TLS, the SDK and the CLI. All
traffic goes to 127.0.0.1, bounded in count.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from tests.support.imagefactory import cat_jpeg
from tests.support.inference import http_infer, results
from tests.support.network import NetworkLauncher, start_network_launcher
from tests.support.processes import wait_for

pytestmark = pytest.mark.e2e

INFER = "/v2/models/densenet_ensemble/infer"
KEYS = ["first-client-key-0123456789", "second.client+key/0123456789"]
ROTATED = "rotated-client-key-0123456789"
WRONG = "wrong-client-key-0123456789"
CLI = str(Path(sys.executable).parent / "densenet-client")
# One request a second per client, bursts of 20 more: a test's few requests pass, a flood does not.
# (Requests refused for their key, 401, are answered before the limits and not counted.)
RATE, BURST = 1, 20


@pytest.fixture(scope="module")
def keyed(model_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetworkLauncher]:
    workdir = tmp_path_factory.mktemp("keys")
    keys = workdir / "api-keys"
    keys.write_text("# two clients\n" + "\n".join(KEYS) + "\n")
    launcher = start_network_launcher(
        model_repository, workdir, "--api-key-file", str(keys),
        "--rate-limit", str(RATE), "--rate-burst", str(BURST),
    )  # fmt: skip
    launcher.key_file = keys
    yield launcher
    assert launcher.stop() == 0


def bearer(key: str | None) -> dict[str, str]:
    return {} if key is None else {"Authorization": f"Bearer {key}"}


def post_image(edge: NetworkLauncher, key: str | None, path: str = INFER) -> tuple[int, str, dict]:
    request = urllib.request.Request(
        edge.https_url + path,
        data=cat_jpeg(),
        headers={"Inference-Header-Content-Length": "0", **bearer(key)},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120, context=edge.ssl_context()) as response:
            return response.status, response.read()[:200].decode(errors="replace"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def test_the_banner_says_keys_and_limits_are_on_and_never_prints_a_key(keyed):
    output = keyed.output()
    assert "API keys: ON, 2 from" in output
    assert f"limits: {RATE} requests/s (bursts of {BURST} more)" in output
    for key in KEYS:
        assert key not in output
        assert key not in keyed.access_log.read_text()


@pytest.mark.parametrize("key", [None, WRONG, KEYS[0].upper(), KEYS[0][:-1], "Bearer"], ids=str)
def test_https_without_the_right_key_is_401_and_never_reaches_triton(keyed, key):
    status, text, _ = post_image(keyed, key, f"{INFER}?unauthorized-{abs(hash(key)) & 0xFFFFFF}")
    assert status == 401
    assert json.loads(text)["error"] == "an API key is required: header Authorization: Bearer <key>"
    assert " up=- " in keyed.access_log_line(f"unauthorized-{abs(hash(key)) & 0xFFFFFF}")


@pytest.mark.parametrize("key", KEYS)
def test_https_with_a_right_key_classifies(keyed, key):
    status, text, _ = post_image(keyed, key)
    assert status == 200, text
    assert text.startswith('{"model_name":"densenet_ensemble"')


def test_health_and_metadata_need_no_key(keyed):
    for path in ("/v2/health/ready", "/v2/models/densenet_ensemble", "/v2/models/densenet_ensemble/config"):
        with urllib.request.urlopen(
            keyed.https_url + path, timeout=60, context=keyed.ssl_context()
        ) as response:
            assert response.status == 200


def test_curl_with_and_without_the_key(keyed, tmp_path):
    image = tmp_path / "cat.jpg"
    image.write_bytes(cat_jpeg())
    base = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(keyed.certificate),
            "--data-binary", f"@{image}", "-H", "Inference-Header-Content-Length: 0"]  # fmt: skip
    for headers, expected in (([], "401"), (["-H", f"Authorization: Bearer {KEYS[1]}"], "200")):
        result = subprocess.run(
            [*base, *headers, keyed.https_url + INFER],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.stdout == expected, result.stderr


def test_tritonclient_over_https_and_grpc_sends_the_key_as_a_header_or_metadata(keyed):
    array = np.frombuffer(cat_jpeg(), dtype=np.uint8)[np.newaxis]
    http = httpclient.InferenceServerClient(
        f"127.0.0.1:{keyed.https_port}", ssl=True, ssl_options={"ca_certs": str(keyed.certificate)}
    )
    with http:
        with pytest.raises(InferenceServerException) as refused:
            http_infer(http, [cat_jpeg()])
        assert refused.value.status() == "401"
        assert results(http_infer(http, [cat_jpeg()], headers=bearer(KEYS[0])))[2].shape == (1, 5)
    with grpcclient.InferenceServerClient(
        f"127.0.0.1:{keyed.grpc_port}", ssl=True, root_certificates=str(keyed.certificate)
    ) as grpc:
        tensor = grpcclient.InferInput("IMAGE", list(array.shape), "UINT8")
        tensor.set_data_from_numpy(array)
        for headers in (None, {"authorization": f"Bearer {WRONG}"}):
            with pytest.raises(InferenceServerException, match="UNAUTHENTICATED"):
                grpc.infer("densenet_ensemble", [tensor], headers=headers, client_timeout=120)
        answer = grpc.infer(
            "densenet_ensemble", [tensor], headers={"authorization": f"Bearer {KEYS[1]}"}, client_timeout=120
        )
        assert answer.as_numpy("CLASS_IDS").shape == (1, 5)
        assert grpc.is_server_ready()  # health: no key


@pytest.fixture
def trust(keyed: NetworkLauncher) -> dict[str, str]:
    """The environment of a process that trusts the launcher's certificate (the SDK verifies against
    the system's roots, which SSL_CERT_FILE and GRPC_DEFAULT_SSL_ROOTS_FILE_PATH replace)."""
    env = {key: value for key, value in os.environ.items() if key != "DENSENET_API_KEY"}
    return {
        **env,
        "SSL_CERT_FILE": str(keyed.certificate),
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(keyed.certificate),
    }


SDK_CALL = """
import json, sys, time
from densenet_client import DenseNetClient, RetryPolicy, DenseNetClientError
url, key, attempts = sys.argv[1], sys.argv[2] or None, int(sys.argv[3])
started = time.monotonic()
try:
    policy = RetryPolicy(attempts=attempts, initial_backoff_s=0.01)
    with DenseNetClient(url, api_key=key, retry=policy) as client:
        answer = {"labels": len(client.classify(sys.stdin.buffer.read()))}
except DenseNetClientError as error:
    answer = {"error": type(error).__name__, "message": str(error),
              "retry_after_s": getattr(error, "retry_after_s", None),
              "attempts": getattr(error, "attempts", None)}
answer["seconds"] = time.monotonic() - started
print(json.dumps(answer))
"""


def sdk_call(url: str, key: str | None, env: dict[str, str], attempts: int = 1) -> dict:
    """One classify() with the SDK in a process of its own (its trust is fixed when it starts)."""
    result = subprocess.run(
        [sys.executable, "-c", SDK_CALL, url, key or "", str(attempts)],
        input=cat_jpeg(), capture_output=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize("scheme", ["https", "grpcs"])
def test_the_sdk_takes_the_key_as_an_argument_or_from_the_environment(keyed, trust, scheme):
    url = f"{scheme}://127.0.0.1:{keyed.https_port if scheme == 'https' else keyed.grpc_port}"
    for key in (None, WRONG):
        refused = sdk_call(url, key, trust)
        assert refused["error"] == "Unauthorized", refused
        assert "DENSENET_API_KEY" in refused["message"]
    assert sdk_call(url, KEYS[0], trust) == {"labels": 5, "seconds": pytest.approx(0, abs=120)}
    assert sdk_call(url, None, {**trust, "DENSENET_API_KEY": KEYS[1]})["labels"] == 5


@pytest.mark.parametrize("scheme", ["https", "grpcs"])
def test_the_cli_takes_the_key_from_a_file_or_the_environment_and_never_prints_it(
    keyed, trust, scheme, tmp_path
):
    port = keyed.https_port if scheme == "https" else keyed.grpc_port
    image = tmp_path / "cat.jpg"
    image.write_bytes(cat_jpeg())
    key_file = tmp_path / "key"
    key_file.write_text(f"# mine\n{KEYS[0]}\n")

    def cli(*extra: str, env: dict[str, str] = trust) -> subprocess.CompletedProcess[str]:
        command = [CLI, "classify", str(image), "--url", f"{scheme}://127.0.0.1:{port}", *extra]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)

    refused = cli()
    assert refused.returncode != 0
    assert "needs an API key" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    by_file = cli("--api-key-file", str(key_file))
    assert by_file.returncode == 0, by_file.stderr
    by_env = cli(env={**trust, "DENSENET_API_KEY": KEYS[1]})
    assert by_env.returncode == 0, by_env.stderr
    for run in (refused, by_file, by_env):
        assert not any(key in run.stdout + run.stderr for key in KEYS)


@contextlib.contextmanager
def flooding(edge: NetworkLauncher, key: str, threads: int = 8, most_s: float = 300) -> Iterator[list]:
    """While the block runs, ``key`` sends cheap requests back to back from ``threads`` threads (each
    counts against its rate): its bucket stays full whatever the machine's speed, the one token a
    second it earns taken within a fraction of a millisecond. Bounded in time, not count: a count
    was used up within the block's seconds on a fast host, and the bucket refilled for the SDK."""
    answers: list[tuple[int, dict]] = []
    done = threading.Event()
    deadline = time.monotonic() + most_s

    def worker(offset: int) -> None:
        # One kept-alive TLS connection a thread: no handshake per request, so the flood's pace is
        # nginx's, not the CPU's (a handshake each was slow enough on a loaded host to let a token by).
        connection, n = None, offset
        while not done.is_set() and time.monotonic() < deadline:
            if connection is None:
                connection = http.client.HTTPSConnection(
                    "127.0.0.1", edge.https_port, timeout=60, context=edge.ssl_context()
                )
            try:
                connection.request("GET", f"/v2/health/ready?flood-{n}", headers=bearer(key))
                response = connection.getresponse()
                response.read()
                answers.append((response.status, dict(response.headers)))
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = None  # nginx closes a kept-alive connection now and then: reconnect
            n += threads
        if connection is not None:
            connection.close()

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker, offset) for offset in range(threads)]
        try:
            wait_for(lambda: sum(status == 429 for status, _ in answers) >= threads, 120, "the first 429s")
            yield answers
        finally:
            done.set()
            for future in futures:
                future.result()


def test_a_client_over_its_rate_limit_gets_429_while_another_client_is_served(keyed):
    with flooding(keyed, KEYS[1]) as answers:
        status, text, _ = post_image(keyed, KEYS[0])  # another client
        assert status == 200, text
    statuses = {status for status, _ in answers}
    assert statuses <= {200, 429}, statuses
    refused = next(headers for status, headers in answers if status == 429)
    assert refused["Retry-After"] == "1"


def test_the_sdk_waits_the_retry_after_between_tries_then_reports_busy(keyed, trust):
    url = f"https://127.0.0.1:{keyed.https_port}"
    with flooding(keyed, KEYS[1]):
        busy = sdk_call(url, KEYS[1], trust, attempts=3)
    assert busy["error"] == "ServerBusy", busy
    assert busy["retry_after_s"] == 1.0
    assert busy["attempts"] == 3
    assert busy["seconds"] >= 2.0  # two waits of at least the Retry-After, not the policy's 0.01 s
    assert "too many requests from this client" in busy["message"]


def test_keys_rotate_with_a_reload(keyed):
    """SIGHUP to the launcher rereads the key file: a new key works, a removed one is refused."""
    original = keyed.key_file.read_text()
    try:
        keyed.key_file.write_text(f"{ROTATED}\n{KEYS[1]}\n")
        keyed.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "API keys reloaded: 2" in keyed.output(), 60, "the reload")
        wait_for(lambda: post_image(keyed, KEYS[0])[0] == 401, 60, "the removed key refused")
        assert post_image(keyed, ROTATED)[0] == 200
        keyed.key_file.write_text("short\n")  # a broken file keeps the keys in force
        keyed.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "keys not reloaded" in keyed.output(), 60, "the refusal")
        assert "short" not in keyed.output().split("keys not reloaded", 1)[1].splitlines()[0]
        assert post_image(keyed, ROTATED)[0] == 200
    finally:
        keyed.key_file.write_text(original)
        keyed.process.send_signal(signal.SIGHUP)
        wait_for(lambda: keyed.output().count("API keys reloaded: 2") >= 2, 60, "the original keys")
    assert keyed.process.poll() is None
