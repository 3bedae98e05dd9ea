"""docker compose up, for real: the CPU stack of docker/compose.yaml built, started and called.

The two documented commands (docs/deployment.md) with the CPU profile and offline weights: the
proxy makes its own certificate and maps, Triton runs in the slim image. Then a raw JPEG with curl
through nginx over HTTPS, the SDK over TLS (HTTPS and gRPC), the admin API refused without the
token, Prometheus scraping Triton, a killed model stub failing the health check until the
container is restarted, and `docker compose down` leaving nothing. Bounded: build 25 min (cold),
`up --wait` 7 min, recovery 7 min, each call 2 min (tests/composestack.py). Skips, saying why, where
Docker cannot run (tests/tools/install-docker.sh installs it; under CI=true a skip fails).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest

from densenet_serve.core import ADMIN_HEADER
from tests.support.composestack import (
    CALL_S,
    RECOVERY_S,
    ComposeStack,
    bring_up,
    docker_problem,
    image_sizes,
    kill_processes,
    new_stack,
    wait_until,
)
from tests.support.imagefactory import cat_jpeg
from tests.support.inference import results

# The first test's setup builds the images (a cold build: minutes), beyond the suite's 600 s per test.
pytestmark = pytest.mark.timeout(3600)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    problem = docker_problem()
    if problem:
        pytest.skip(f"the compose stack cannot run here: {problem}")
    stack = new_stack()
    try:
        took = bring_up(stack)
        print(f"\ncompose stack {stack.project}: " + ", ".join(f"{k} {v:.0f}s" for k, v in took.items()))
        print(
            "images: " + ", ".join(f"{name} {size / 1e6:.0f} MB" for name, size in image_sizes(stack).items())
        )
        certificate = tmp_path_factory.mktemp("compose") / "edge.crt"
        certificate.write_text(stack.exec("proxy", "cat", "/etc/nginx/edge/tls.crt").stdout)
        stack.certificate = certificate
        yield stack
    finally:
        stack.compose("down", "-v", "--timeout", "60", timeout_s=300, check=False)


def curl_raw_jpeg(stack: ComposeStack, workdir, *extra: str) -> subprocess.CompletedProcess[bytes]:
    image = workdir / "cat.jpg"
    image.write_bytes(cat_jpeg())
    headers, body = workdir / "headers.txt", workdir / "body.bin"
    return subprocess.run(
        ["curl", "-sS", "--fail-with-body", "--cacert", str(stack.certificate), "--data-binary", f"@{image}",
         "-H", "Inference-Header-Content-Length: 0", "-D", str(headers), "-o", str(body),
         *extra, f"https://127.0.0.1:{stack.https_port}/v2/models/densenet_ensemble/infer"],
        capture_output=True, timeout=CALL_S, check=False,
    )  # fmt: skip


def labels_of(workdir) -> list[str]:
    import tritonclient.http as httpclient

    header_length = next(
        int(line.split(":", 1)[1])
        for line in (workdir / "headers.txt").read_text().splitlines()
        if line.lower().startswith("inference-header-content-length")
    )
    body = (workdir / "body.bin").read_bytes()
    names, _scores, ids = results(
        httpclient.InferResult.from_response_body(body, header_length=header_length)
    )
    assert ids.shape == (1, 5)
    return names[0]


def test_every_service_is_healthy_and_the_one_shots_succeeded(stack):
    for service in ("triton-cpu", "proxy", "prometheus"):
        assert stack.container(service)["State"]["Health"]["Status"] == "healthy", service
    for one_shot in ("edge", "model"):
        state = stack.container(one_shot)["State"]
        assert (state["Status"], state["ExitCode"]) == ("exited", 0), one_shot
    assert "self-signed certificate, SHA-256" in stack.compose("logs", "edge").stdout


def test_a_raw_jpeg_through_the_proxy_over_https_gets_labels(stack, tmp_path):
    answer = curl_raw_jpeg(stack, tmp_path)
    assert answer.returncode == 0, answer.stderr.decode(errors="replace")
    labels = labels_of(tmp_path)
    assert len(labels) == 5
    assert all(isinstance(label, str) and label for label in labels), labels


def test_plain_http_on_the_https_port_is_refused(stack, tmp_path):
    answer = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{stack.https_port}/v2/health/ready"],
        capture_output=True, text=True, timeout=CALL_S, check=False,
    )  # fmt: skip
    assert answer.stdout == "400", answer  # nginx: "The plain HTTP request was sent to HTTPS port"


SDK_CALL = """
import json, sys
from densenet_client import DenseNetClient
with DenseNetClient(sys.argv[1]) as client:
    print(json.dumps([p.label for p in client.classify(sys.stdin.buffer.read())]))
