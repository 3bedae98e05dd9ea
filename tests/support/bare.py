"""A bare tritonserver on loopback with no proxy, to show that an attack on it is real."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from densenet_build.repository.pbtxt import parse_model_config, update_parameters
from densenet_serve.distribution import find_distribution, stage_backends
from densenet_serve.ports import free_port
from densenet_serve.server import ServerOptions, kill_group, remove_shm_regions, server_environment
from tests.support import processes


@contextlib.contextmanager
def postprocess_only_server(model_repository: Path, workdir: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    """tritonserver serving only ``postprocess`` (it loads in seconds): (its process, HTTP port)."""
    import urllib.request

    repository = workdir / "bare_repository"
    shutil.copytree(model_repository / "postprocess", repository / "postprocess")
    # The served postprocess reads ../densenet/labels.txt, but a densenet folder without a config
    # would fail this server's load: the labels go next to postprocess instead.
    shutil.copy2(model_repository / "densenet" / "labels.txt", repository / "postprocess" / "labels.txt")
    config = repository / "postprocess" / "config.pbtxt"
    served = parse_model_config(config.read_text()).parameters["labels_file"].string_value
    assert served == "../densenet/labels.txt", f"{config} reads its labels from {served!r}"
    update_parameters(config, {"labels_file": "labels.txt"})
    options = ServerOptions(
        repository,
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        model_config_name=None,
    )
    dist = find_distribution()
    prefix = f"densenet-test-bare-{secrets.token_hex(6)}-"
    with (
        tempfile.TemporaryDirectory(prefix="bare-triton-") as backends,
        open(workdir / "bare.log", "wb") as log,
    ):
        command = options.command(dist, stage_backends(dist, Path(backends)), prefix)
        process = subprocess.Popen(
            command,
            env=server_environment(dist),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def ready() -> bool:
            assert process.poll() is None, (workdir / "bare.log").read_text()[-3000:]
            url = f"http://127.0.0.1:{options.http_port}/v2/models/postprocess/ready"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    return response.status == 200
            except OSError:
                return False

        try:
            processes.wait_for(ready, 300, "the bare server")
            yield process, options.http_port
        finally:
            kill_group(process.pid)
            process.wait(60)
            remove_shm_regions(prefix)
