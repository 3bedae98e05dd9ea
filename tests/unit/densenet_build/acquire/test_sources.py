"""The source chain against local servers that answer as the real sources do today, and worse.

The catalog's sources are pointed at a server on 127.0.0.1 (same records, local addresses), so the
chain, its messages and its fallbacks run exactly as for a user; pauses are recorded, not slept.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from densenet_build.acquire import sources
from densenet_build.acquire.catalog import DOWNLOADS, TORCHVISION, TORCHVISION_DENSENET121, ZOO
from densenet_build.acquire.download import Retry
from densenet_build.acquire.sources import AcquiredModel, acquire
from densenet_build.errors import BuildError, DownloadError
from densenet_build.testmodels.seeded import SEEDED_WEIGHTS
from tests.support.sourceserver import Sleeps, file, lfs_pointer, not_found, quota_page, too_many_requests

ONNX_BYTES = b"\x08\x07densenet-7 stand-in " * 100
CHECKPOINT_BYTES = b"PK\x03\x04torchvision checkpoint stand-in " * 100


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def converted(monkeypatch):
    """The torchvision finish step, recording the checkpoints it was given (the converter is tested
    on its own with a real checkpoint; here only the chain is)."""
    calls: list[bytes] = []

    def finish(source, checkpoint: Path, cache_dir: Path) -> AcquiredModel:
        calls.append(checkpoint.read_bytes())
        return AcquiredModel(
            checkpoint, source.weights, sha(checkpoint.read_bytes()), source.preset, source.name
        )

    monkeypatch.setitem(sources.FINISH, TORCHVISION, finish)
    return calls


@pytest.fixture
def world(server, monkeypatch):
    """The catalog's sources at local addresses: zoo's Hugging Face and GitHub mirrors, torchvision's URL.

    Each source keeps its record (name, kind, preset, weights) and gets this test's bytes and digests.
    """

    def place(zoo_hf, zoo_github, torchvision):
        monkeypatch.setitem(
            DOWNLOADS,
            "zoo",
            replace(
                ZOO,
                urls=(
                    server.route("hf/densenet-7.onnx", *zoo_hf),
                    server.route("gh/densenet-7.onnx", *zoo_github),
                ),
                sha256=sha(ONNX_BYTES),
                size=len(ONNX_BYTES),
            ),
        )
        monkeypatch.setitem(
            DOWNLOADS,
            "torchvision",
            replace(
                TORCHVISION_DENSENET121,
                urls=(server.route("pt/densenet121-a639ec97.pth", *torchvision),),
                sha256=sha(CHECKPOINT_BYTES)[:8],
            ),
        )

    return place


def chain(source, tmp_path, sleeps=None, **kwargs):
    retry = Retry(attempts=2, backoff_s=0.0, sleep=sleeps if sleeps is not None else Sleeps())
    return acquire(source, tmp_path, retry=retry, timeout=5, progress=False, **kwargs)


def test_zoo_comes_from_the_hugging_face_mirror_first(server, world, tmp_path, converted):
    world([file(ONNX_BYTES)], [lfs_pointer(ONNX_BYTES)], [file(CHECKPOINT_BYTES)])
    acquired = chain("auto", tmp_path)
    assert acquired.path.read_bytes() == ONNX_BYTES
    assert acquired.record() == {
        "weights": ZOO.weights,
        "source_sha256": sha(ONNX_BYTES),
        "preprocessing": "densenet_caffe",
        "source": "zoo",
    }
    assert server.hits["/gh/densenet-7.onnx"] == 0
    assert server.hits["/pt/densenet121-a639ec97.pth"] == 0
    assert converted == []


def test_today_without_the_mirror_torchvision_answers(server, world, tmp_path, converted, caplog):
    """GitHub's dead LFS object and a quota page at the mirror: the chain moves on to torchvision."""
    world([quota_page(403)], [lfs_pointer(ONNX_BYTES)], [file(CHECKPOINT_BYTES)])
    with caplog.at_level(logging.WARNING):
        acquired = chain("auto", tmp_path)
    assert acquired.record() == {
        "weights": TORCHVISION_DENSENET121.weights,
        "source_sha256": sha(CHECKPOINT_BYTES),
        "preprocessing": "torchvision",
        "source": "torchvision",
    }
    assert converted == [CHECKPOINT_BYTES]
    moved_on = caplog.text
    assert "source zoo failed; trying torchvision next" in moved_on
    assert f"zoo ({server.url('hf/densenet-7.onnx')}): HTTP 403 Forbidden" in moved_on
    pointer = f"the server sent a Git LFS pointer (oid sha256:{sha(ONNX_BYTES)}"
    assert f"zoo ({server.url('gh/densenet-7.onnx')}): {pointer}" in moved_on
    assert "not the model: the ONNX model zoo's Git LFS downloads ended on 2025-07-01" in moved_on
    assert server.hits["/gh/densenet-7.onnx"] == 1  # named at once, not retried


