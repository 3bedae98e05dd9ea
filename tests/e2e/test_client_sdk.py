"""The blocking SDK against the real server, over HTTP and gRPC: every input kind, classify_many,
health and metadata, and the error mapping (bad image, unknown model, stopped server, timeout)."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc
import tritonclient.http

from densenet_client import (
    DenseNetClient,
    InvalidImage,
    ModelNotReady,
    Prediction,
    RetryPolicy,
    ServerUnavailable,
    TensorMetadata,
    Timeout,
)
from tests.support.clientcheck import Gauge, assert_same, ids_and_scores, mixed_images
from tests.support.imagefactory import cat_jpeg, encode, photo, png_bomb, sized_jpeg
from tests.support.servers import serving

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(client_url):
    with DenseNetClient(client_url, request_timeout_s=60) as client:
        yield client


def test_classify_answers_what_bare_tritonclient_answers(client, cat, bare, labels):
    predictions = client.classify(cat)
    assert len(predictions) == 5
    assert all(isinstance(p, Prediction) for p in predictions)
    assert_same(predictions, bare(cat))
    assert [p.label for p in predictions] == [labels[p.class_id] for p in predictions]
    probabilities = [p.probability for p in predictions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0 < sum(probabilities) <= 1.0001


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "str-path", "pathlib", "file-object"])
def test_every_input_kind_sends_the_same_image(client, cat, bare, tmp_path, kind):
    path = tmp_path / "cat.jpg"
    path.write_bytes(cat)
    image = {
        "bytes": cat,
        "bytearray": bytearray(cat),
        "memoryview": memoryview(cat),
        "str-path": str(path),
        "pathlib": path,
        "file-object": io.BytesIO(cat),
    }[kind]
    assert_same(client.classify(image), bare(cat))


def test_a_pil_image_is_classified_as_its_exact_pixels(client, bare):
    image = photo("astronaut.png").resize((300, 300))
    assert_same(client.classify(image), bare(encode(image, "PNG")))  # any lossless encoding: same pixels


def test_top_k_per_call_and_per_client(client_url, client, cat, bare):
    assert [len(client.classify(cat, top_k=k)) for k in (1, 3, 1000)] == [1, 3, 1000]
    everything = client.classify(cat, top_k=1000)
    assert sorted(p.class_id for p in everything) == list(range(1000))
    assert sum(p.probability for p in everything) == pytest.approx(1.0, rel=1e-4)
    with DenseNetClient(client_url, top_k=2) as two:
        assert_same(two.classify(cat), bare(cat, 2))
        assert len(two.classify(cat, top_k=4)) == 4


@pytest.fixture
def gauge(client_url, monkeypatch) -> Gauge:
    gauge = Gauge()
    cls = (
        tritonclient.http.InferenceServerClient
        if client_url.startswith("http")
        else tritonclient.grpc.InferenceServerClient
    )
    monkeypatch.setattr(cls, "infer", gauge.wrap(cls.infer))
    return gauge


def test_classify_many_keeps_input_order_with_bounded_concurrency(client, gauge):
    images = mixed_images() * 2
    expected = [client.classify(image) for image in images]
    gauge.most = 0
    pulled = []

    def lazily():
        for image in images:
            pulled.append(image)
            yield image

    stream = client.classify_many(lazily(), concurrency=3)
    first = next(stream)
    assert len(pulled) <= 4, "inputs are read only as the window moves"
    answers = [first, *stream]
    assert [ids_and_scores(a)[0] for a in answers] == [ids_and_scores(e)[0] for e in expected]
    for answer, reference in zip(answers, expected, strict=True):
        np.testing.assert_allclose(ids_and_scores(answer)[1], ids_and_scores(reference)[1], rtol=1e-6)
    assert gauge.most == 3


def test_classify_many_with_a_bad_image_in_the_middle(client, cat):
    images = [cat, b"this is not an image", sized_jpeg(320, 240), cat[: len(cat) // 2], cat]
    outcomes = list(client.classify_many(images, concurrency=2, return_exceptions=True, top_k=2))
    assert [type(o).__name__ for o in outcomes] == ["list", "InvalidImage", "list", "InvalidImage", "list"]
    assert "not a recognised image format" in str(outcomes[1])
    assert "truncated" in str(outcomes[3])
    assert all(len(o) == 2 for o in outcomes if isinstance(o, list))
    stream = client.classify_many(images, concurrency=2)
    assert len(next(stream)) == 5
    with pytest.raises(InvalidImage, match="not a recognised image format"):
        next(stream)


def test_one_client_shared_by_threads(client):
    images = mixed_images()[:4]
    expected = [ids_and_scores(client.classify(image))[0] for image in images]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: ids_and_scores(client.classify(images[i % 4]))[0], range(18)))
    assert answers == [expected[i % 4] for i in range(18)]


def test_health_and_metadata(client):
    assert client.is_live()
    assert client.is_ready()
    client.wait_until_ready(timeout_s=5)
    meta = client.model_metadata()
    assert meta.name == "densenet_ensemble"
    assert meta.platform == "ensemble"
    assert meta.inputs == (TensorMetadata("IMAGE", "UINT8", (-1, -1)),)
    assert {t.name: t.datatype for t in meta.outputs} == {
        "LABELS": "BYTES",
        "SCORES": "FP32",
        "CLASS_IDS": "INT32",
    }


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (b"this is not an image", "not a recognised image format"),
        (cat_jpeg()[:5000], "truncated or corrupt JPEG"),
        (png_bomb(), "pixels"),
    ],
    ids=["not-an-image", "truncated", "bomb"],
)
def test_a_bad_image_is_invalid_image_with_the_servers_reason_and_is_not_retried(
    client_url, image, reason, gauge, cat
):
    with DenseNetClient(client_url, retry=RetryPolicy(attempts=5)) as client:
        with pytest.raises(InvalidImage, match=reason) as caught:
            client.classify(image)
        assert gauge.calls == 1
        assert caught.value.status in ("400", "StatusCode.INVALID_ARGUMENT")
        assert "Traceback" not in str(caught.value)
        assert not str(caught.value).startswith("in ensemble")
        assert len(client.classify(cat)) == 5  # nobody else harmed


def test_an_unknown_model_is_model_not_ready(client_url, cat):
    with DenseNetClient(client_url, model="no_such_model") as client:
        with pytest.raises(ModelNotReady, match="unknown model"):
            client.classify(cat)
        with pytest.raises(ModelNotReady):
            client.model_metadata()
        assert client.is_live()
        assert not client.is_ready()
        with pytest.raises(ModelNotReady, match="not ready after"):
            client.wait_until_ready(timeout_s=0.2, poll_s=0.1)


def test_a_tiny_request_timeout_is_timeout_not_retried(client_url, gauge, cat):
    large = encode(photo("astronaut.png").resize((1600, 1600)), "PNG")
    with DenseNetClient(client_url, request_timeout_s=0.02, retry=RetryPolicy(attempts=5)) as client:
        started = time.monotonic()
        with pytest.raises(Timeout, match=r"within 0\.02s") as caught:
            client.classify(large)
        assert time.monotonic() - started < 2
        assert gauge.calls == 1
        assert isinstance(caught.value, TimeoutError)
    with DenseNetClient(client_url) as client:
        assert client.is_ready()
        assert len(client.classify(cat)) == 5


@pytest.fixture(scope="module")
def short_lived_server(model_repository: Path, tmp_path_factory):
    # A short exit timeout: Triton otherwise waits for the clients' idle keep-alive connections.
    with serving(model_repository, tmp_path_factory.mktemp("short-lived"), exit_timeout_s=1) as server:
        yield server


def test_a_stopped_server_is_unavailable_after_the_retries(short_lived_server, cat):
    options = short_lived_server.options
    policy = RetryPolicy(attempts=3, initial_backoff_s=0.1, multiplier=2, jitter=0)
    clients = [
        DenseNetClient(f"http://127.0.0.1:{options.http_port}", retry=policy),
        DenseNetClient(f"grpc://127.0.0.1:{options.grpc_port}", retry=policy),
    ]
    for client in clients:
        assert len(client.classify(cat)) == 5  # connections are open when the server goes away
    short_lived_server.stop()
    for client in clients:
        started = time.monotonic()
        with pytest.raises(ServerUnavailable, match="cannot reach the server") as caught:
            client.classify(cat)
        assert caught.value.attempts == 3
        assert time.monotonic() - started >= 0.1 + 0.2
        assert not client.is_live()
        client.close()