"""


@pytest.mark.parametrize("scheme", ["https", "grpcs"])
def test_the_sdk_over_tls(stack, scheme):
    port = stack.https_port if scheme == "https" else stack.grpcs_port
    # The SDK verifies against the system's roots, which these variables replace with the stack's.
    trust = {
        "SSL_CERT_FILE": str(stack.certificate),
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(stack.certificate),
    }
    answer = subprocess.run(
        [sys.executable, "-c", SDK_CALL, f"{scheme}://127.0.0.1:{port}"], input=cat_jpeg(),
        capture_output=True, timeout=CALL_S, env={**stack.env, **trust}, check=False,
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr.decode(errors="replace")[-2000:]
    assert len(json.loads(answer.stdout)) == 5


def test_the_admin_api_needs_the_token_at_the_edge(stack):
    base = [
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--cacert",
        str(stack.certificate),
        "-X",
        "POST",
    ]
    url = f"https://127.0.0.1:{stack.https_port}/v2/repository/index"
    without = subprocess.run([*base, url], capture_output=True, text=True, timeout=CALL_S, check=False)
    wrong = subprocess.run([*base, "-H", f"{ADMIN_HEADER}: {'x' * 48}", url], capture_output=True, text=True,
                           timeout=CALL_S, check=False)  # fmt: skip
    token = stack.env["TRITON_ADMIN_TOKEN"]
    right = subprocess.run([*base, "-H", f"{ADMIN_HEADER}: {token}", url], capture_output=True, text=True,
                           timeout=CALL_S, check=False)  # fmt: skip
    assert (without.stdout, wrong.stdout, right.stdout) == ("403", "403", "200")


def test_prometheus_scrapes_triton(stack):
    base = f"http://127.0.0.1:{stack.prometheus_port}/api/v1"

    def triton_up() -> bool:
        with urllib.request.urlopen(f"{base}/targets", timeout=10) as response:
            targets = json.load(response)["data"]["activeTargets"]
        return any(t["labels"]["job"] == "triton" and t["health"] == "up" for t in targets)

    wait_until(triton_up, 120, "Prometheus scrapes triton:8002", stack)

    def counted() -> bool:
        query = "sum(nv_inference_count{model=%22densenet_ensemble%22})"
        with urllib.request.urlopen(f"{base}/query?query={query}", timeout=10) as response:
            result = json.load(response)["data"]["result"]
        return bool(result) and float(result[0]["value"][1]) >= 1

    wait_until(counted, 120, "Prometheus holds Triton's inference count", stack)


def test_a_killed_model_stub_fails_the_health_check_and_the_container_is_restarted(stack, tmp_path):
    before = stack.container("triton-cpu")
    killed = kill_processes(stack, "triton-cpu", ["triton_python_backend_stub", "/models/densenet/"])
    assert killed, "no densenet stub found"
    health = ["python3", "-m", "densenet_serve.health", "--url", "127.0.0.1:8000", "--timeout", "10"]
    failing = stack.exec("triton-cpu", *health, check=False)
    assert failing.returncode != 0, failing.stdout  # /v2/health/ready alone would still say 200

    def restarted_and_healthy() -> bool:
        state = stack.container("triton-cpu")
        return (
            state["RestartCount"] > before["RestartCount"]
            and state["State"].get("Health", {}).get("Status") == "healthy"
        )

    took = wait_until(restarted_and_healthy, RECOVERY_S, "triton-cpu restarted and healthy again", stack)
    print(f"\nrestarted and healthy again {took:.0f}s after the stub was killed")
    assert curl_raw_jpeg(stack, tmp_path).returncode == 0
    assert len(labels_of(tmp_path)) == 5


def test_down_leaves_no_container(stack):
    assert stack.project_containers()
    stack.compose("down", "-v", "--timeout", "60", timeout_s=300)
    assert stack.project_containers() == []