def test_auto_ends_with_the_seeded_model_loudly_listing_every_failure(server, world, tmp_path, capsys):
    world([quota_page(403)], [lfs_pointer(ONNX_BYTES)], [not_found()])
    acquired = chain("auto", tmp_path)
    assert acquired.weights == SEEDED_WEIGHTS
    assert acquired.source == "seeded"
    assert acquired.path.exists()
    banner = capsys.readouterr().err
    assert "MEANINGLESS" in banner
    for line in (
        f"zoo ({server.url('hf/densenet-7.onnx')}): HTTP 403 Forbidden",
        f"zoo ({server.url('gh/densenet-7.onnx')}): the server sent a Git LFS pointer",
        f"torchvision ({server.url('pt/densenet121-a639ec97.pth')}): HTTP 404 Not Found",
    ):
        assert line in banner


@pytest.mark.parametrize("source", ["download", "zoo"])
def test_named_sources_fail_with_every_reason_instead_of_random_weights(server, world, tmp_path, source):
    world([quota_page(403)], [lfs_pointer(ONNX_BYTES)], [not_found()])
    with pytest.raises(DownloadError) as raised:
        chain(source, tmp_path)
    message = str(raised.value)
    assert message.startswith("no source gave the model:\n  zoo (")
    assert "HTTP 403 Forbidden" in message
    assert "Git LFS pointer" in message
    assert ("HTTP 404 Not Found" in message) == (source == "download")
    assert "--url/--sha256" in message
    assert not (tmp_path / "densenet121-seeded.onnx").exists()
    assert not list(tmp_path.glob("*.onnx"))  # nothing half-downloaded either


def test_a_busy_mirror_is_waited_for(server, world, tmp_path):
    sleeps = Sleeps()
    world([too_many_requests("3"), file(ONNX_BYTES)], [not_found()], [not_found()])
    acquired = chain("zoo", tmp_path, sleeps)
    assert acquired.source == "zoo"
    assert sleeps == [3.0]
    assert server.hits["/hf/densenet-7.onnx"] == 2


def test_a_mirror_with_the_wrong_file_is_passed_over(server, world, tmp_path):
    world([file(ONNX_BYTES[:-1] + b"!")], [file(ONNX_BYTES)], [not_found()])
    acquired = chain("zoo", tmp_path)
    assert acquired.path.read_bytes() == ONNX_BYTES
    assert server.hits["/hf/densenet-7.onnx"] == 1  # a wrong digest is not retried


def test_url_reads_a_source_from_a_private_mirror(server, world, tmp_path, converted):
    world([not_found()], [not_found()], [not_found()])
    mirror = server.route("mirror/densenet121.pth", file(CHECKPOINT_BYTES))
    acquired = chain("torchvision", tmp_path, url=mirror)  # the source's own file: its own digest
    assert acquired.source == "torchvision"
    assert acquired.weights == TORCHVISION_DENSENET121.weights
    assert server.hits["/pt/densenet121-a639ec97.pth"] == 0

    other = b"PK\x03\x04a fine-tuned checkpoint"
    url = server.route("mirror/finetuned.pth", file(other))
    acquired = chain("torchvision", tmp_path, url=url, sha256=sha(other))
    assert acquired.record()["source_sha256"] == sha(other)
    assert acquired.record()["source"] == "torchvision"
    assert acquired.weights.startswith("torchvision file finetuned.pth (sha256 ")
    assert acquired.preprocessing == "torchvision"


