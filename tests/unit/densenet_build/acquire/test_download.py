"""download(): each way a source can answer, served by a local server, ends as docs/model.md says."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from densenet_build.acquire.download import Retry, download, shown_url
from densenet_build.acquire.placeholders import describe_placeholder
from densenet_build.errors import ChecksumError, DownloadError, NotTheFileError
from tests.support.sourceserver import (
    Sleeps,
    file,
    json_error,
    lfs_pointer,
    not_found,
    quota_page,
    stalled,
    too_many_requests,
    truncated,
)

PAYLOAD = b"\x08\x03onnx model bytes " + bytes(range(256)) * 64  # starts like a protobuf ONNX file
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def fetch(url, tmp_path, sha=SHA, sleeps=None, **kwargs):
    retry = Retry(attempts=3, backoff_s=0.5, sleep=sleeps if sleeps is not None else Sleeps())
    return download(url, tmp_path / "model.onnx", sha, retry=retry, progress=False, **kwargs)


def nothing_left(tmp_path) -> bool:
    return not list(tmp_path.iterdir())


def test_the_file_is_verified_and_kept(server, tmp_path):
    url = server.route("m.onnx", file(PAYLOAD))
    path = fetch(url, tmp_path, expected_bytes=len(PAYLOAD))
    assert path.read_bytes() == PAYLOAD
    fetch(url, tmp_path)
    assert server.hits["/m.onnx"] == 1  # the second call found the verified file


def test_a_published_digest_prefix_verifies(server, tmp_path):
    url = server.route("m.pth", file(PAYLOAD))
    assert fetch(url, tmp_path, sha=SHA[:8]).read_bytes() == PAYLOAD


def test_an_lfs_pointer_is_named_at_once_and_never_installed(server, tmp_path, sleeps):
    url = server.route("m.onnx", lfs_pointer(PAYLOAD))
    note = "the model zoo's LFS downloads ended on 2025-07-01"
    with pytest.raises(NotTheFileError) as raised:
        fetch(url, tmp_path, sleeps=sleeps, expected_bytes=len(PAYLOAD), note=note)
    message = str(raised.value)
    assert message.startswith("the server sent a Git LFS pointer (")
    assert f"oid sha256:{SHA}, size {len(PAYLOAD)}" in message
    assert message.endswith(f"not the model: {note}")
    assert server.hits["/m.onnx"] == 1
    assert sleeps == []
    assert nothing_left(tmp_path)


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (quota_page(status=200), "an HTML page titled 'Rate limit exceeded - quota used up'"),
        (json_error(status=200), 'a JSON message ({"error": "Repository not found'),
    ],
)
def test_a_page_served_with_200_is_named_at_once(server, tmp_path, sleeps, answer, named):
    url = server.route("m.onnx", answer)
    with pytest.raises(NotTheFileError, match=r"the server sent (.*), not the model$") as raised:
        fetch(url, tmp_path, sleeps=sleeps)
    assert named in str(raised.value)
    assert server.hits["/m.onnx"] == 1
    assert sleeps == []
    assert nothing_left(tmp_path)


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (
            quota_page(status=403),
            "HTTP 403 Forbidden: access refused: a quota, a login or a region block "
            "(an HTML page titled 'Rate limit exceeded - quota used up')",
        ),
        (not_found(), "HTTP 404 Not Found: no such file at this address"),
        (json_error(status=401), "HTTP 401 Unauthorized: the server wants credentials (a JSON message"),
    ],
)
def test_refusals_are_final(server, tmp_path, sleeps, answer, said):
    url = server.route("m.onnx", answer)
    with pytest.raises(DownloadError) as raised:
        fetch(url, tmp_path, sleeps=sleeps)
    assert str(raised.value).startswith(f"{url}: {said}")
    assert server.hits["/m.onnx"] == 1
    assert sleeps == []
    assert nothing_left(tmp_path)


def test_429_then_success_waits_as_retry_after_says(server, tmp_path, sleeps):
    url = server.route("m.onnx", too_many_requests("7"), too_many_requests("0"), file(PAYLOAD))
    assert fetch(url, tmp_path, sleeps=sleeps).read_bytes() == PAYLOAD
    assert sleeps == [7.0, 0.0]
    assert server.hits["/m.onnx"] == 3


def test_a_retry_after_past_the_bound_is_not_waited_for(server, tmp_path, sleeps):
    url = server.route("m.onnx", too_many_requests("3600"), file(PAYLOAD))
    with pytest.raises(DownloadError, match="asks to retry in 3600 s, longer than 60 s: try again later"):
        fetch(url, tmp_path, sleeps=sleeps)
    assert sleeps == []
    assert server.hits["/m.onnx"] == 1


def test_server_errors_back_off_exponentially_then_give_up(server, tmp_path, sleeps):
    url = server.route("m.onnx", quota_page(status=503))
    with pytest.raises(DownloadError, match=r"HTTP 503 Service Unavailable .*\(gave up after 3 attempts\)"):
        fetch(url, tmp_path, sleeps=sleeps)
    assert sleeps == [0.5, 1.0]
    assert server.hits["/m.onnx"] == 3
    assert nothing_left(tmp_path)


def test_a_truncated_body_is_retried_and_never_installed(server, tmp_path, sleeps):
    url = server.route("m.onnx", truncated(PAYLOAD, 1000), file(PAYLOAD))
    assert fetch(url, tmp_path, sleeps=sleeps).read_bytes() == PAYLOAD
    assert server.hits["/m.onnx"] == 2

    cut = server.route("cut.onnx", truncated(PAYLOAD, 1000))
    with pytest.raises(DownloadError, match=f"closed after 1000 of {len(PAYLOAD)} bytes .*gave up after 3"):
        download(cut, tmp_path / "cut.onnx", SHA, retry=Retry(3, 0.0, sleep=sleeps), progress=False)
    assert not (tmp_path / "cut.onnx").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no partial file either


def test_a_wrong_digest_is_final(server, tmp_path, sleeps):
    url = server.route("m.onnx", file(PAYLOAD))
    with pytest.raises(ChecksumError, match=f"sha256 is {SHA}, expected {'0' * 64}: not the expected file"):
        fetch(url, tmp_path, sha="0" * 64, sleeps=sleeps)
    assert server.hits["/m.onnx"] == 1
    assert sleeps == []
    assert nothing_left(tmp_path)


def test_a_different_size_is_final(server, tmp_path):
    url = server.route("m.onnx", file(PAYLOAD))
    with pytest.raises(
        DownloadError, match=f"announces {len(PAYLOAD)} bytes; the file is 5: a different file"
    ):
        fetch(url, tmp_path, expected_bytes=5)
    assert server.hits["/m.onnx"] == 1
    assert nothing_left(tmp_path)


def test_a_stall_past_the_timeout_is_retried_then_fails(server, tmp_path, sleeps):
    """The server sends the headers and 100 bytes, then nothing till the test ends: only a timeout ends it."""
    url = server.route("m.onnx", stalled(PAYLOAD))
    with pytest.raises(DownloadError, match=r"no data for 0.2 s \(timed out\) \(gave up after 3 attempts\)"):
        fetch(url, tmp_path, sleeps=sleeps, timeout=0.2)
    assert sleeps == [0.5, 1.0]  # (the server may count the last request only after the client gave up)
    assert nothing_left(tmp_path)


def test_the_standard_proxy_variables_are_honoured(server, tmp_path, monkeypatch):
    """The host name does not resolve: only a proxy (the local server) can answer for it."""
    server.route("models/m.onnx", file(PAYLOAD))
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{server.port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    path = fetch("http://mirror.invalid/models/m.onnx", tmp_path)
    assert path.read_bytes() == PAYLOAD
    assert server.hits["/models/m.onnx"] == 1


def test_an_unknown_host_is_not_retried(tmp_path, sleeps):
    with pytest.raises(DownloadError, match=r"cannot resolve the host name .*offline, or a proxy is needed"):
        fetch("http://mirror.invalid/m.onnx", tmp_path, sleeps=sleeps)
    assert sleeps == []


def test_credentials_and_queries_stay_out_of_messages():
    assert (
        shown_url("https://user:secret@mirror.example:8443/m.onnx?token=abc")
        == "https://mirror.example:8443/m.onnx"
    )


@pytest.mark.parametrize(
    "first",
    [
        PAYLOAD[:512],  # ONNX (protobuf)
        b"PK\x03\x04archive/data.pkl",  # a torch checkpoint, zip serialization
        b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.",  # a torch checkpoint, legacy serialization
    ],
)
def test_model_files_are_not_taken_for_placeholders(first):
    assert describe_placeholder(first) is None


def test_a_file_url_reads_a_local_copy(tmp_path, sleeps):
    """Air-gapped hosts: --url file:///path/to/the/copy (urllib's file handler)."""
    copy = tmp_path / "mirror" / "densenet121-a639ec97.pth"
    copy.parent.mkdir()
    copy.write_bytes(PAYLOAD)
    for cache in ("cache", "other"):
        (tmp_path / cache).mkdir()
    path = fetch(copy.as_uri(), tmp_path / "cache", sha=SHA[:8])
    assert path.read_bytes() == PAYLOAD
    with pytest.raises(DownloadError, match="No such file or directory"):
        fetch((tmp_path / "mirror" / "missing.pth").as_uri(), tmp_path / "other", sleeps=sleeps)
    assert sleeps == []


def test_a_progress_bar_shows_on_a_terminal_only(server, tmp_path):
    """The same download in a subprocess: on a terminal it draws a bar, into a pipe it prints nothing."""
    import sys

    from tests.support.terminal import run_on_terminal

    url = server.route("densenet-7.onnx", file(PAYLOAD))
    script = (
        "import sys; from densenet_build.acquire.download import download; "
        "download(sys.argv[1], sys.argv[2], sys.argv[3])"
    )
    status, shown = run_on_terminal(
        [sys.executable, "-c", script, url, str(tmp_path / "densenet-7.onnx"), SHA]
    )
    assert status == 0, shown
    assert "densenet-7.onnx: 100%" in shown
    assert f"{len(PAYLOAD) / 1000:.1f}k/{len(PAYLOAD) / 1000:.1f}k" in shown
    piped = subprocess.run(
        [sys.executable, "-c", script, url, str(tmp_path / "again.onnx"), SHA],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert piped.stderr == ""
