"""`densenet-serve` as a user runs it: READY banner, then Ctrl-C/SIGTERM stop everything it started."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from densenet_serve import MODELS, ServerExitedError, ServerOptions, TritonServer
from densenet_serve.ports import free_port
from tests.support import processes

pytestmark = pytest.mark.e2e


def ignore_sigint() -> None:
    """What a non-interactive shell does to a job it starts in the background."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_launcher(
    model_repository: Path, log: Path, preexec_fn=None
) -> tuple[subprocess.Popen, dict[str, int]]:
    ports = {"HTTP_PORT": free_port(), "GRPC_PORT": free_port(), "METRICS_PORT": free_port()}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}}
    with open(log, "wb") as output:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "densenet_serve", "--model-repository", str(model_repository)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,
        )
    deadline = time.monotonic() + 300
    while b"Press Ctrl-C to stop" not in log.read_bytes():
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, "launcher never printed its READY banner"
        time.sleep(0.2)
    return process, ports


@pytest.mark.parametrize(
    ("signum", "preexec_fn"),
    [(signal.SIGTERM, None), (signal.SIGINT, None), (signal.SIGINT, ignore_sigint)],
    ids=["SIGTERM", "SIGINT", "SIGINT-started-ignored"],
)
def test_signal_stops_server_and_stubs(model_repository, tmp_path, signum, preexec_fn):
    log = tmp_path / "serve.log"
    process, ports = start_launcher(model_repository, log, preexec_fn)
    try:
        check_running_and_stop(process, ports, log, signum)
    finally:
        if process.poll() is None:  # a failed check must not leave a server behind
            process.kill()
            process.wait(60)


def check_running_and_stop(process: subprocess.Popen, ports: dict[str, int], log: Path, signum: int) -> None:
    output = log.read_text()
    assert "densenet_ensemble is READY (seeded-random" in output
    assert "  weights from source seeded, sha256 " in output
    assert ", preprocessing densenet_caffe\n" in output
    assert f"127.0.0.1:{ports['HTTP_PORT']}/v2/models/densenet_ensemble/infer" in output
    children = processes.descendants(process.pid)
    assert any("tritonserver" in c for c in children.values())
    stubs = [c for c in children.values() if "triton_python_backend_stub" in c]
    # One stub per instance: preprocess, postprocess and densenet's two (configs/cpu.pbtxt).
    assert sorted(m for c in stubs for m in MODELS if f"/{m}/1/model.py" in c) == sorted(
        ["preprocess", "postprocess", "densenet", "densenet"]
    )
    process.send_signal(signum)
    assert process.wait(timeout=60) == 0
    assert processes.alive(children) == [], "processes outlived the launcher"


def test_a_model_that_fails_to_load_is_reported_with_the_reason(model_repository, tmp_path):
    broken = tmp_path / "model_repository"
    shutil.copytree(model_repository, broken)
    (broken / "densenet" / "1" / "model.onnx").unlink()
    options = ServerOptions(broken, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port())
    server = TritonServer(options, log_path=tmp_path / "server.log")
    with server, pytest.raises(ServerExitedError, match=r"failed to load 'densenet'.*model.onnx is missing"):
        server.wait_ready(timeout_s=120)
