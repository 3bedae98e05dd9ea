"""Step 1, acquire: trained weights from the first source that answers (verified), or a stand-in model.

``--source`` names a chain of sources (:data:`CHAINS`): the downloads of :mod:`.catalog`, tried
mirror by mirror, and the models made here without a network. When a source fails the chain says
why and moves on; when every source failed, the error lists each failure.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from densenet_contract.files import replacing
from densenet_contract.names import RECORDED_KEYS

from ..errors import BuildError, DownloadError
from ..testmodels.seeded import SEEDED_WEIGHTS, write_seeded_densenet
from .catalog import DOWNLOADS, ONNX, TORCHVISION, Source
from .download import Retry, download, sha256_of, shown_url
from .zoo import DENSENET7_PREPROCESSING

LOGGER = logging.getLogger(__name__)
SEEDED = "seeded"
TRAINED_STAND_IN = "efficientnet-lite0"
LOCAL_FILE = "file"  # the source recorded for a model given with --onnx-file


@dataclass(frozen=True)
class AcquiredModel:
    path: Path
    weights: str  # human-readable description, stamped into the prepared model's metadata
    sha256: str  # of the file the weights came in (the download, before any conversion)
    preprocessing: str = DENSENET7_PREPROCESSING  # the preprocess preset the weights were trained with
    source: str = LOCAL_FILE  # where they came from: a --source name, or LOCAL_FILE

    def record(self) -> dict[str, str]:
        """What the configs record beside the file (RECORDED_KEYS): weights, sha256, preprocessing, source."""
        values = (self.weights, self.sha256, self.preprocessing, self.source)
        return dict(zip(RECORDED_KEYS, values, strict=True))


# --source NAME: the sources tried, in order. Only `auto` ends with the seeded (random) weights.
CHAINS: dict[str, tuple[str, ...]] = {
    "auto": ("zoo", "torchvision", SEEDED),
    "download": ("zoo", "torchvision"),  # compose and Kubernetes: fail rather than serve random weights
    "zoo": ("zoo",),
    "torchvision": ("torchvision",),
    SEEDED: (SEEDED,),
    TRAINED_STAND_IN: (TRAINED_STAND_IN,),
}
SOURCES = tuple(CHAINS)


def acquire(
    source: str,
    cache_dir: str | Path,
    *,
    url: str | None = None,
    sha256: str | None = None,
    timeout: float = 30.0,
    retry: Retry | None = None,
    progress: bool | None = None,
) -> AcquiredModel:
    """Obtain the raw ONNX model (batch 1 or dynamic) from the sources ``source`` names.

    ``url`` (with ``sha256`` when the file is not the source's own) reads a source that downloads
    one file from a private mirror instead of its public addresses.
    """
    if source not in CHAINS:
        raise BuildError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    chain = CHAINS[source]
    if url is not None:
        if len(chain) != 1 or chain[0] not in DOWNLOADS:
            raise BuildError(
                f"--url names one file: give its kind with --source "
                f"{' or --source '.join(DOWNLOADS)} (not {source!r})"
            )
    elif sha256 is not None:
        raise BuildError("--sha256 goes with --url (each built-in source's digest is in the code)")
    cache_dir = Path(cache_dir)
    failures: list[str] = []
    for position, name in enumerate(chain):
        if name in MADE_HERE:
            if failures:
                warn_seeded_fallback(failures)
            return MADE_HERE[name](cache_dir)
        found = DOWNLOADS[name] if url is None else DOWNLOADS[name].at(url, sha256)
        try:
            return fetch(found, cache_dir, timeout=timeout, retry=retry, progress=progress)
        except SourceFailed as error:
            failures.extend(error.failures)
            if position + 1 < len(chain):
                following = chain[position + 1]
                LOGGER.warning(
                    "source %s failed; trying %s next:\n  %s", name, following, "\n  ".join(error.failures)
                )
    raise DownloadError(
        "no source gave the model:\n  "
        + "\n  ".join(failures)
        + "\nBehind a proxy, set https_proxy; on an air-gapped host, copy a file in and use --url/--sha256 "
        'or --onnx-file (docs/model.md, "Mirrors and air-gapped hosts")'
    )


class SourceFailed(DownloadError):
    """Every mirror of one source failed; ``failures`` says how, one line each."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("\n".join(failures))
        self.failures = failures


def fetch(
    source: Source,
    cache_dir: Path,
    *,
    timeout: float = 30.0,
    retry: Retry | None = None,
    progress: bool | None = None,
) -> AcquiredModel:
    """Download ``source`` from its first mirror that answers with the verified file, and make it ONNX."""
    failures = []
    for url in source.urls:
        try:
            path = download(
                url,
                cache_dir / source.filename,
                source.sha256,
                expected_bytes=source.size,
                timeout=timeout,
                retry=retry,
                progress=progress,
                note=source.gone,
            )
            return FINISH[source.kind](source, path, cache_dir)
        except BuildError as error:  # a download, digest or conversion failure: the next mirror may do
            failures.append(f"{source.name} ({shown_url(url)}): {_without_url(str(error), url)}")
    raise SourceFailed(failures)


def _without_url(message: str, url: str) -> str:
    return message.removeprefix(f"{shown_url(url)}: ")


def _as_onnx(source: Source, path: Path, cache_dir: Path) -> AcquiredModel:
    return AcquiredModel(path, source.weights, sha256_of(path), source.preset, source.name)


def _from_torchvision(source: Source, checkpoint: Path, cache_dir: Path) -> AcquiredModel:
    """Convert a torchvision DenseNet checkpoint to the repository's ONNX interface (no torch needed)."""
    from .torchvision_densenet import convert_checkpoint

    output = cache_dir / f"{Path(source.filename).stem}.onnx"
    convert_checkpoint(checkpoint, output, weights=source.weights)  # afresh (atomically) each time
    return AcquiredModel(output, source.weights, sha256_of(checkpoint), source.preset, source.name)


# How a downloaded file of each Source.kind becomes the ONNX to install.
FINISH: dict[str, Callable[[Source, Path, Path], AcquiredModel]] = {
    ONNX: _as_onnx,
    TORCHVISION: _from_torchvision,
}


def _made_once(path: Path, write: Callable[[Path], object]) -> Path:
    """``path``, written by ``write`` the first time only, atomically: a half-written file (an
    interrupted first run, two test workers at once) is never taken for the model."""
    if not path.exists():
        with replacing(path) as partial:
            write(partial)
    return path


def seeded_model(cache_dir: str | Path) -> AcquiredModel:
    """The seeded DenseNet-121 (random weights), generated once into ``cache_dir``."""
    path = _made_once(Path(cache_dir) / "densenet121-seeded.onnx", write_seeded_densenet)
    return AcquiredModel(path, SEEDED_WEIGHTS, sha256_of(path), DENSENET7_PREPROCESSING, SEEDED)


def trained_test_model(cache_dir: str | Path) -> AcquiredModel:
    """EfficientNet-Lite0 (trained) in densenet-7's interface, converted once into ``cache_dir``."""
    from ..testmodels import efficientnet_lite

    path = _made_once(Path(cache_dir) / "efficientnet-lite0.onnx", efficientnet_lite.write_efficientnet_lite0)
    return AcquiredModel(
        path, efficientnet_lite.WEIGHTS, sha256_of(path), efficientnet_lite.PREPROCESSING, TRAINED_STAND_IN
    )


# The sources that need no network.
MADE_HERE: dict[str, Callable[[Path], AcquiredModel]] = {
    SEEDED: seeded_model,
    TRAINED_STAND_IN: trained_test_model,
}


def warn_seeded_fallback(failures: list[str]) -> None:
    width = min(shutil.get_terminal_size((100, 20)).columns, 100)
    line = "!" * width
    tried = "\n".join(f"!!   {failure}" for failure in failures)
    print(
        f"\n{line}\n"
        f"!! No trained weights could be downloaded:\n{tried}\n"
        "!! FALLING BACK TO THE SEEDED OFFLINE MODEL: random weights, its labels are MEANINGLESS.\n"
        "!! The server reports this in the 'weights' parameter of /v2/models/densenet/config.\n"
        "!! For real predictions: `make model SOURCE=zoo` or `SOURCE=torchvision`; from a mirror of your\n"
        "!! own: `make model SOURCE=torchvision URL=... SHA256=...`; or download densenet-7.onnx yourself\n"
        "!! (docs/model.md) and run `.venv/bin/densenet-build model --onnx-file densenet-7.onnx`.\n"
        "!! Offline with real labels: `make model SOURCE=efficientnet-lite0` (a trained stand-in).\n"
        f"{line}\n",
        file=sys.stderr,
        flush=True,
    )