def test_url_with_another_file_needs_its_digest(server, world, tmp_path):
    world([not_found()], [not_found()], [not_found()])
    url = server.route("mirror/other.onnx", file(b"\x08\x07another model"))
    with pytest.raises(
        DownloadError, match=f"announces 15 bytes; the file is {len(ONNX_BYTES)}: a different"
    ):
        chain("zoo", tmp_path, url=url)


@pytest.mark.parametrize(
    ("source", "kwargs", "said"),
    [
        ("auto", {"url": "http://127.0.0.1:9/m"}, "--url names one file: give its kind with --source zoo or"),
        ("seeded", {"url": "http://127.0.0.1:9/m"}, "--url names one file"),
        ("zoo", {"sha256": "ab" * 32}, "--sha256 goes with --url"),
        ("model-zoo", {}, "source must be one of auto, download, zoo, torchvision, seeded"),
    ],
)
def test_misuse_is_refused_before_any_download(tmp_path, source, kwargs, said):
    with pytest.raises(BuildError, match=said):
        chain(source, tmp_path, **kwargs)


def test_the_catalog_names_the_real_sources():
    """The addresses and digests docs/model.md lists (never fetched by the tests)."""
    assert ZOO.urls == (
        "https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main/validated/vision/classification/"
        "densenet-121/model/densenet-7.onnx",
        "https://github.com/onnx/models/raw/main/validated/vision/classification/densenet-121/model/densenet-7.onnx",
    )
    assert (ZOO.sha256, ZOO.size) == (
        "79c3bc0974696a2ea9efd2f7bca19fdd630834bd0086f1b4a1c3db3dce3b2a51",
        32_719_461,
    )
    assert TORCHVISION_DENSENET121.urls == ("https://download.pytorch.org/models/densenet121-a639ec97.pth",)
    assert TORCHVISION_DENSENET121.sha256 == "a639ec97"  # the prefix torch hub publishes and checks
    assert (ZOO.preset, TORCHVISION_DENSENET121.preset) == ("densenet_caffe", "torchvision")
    assert sources.CHAINS["auto"] == ("zoo", "torchvision", "seeded")
    assert sources.CHAINS["download"] == ("zoo", "torchvision")


@pytest.mark.parametrize("fixture", ["legacy.pth", "zip.pth"])
def test_a_torchvision_checkpoint_arrives_converted_with_its_preset(server, world, tmp_path, fixture):
    """The real converter on the fixture checkpoint (a reduced torchvision DenseNet) served over HTTP."""
    import numpy as np
    import onnxruntime as ort

    from tests.support.torchvision_fixture import FIXTURE_DIR, expected

    checkpoint = (FIXTURE_DIR / fixture).read_bytes()
    world([not_found()], [lfs_pointer(ONNX_BYTES)], [not_found()])
    url = server.route(f"mirror/{fixture}", file(checkpoint))
    acquired = chain("torchvision", tmp_path, url=url, sha256=sha(checkpoint))
    assert acquired.source == "torchvision"
    assert acquired.preprocessing == "torchvision"
    assert acquired.sha256 == sha(checkpoint)  # the downloaded file's digest, not the conversion's
    batch, logits = expected(FIXTURE_DIR / "expected.npz")
    session = ort.InferenceSession(str(acquired.path), providers=["CPUExecutionProvider"])
    (served,) = session.run(["fc6_1"], {"data_0": batch})
    np.testing.assert_allclose(served.reshape(len(batch), -1), logits, atol=1e-3)


def test_a_file_that_is_no_checkpoint_fails_the_source(server, world, tmp_path):
    world([not_found()], [not_found()], [not_found()])
    url = server.route("mirror/broken.pth", file(b"PK\x03\x04 not really a zip"))
    with pytest.raises(DownloadError, match=r"torchvision \(http://127\.0\.0\.1:\d+/mirror/broken\.pth\): "):
        chain("torchvision", tmp_path, url=url, sha256=sha(b"PK\x03\x04 not really a zip"))
    assert not list(tmp_path.glob("*.onnx"))
