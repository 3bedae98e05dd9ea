import hashlib
import http.server
import threading

import pytest

from densenet_build.acquire import sources as acquire_module
from densenet_build.acquire.sources import acquire, download
from densenet_build.errors import ChecksumError, DownloadError
from densenet_build.testmodels.seeded import SEEDED_WEIGHTS

PAYLOAD = b"onnx model bytes " * 1000
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    failures_left = 0
    stall = False  # hold the answer until the test releases it (a server that never answers in time)
    released = threading.Event()
    hits = 0

    def do_GET(self):
        type(self).hits += 1
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_error(503)
            return
        if type(self).stall:
            type(self).released.wait(60)
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test): nothing to report

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handlers: none outlives its test


@pytest.fixture
def server():
    Handler.failures_left, Handler.stall, Handler.hits = 0, False, 0
    Handler.released.clear()
    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/densenet-7.onnx"
    Handler.released.set()
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_and_keeps_a_verified_file(server, tmp_path):
    path = download(server, tmp_path / "m.onnx", SHA, expected_bytes=len(PAYLOAD), progress=False)
    assert path.read_bytes() == PAYLOAD
    download(server, path, SHA, progress=False)
    assert Handler.hits == 1  # second call found the verified file


def test_transient_failures_are_retried(server, tmp_path):
    Handler.failures_left = 2
    path = download(server, tmp_path / "m.onnx", SHA, retries=3, backoff=0.01, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert Handler.hits == 3


def test_gives_up_after_the_retries(server, tmp_path):
    Handler.failures_left = 10
    with pytest.raises(DownloadError, match="after 3 attempts"):
        download(server, tmp_path / "m.onnx", SHA, retries=2, backoff=0.01, progress=False)
    assert not list(tmp_path.iterdir())  # no partial file left behind


def test_checksum_mismatch_is_not_retried(server, tmp_path):
    with pytest.raises(ChecksumError, match="expected 0000"):
        download(server, tmp_path / "m.onnx", "0" * 64, retries=3, backoff=0.01, progress=False)
    assert Handler.hits == 1
    assert not (tmp_path / "m.onnx").exists()


def test_timeout_applies(server, tmp_path):
    """The server holds its answer until the test ends: only the timeout can end the download."""
    Handler.stall = True
    with pytest.raises(DownloadError, match="timed out"):
        download(server, tmp_path / "m.onnx", SHA, timeout=0.2, retries=0, progress=False)


def test_size_mismatch_is_an_error(server, tmp_path):
    with pytest.raises(DownloadError, match="received 17000 bytes, expected 5"):
        download(server, tmp_path / "m.onnx", SHA, expected_bytes=5, retries=0, progress=False)
    assert not list(tmp_path.iterdir())


def test_auto_falls_back_to_seeded_loudly(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(acquire_module, "DENSENET7_SHA256", SHA)
    acquired = acquire("auto", tmp_path, url="http://127.0.0.1:9/unreachable", timeout=0.5, retries=0)
    assert acquired.weights == SEEDED_WEIGHTS
    assert acquired.path.exists()
    assert "MEANINGLESS" in capsys.readouterr().err


def test_zoo_source_does_not_fall_back(tmp_path, monkeypatch):
    monkeypatch.setattr(acquire_module, "download", _raise_download_error)
    with pytest.raises(DownloadError):
        acquire("zoo", tmp_path)


def _raise_download_error(*args, **kwargs):
    raise DownloadError("offline")
