"""Triton's response cache must never answer a request with a response computed for other parameters.

Tritonserver 2.51 keys its response cache on the model name, version and input tensors only
(``TritonCache::Hash`` in triton-inference-server/core): request parameters such as ``top_k`` are
not part of the key. This file is the proof behind leaving the cache off (docs/response-cache.md):
on a scratch server with the cache explicitly enabled on the ensemble, the same image bytes sent
with top_k=1 and then top_k=5 get the cached top-1 answer back, a hit counted in
``nv_cache_num_hits_per_model``; the shipped configuration answers both correctly.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator

import pytest
import tritonclient.http as httpclient

from densenet_serve import TritonServer
from tests.support.imagefactory import cat_jpeg
from tests.support.inference import http_infer, results
from tests.support.scratch import scratch_repository
from tests.support.servers import REPO_ROOT, serving

pytestmark = pytest.mark.e2e

CACHE_ON_ENSEMBLE = "\nresponse_cache { enable: true }\n"


def hits(triton: TritonServer, model: str = "densenet_ensemble") -> int:
    url = f"http://127.0.0.1:{triton.options.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    found = re.search(rf'nv_cache_num_hits_per_model{{model="{model}",version="1"}} (\d+)', text)
    return int(found.group(1)) if found else 0


@pytest.fixture(scope="module")
def cached_server(seeded_onnx, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    """A scratch server with the response cache enabled on the ensemble: never the shipped setup."""
    workdir = tmp_path_factory.mktemp("response-cache")
    repository = scratch_repository(REPO_ROOT / "model_repository", workdir / "model_repository", seeded_onnx)
    config = repository / "densenet_ensemble" / "config.pbtxt"
    config.write_text(config.read_text() + CACHE_ON_ENSEMBLE)
    with serving(repository, workdir, extra_args=("--cache-config=local,size=16777216",)) as triton:
        yield triton


def top_k_answers(http_url: str, image: bytes) -> tuple[list[str], list[str]]:
    with httpclient.InferenceServerClient(http_url, network_timeout=60) as client:
        one = results(http_infer(client, [image], top_k=1))[0][0]
        five = results(http_infer(client, [image], top_k=5))[0][0]
    return list(one), list(five)


def test_the_shipped_ensemble_has_no_response_cache():
    config = (REPO_ROOT / "model_repository" / "densenet_ensemble" / "config.pbtxt").read_text()
    assert not re.search(r"response_cache\s*\{\s*enable:\s*true", config)
    assert re.search(r"response_cache\s*\{\s*enable:\s*true", config + CACHE_ON_ENSEMBLE)  # can fail


def test_without_the_cache_top_k_is_honoured_for_the_same_bytes(http_url):
    image = cat_jpeg()
    one, five = top_k_answers(http_url, image)
    assert len(one) == 1
    assert len(five) == 5
    assert five[0] == one[0]


def test_the_cache_returns_an_answer_computed_for_another_top_k(cached_server):
    """Why the cache stays off: Triton 2.51's cache key ignores request parameters."""
    http_url = f"127.0.0.1:{cached_server.options.http_port}"
    image = cat_jpeg() + b"\0"  # bytes of its own: nothing another test sent is in the cache
    before = hits(cached_server)
    one, five = top_k_answers(http_url, image)
    assert len(one) == 1
    assert len(five) == 1, "top_k=5 now gets 5 labels: the cache key includes parameters; re-evaluate"
    assert hits(cached_server) == before + 1  # the second answer came from the cache
