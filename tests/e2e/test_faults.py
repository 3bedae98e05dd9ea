"""Faults: a python stub killed with SIGKILL, and SIGTERM with requests in flight.

Each test runs its own server so the session server stays healthy for the others.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import tritonclient.http as httpclient

from densenet_serve import ServerOptions, TritonServer
from densenet_serve.health import check
from densenet_serve.ports import free_port
from tests.support import processes
from tests.support.imagefactory import cat_jpeg, sized_jpeg
from tests.support.inference import http_infer, results

pytestmark = pytest.mark.e2e


def test_killed_stub_fails_the_health_check_and_the_watchdog_recovers(model_repository, tmp_path):
    http_port = free_port()
    url = f"127.0.0.1:{http_port}"
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "HTTP_PORT": str(http_port),
        "GRPC_PORT": str(free_port()),
        "METRICS_PORT": str(free_port()),
    }
    with open(log, "wb") as output:
        launcher = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "densenet_serve",
                "--model-repository",
                str(model_repository),
                "--watchdog-interval",
                "1",
                "--watchdog-failures",
                "2",
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        processes.wait_for(lambda: b"Press Ctrl-C to stop" in log.read_bytes(), 300, "READY")
        assert check(url).healthy
        stubs = {
            pid: cmd
            for pid, cmd in processes.descendants(launcher.pid).items()
            if "preprocess/1/model.py" in cmd
        }
        assert len(stubs) == 1
        os.kill(next(iter(stubs)), signal.SIGKILL)

        # Triton 2.51 keeps reporting the model READY; only a real inference shows the failure.
        health = check(url)
        assert not health.healthy
        assert "not healthy" in health.detail
        with httpclient.InferenceServerClient(url) as client:
            assert client.is_model_ready("preprocess")

        processes.wait_for(
            lambda: b"all models READY again" in log.read_bytes(), 300, "the watchdog's restart"
        )
        assert check(url).healthy
        with httpclient.InferenceServerClient(url) as client:
            assert results(http_infer(client, [cat_jpeg()]))[2].shape == (1, 5)
        assert processes.alive(stubs) == []
    finally:
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=60) == 0


def test_sigterm_lets_in_flight_requests_finish(model_repository, tmp_path):
    options = ServerOptions(
        model_repository, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port()
    )
    server = TritonServer(options, log_path=tmp_path / "server.log")
    images = [sized_jpeg(640, 480)] * 8  # each request: 8 images through DenseNet, well over 100 ms
    started = threading.Event()

    def one(_: int):
        with httpclient.InferenceServerClient(
            f"127.0.0.1:{options.http_port}", network_timeout=120
        ) as client:
            started.set()
            return results(http_infer(client, images))[2].shape

    with server:
        server.wait_ready(300)
        children = processes.descendants(server.process.pid)
        # Four at once: no more than the bounded queues hold (preprocess 4, densenet 4 waiting), so
        # every one is admitted and in flight when SIGTERM comes.
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(one, i) for i in range(4)]
            started.wait(30)
            time.sleep(0.5)  # let the requests reach the server
            stopping = threading.Thread(target=server.stop)
            stopping.start()
            shapes = [f.result(timeout=180) for f in futures]
            stopping.join(120)
    assert shapes == [(8, 5)] * 4
    assert processes.alive(children) == []
