"""The asyncio SDK (tritonclient's aio clients) against the real server, over HTTP and gRPC."""

from __future__ import annotations

import asyncio
import io

import pytest
import tritonclient.grpc.aio
import tritonclient.http.aio

from densenet_client import (
    AsyncDenseNetClient,
    DenseNetClient,
    InvalidImage,
    ModelNotReady,
    RetryPolicy,
    Timeout,
)
from tests.support.clientcheck import Gauge, assert_same, ids_and_scores, mixed_images
from tests.support.imagefactory import cat_jpeg, encode, photo

pytestmark = pytest.mark.e2e


@pytest.fixture
def gauge(client_url, monkeypatch) -> Gauge:
    gauge = Gauge()
    module = tritonclient.http.aio if client_url.startswith("http") else tritonclient.grpc.aio
    monkeypatch.setattr(
        module.InferenceServerClient, "infer", gauge.wrap_async(module.InferenceServerClient.infer)
    )
    return gauge


def test_every_input_kind(client_url, bare, tmp_path):
    cat = cat_jpeg()
    path = tmp_path / "cat.jpg"
    path.write_bytes(cat)
    picture = photo("coffee.png").resize((256, 200))

    async def run():
        async with AsyncDenseNetClient(client_url) as client:
            return await asyncio.gather(
                client.classify(cat),
                client.classify(str(path)),
                client.classify(path),
                client.classify(io.BytesIO(cat)),
                client.classify(picture, top_k=3),
            )

    *same_cat, from_pil = asyncio.run(run())
    for predictions in same_cat:
        assert_same(predictions, bare(cat))
    assert_same(from_pil, bare(encode(picture, "PNG"), 3))


def test_classify_many_keeps_order_with_bounded_concurrency(client_url, gauge):
    images = mixed_images()
    with DenseNetClient(client_url) as blocking:
        expected = [ids_and_scores(blocking.classify(image))[0] for image in images]

    async def source():
        for image in images:
            yield image

    async def run(items):
        async with AsyncDenseNetClient(client_url) as client:
            return [ids_and_scores(p)[0] async for p in client.classify_many(items, concurrency=3)]

    assert asyncio.run(run(images)) == expected
    assert gauge.most == 3
    assert asyncio.run(run(source())) == expected


def test_bad_images_are_returned_in_place_or_raised(client_url):
    cat = cat_jpeg()
    images = [cat, b"this is not an image", cat[:4000], cat]

    async def run():
        async with AsyncDenseNetClient(client_url, retry=RetryPolicy(attempts=4)) as client:
            outcomes = [o async for o in client.classify_many(images, return_exceptions=True, top_k=2)]
            with pytest.raises(InvalidImage, match="not a recognised image format") as caught:
                await client.classify(images[1])
            return outcomes, caught.value

    outcomes, error = asyncio.run(run())
    assert [type(o).__name__ for o in outcomes] == ["list", "InvalidImage", "InvalidImage", "list"]
    assert "truncated" in str(outcomes[2])
    assert error.status in ("400", "StatusCode.INVALID_ARGUMENT")


def test_health_metadata_and_unknown_model(client_url):
    async def run():
        async with AsyncDenseNetClient(client_url) as client:
            assert await client.is_live()
            assert await client.is_ready()
            await client.wait_until_ready(timeout_s=5)
            meta = await client.model_metadata()
        async with AsyncDenseNetClient(client_url, model="no_such_model") as unknown:
            assert not await unknown.is_ready()
            with pytest.raises(ModelNotReady, match="unknown model"):
                await unknown.classify(cat_jpeg())
        return meta

    meta = asyncio.run(run())
    assert meta.name == "densenet_ensemble"
    assert [t.name for t in meta.inputs] == ["IMAGE"]


def test_a_tiny_request_timeout_is_timeout(client_url, gauge):
    large = encode(photo("astronaut.png").resize((1600, 1600)), "PNG")

    async def run():
        impatient = AsyncDenseNetClient(client_url, request_timeout_s=0.02, retry=RetryPolicy(attempts=5))
        async with impatient as client:
            with pytest.raises(Timeout, match=r"within 0\.02s"):
                await client.classify(large)
        async with AsyncDenseNetClient(client_url) as client:
            return await client.classify(cat_jpeg())

    assert len(asyncio.run(run())) == 5
    assert gauge.calls == 2  # the timed-out call was not retried
