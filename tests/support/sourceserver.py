"""A local HTTP server (127.0.0.1, a free port) that answers like the model sources do, good or bad.

Each path is given a list of answers, served in turn (the last one repeats): the real bytes of a
file, a Git LFS pointer, a quota page, 404, 429 with Retry-After, a body cut short, a stall.
Requests are counted per path, so tests can say how often a client tried.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field


class Sleeps(list):
    """A stand-in for ``time.sleep`` that records the pauses asked for (and sleeps none)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/octet-stream"
    headers: tuple[tuple[str, str], ...] = ()
    send_bytes: int | None = None  # stop after this many body bytes and close (Content-Length stays)
    stall: bool = False  # send the headers and the first bytes, then nothing until the test ends


def file(body: bytes) -> Answer:
    return Answer(body=body)


def lfs_pointer(data: bytes) -> Answer:
    """What GitHub's raw URL serves for an LFS file whose object is gone: the pointer text itself."""
    pointer = (
        "version https://git-lfs.github.com/spec/v1\n"
        f"oid sha256:{hashlib.sha256(data).hexdigest()}\n"
        f"size {len(data)}\n"
    )
    return Answer(body=pointer.encode(), content_type="text/plain; charset=utf-8")


QUOTA_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Rate limit exceeded - quota used up</title></head>"
    b"<body><h1>403</h1><p>You have used up your download quota.</p></body></html>\n"
)


def quota_page(status: int = 403) -> Answer:
    return Answer(status=status, body=QUOTA_PAGE, content_type="text/html; charset=utf-8")


def json_error(status: int = 200) -> Answer:
    body = b'{"error": "Repository not found or access restricted", "code": "RepoNotFound"}'
    return Answer(status=status, body=body, content_type="application/json")


def not_found() -> Answer:
    return Answer(status=404, body=b"Not Found", content_type="text/plain")


def too_many_requests(retry_after: str = "0") -> Answer:
    return Answer(
        status=429, body=b"slow down", content_type="text/plain", headers=(("Retry-After", retry_after),)
    )


def truncated(body: bytes, keep: int) -> Answer:
    return Answer(body=body, send_bytes=keep)


def stalled(body: bytes) -> Answer:
    return Answer(body=body, stall=True)


@dataclass
class SourceServer:
    """The routes (path → answers) and what was asked; ``url(path)`` is the address of a path."""

    routes: dict[str, list[Answer]] = field(default_factory=dict)
    hits: Counter = field(default_factory=Counter)
    port: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def route(self, path: str, *answers: Answer) -> str:
        self.routes["/" + path.lstrip("/")] = list(answers)
        return self.url(path)

    def next_answer(self, path: str) -> Answer | None:
        answers = self.routes.get(path)
        if not answers:
            return None
        self.hits[path] += 1
        return answers.pop(0) if len(answers) > 1 else answers[0]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        source = self.server.source
        path = self.path.split("?", 1)[0]
        if path.startswith("http://"):  # a proxy request names the whole URL
            path = "/" + path.split("/", 3)[3]
        answer = source.next_answer(path)
        if answer is None:
            self.send_error(404)
            return
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            if answer.stall:
                self.wfile.write(answer.body[:100])
                self.wfile.flush()
                source.released.wait(60)
                return
            self.wfile.write(answer.body[: answer.send_bytes])
            if answer.send_bytes is not None:
                self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout): nothing to report

    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handlers: none outlives its test
    source: SourceServer


@contextlib.contextmanager
def source_server() -> Iterator[SourceServer]:
    """A running :class:`SourceServer` on 127.0.0.1; stopped (stalls released) on exit."""
    state = SourceServer()
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.source = state
    state.port = httpd.server_port
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        httpd.shutdown()
        httpd.server_close()
