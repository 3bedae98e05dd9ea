"""The first request after READY is as fast as the ones after it: every step is warmed at load.

preprocess warms its decoders on every pool thread in ``initialize``; densenet and postprocess get
a zero input through Triton's ``model_warmup`` (configs), which also warms the backend's stub path.

The bound, and why it cannot flake: the first request is compared with the median of the next ten
in the same run on the same server, so a slow or loaded machine slows both alike. Allowed: 1.5x
that median plus 50 ms. On a loaded 2-core machine single requests here ranged up to 1.45x their
median; a cold first request (before warm-up existed) took about 2.3x, i.e. 100+ ms more than the
median, which this bound catches.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest
import tritonclient.http as httpclient

from tests.support.imagefactory import cat_jpeg
from tests.support.inference import http_infer
from tests.support.scratch import scratch_repository
from tests.support.servers import REPO_ROOT, serving

pytestmark = pytest.mark.e2e

RATIO = 1.5
SLACK_S = 0.05


@pytest.fixture(scope="module")
def fresh_url(seeded_onnx, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server nobody has sent a request to yet."""
    workdir = tmp_path_factory.mktemp("first-request")
    repository = scratch_repository(REPO_ROOT / "model_repository", workdir / "model_repository", seeded_onnx)
    with serving(repository, workdir) as triton:
        yield f"127.0.0.1:{triton.options.http_port}"


def test_the_first_request_after_ready_is_warm(fresh_url):
    image = cat_jpeg()
    seconds = []
    with httpclient.InferenceServerClient(fresh_url, network_timeout=120) as client:
        for _ in range(11):
            started = time.perf_counter()
            http_infer(client, [image])
            seconds.append(time.perf_counter() - started)
    first, median = seconds[0], statistics.median(seconds[1:])
    print(
        f"\nfirst request {first * 1000:.1f} ms, median of the next ten {median * 1000:.1f} ms, "
        f"ratio {first / median:.2f} (bound {RATIO}x + {SLACK_S * 1000:.0f} ms)"
    )
    assert first <= RATIO * median + SLACK_S, [round(s * 1000) for s in seconds]
