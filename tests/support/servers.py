"""Real tritonserver instances for end-to-end tests: started on free ports, always stopped."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from densenet_serve import ServerOptions, TritonServer
from densenet_serve.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "test-admin-token"  # the restricted APIs (statistics, repository, ...) need it


@contextlib.contextmanager
def serving(model_repository: Path, log_dir: Path, **options: Any) -> Iterator[TritonServer]:
    """A READY tritonserver on free ports serving ``model_repository``; stopped on exit.

    ``options``: further ``ServerOptions`` fields (``exit_timeout_s=1``, ...).
    """
    server_options = ServerOptions(
        model_repository=model_repository,
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        **{"admin_token": ADMIN_TOKEN, **options},
    )
    triton = TritonServer(server_options, log_path=log_dir / "tritonserver.log")
    try:
        triton.start()
        triton.wait_ready(timeout_s=300)
        yield triton
    finally:
        triton.stop()


@contextlib.contextmanager
def serving_model(
    model: Any, workdir: Path, edit: Callable[[Path], None] | None = None, **options: Any
) -> Iterator[str]:
    """A scratch copy of the model repository with ``model`` installed (``edit`` may change it
    further), served READY on free ports; yields its HTTP address."""
    from tests.support.scratch import scratch_repository

    repository = scratch_repository(REPO_ROOT / "model_repository", workdir / "model_repository", model)
    if edit is not None:
        edit(repository)
    with serving(repository, workdir, **options) as triton:
        yield f"127.0.0.1:{triton.options.http_port}"
