"""The real Triton server (from the pinned nvidia-pytriton wheel) on free ports, once per test session.

It serves a copy of this repository's model_repository with the seeded DenseNet prepared by the
same build step a user runs, so tests never touch the user's own model files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from densenet_serve import TritonServer
from densenet_serve.core import ADMIN_HEADER
from tests.support.scratch import scratch_repository
from tests.support.servers import ADMIN_TOKEN, serving

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def admin_headers() -> dict[str, str]:
    return {ADMIN_HEADER: ADMIN_TOKEN}


@pytest.fixture(scope="session")
def model_repository(tmp_path_factory: pytest.TempPathFactory, seeded_onnx: Path) -> Path:
    destination = tmp_path_factory.mktemp("serving") / "model_repository"
    return scratch_repository(REPO_ROOT / "model_repository", destination, seeded_onnx)


@pytest.fixture(scope="session")
def server(model_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    with serving(model_repository, tmp_path_factory.mktemp("logs")) as triton:
        yield triton


@pytest.fixture(scope="session")
def http_url(server: TritonServer) -> str:
    return f"127.0.0.1:{server.options.http_port}"


@pytest.fixture(scope="session")
def grpc_url(server: TritonServer) -> str:
    return f"127.0.0.1:{server.options.grpc_port}"


@pytest.fixture
def http_client(http_url: str):
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(http_url, connection_timeout=10, network_timeout=60)
    yield client
    client.close()


@pytest.fixture
def grpc_client(grpc_url: str):
    import tritonclient.grpc as grpcclient

    client = grpcclient.InferenceServerClient(grpc_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def cat() -> bytes:
    """A real photograph of a tabby cat as a JPEG."""
    from tests.support.imagefactory import cat_jpeg

    return cat_jpeg()


@pytest.fixture(scope="session")
def labels(model_repository: Path) -> list[str]:
    return (model_repository / "densenet" / "labels.txt").read_text().splitlines()


@pytest.fixture(params=["http", "grpc"])
def client_url(request: pytest.FixtureRequest, http_url: str, grpc_url: str) -> str:
    """The server's address with its scheme, once per protocol (for the client SDK's tests)."""
    return f"{request.param}://{http_url if request.param == 'http' else grpc_url}"


@pytest.fixture(scope="session")
def bare(http_url: str):
    """The answers of bare tritonclient calls, the SDK tests' reference."""
    from tests.support.clientcheck import bare_answers

    return bare_answers(http_url)
