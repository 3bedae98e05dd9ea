"""A throwaway copy of the model repository serving a given model (for tests and benchmarks).

The copy never touches the user's own model files; the model (the seeded DenseNet unless told
otherwise) is installed by the same build step a user runs (``densenet-build model``), so the
server sees exactly what it would in use, configs and preprocessing preset included.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from densenet_serve import ServerOptions, TritonServer
from densenet_serve.ports import free_port

if TYPE_CHECKING:
    from densenet_build.acquire.sources import AcquiredModel


def seeded_onnx(cache_dir: Path) -> Path:
    """The raw seeded DenseNet-121 (batch 1, like densenet-7), generated once into ``cache_dir`` by the
    same step as ``densenet-build model --source seeded``."""
    from densenet_build.acquire.sources import seeded_model

    return seeded_model(cache_dir).path


def scratch_repository(source: Path, destination: Path, model: Path | AcquiredModel) -> Path:
    """Copy the repository at ``source`` to ``destination`` and install ``model`` into it.

    ``model``: an acquired model (weights and preprocessing recorded), or the path of the seeded ONNX.
    """
    from densenet_build.acquire.sources import SEEDED, AcquiredModel, sha256_of
    from densenet_build.repository.install import install_onnx
    from densenet_build.testmodels.seeded import SEEDED_WEIGHTS

    if not isinstance(model, AcquiredModel):
        model = AcquiredModel(Path(model), SEEDED_WEIGHTS, sha256_of(model), source=SEEDED)
    install_onnx(model, copy_repository(source, destination))
    return destination


def copy_repository(source: Path, destination: Path) -> Path:
    """A copy of the repository at ``source`` without its models (ONNX, plans), for a model to go in."""
    shutil.copytree(
        source, destination, ignore=shutil.ignore_patterns("*.onnx", "*.plan", "*.part", "__pycache__")
    )
    return destination


def start_scratch_server(
    source: Path, workdir: Path, cache_dir: Path, ready_timeout_s: float = 300
) -> TritonServer:
    """A READY server on free local ports serving a scratch copy of ``source`` with the seeded DenseNet.

    The caller stops it (``server.stop()``); its log is ``workdir/tritonserver.log``.
    """
    repository = scratch_repository(source, workdir / "model_repository", seeded_onnx(cache_dir))
    options = ServerOptions(
        repository, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port()
    )
    server = TritonServer(options, log_path=workdir / "tritonserver.log")
    try:
        server.start()
        server.wait_ready(ready_timeout_s)
    except BaseException:
        server.stop()
        raise
    return server
