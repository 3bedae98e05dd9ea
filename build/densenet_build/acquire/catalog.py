"""Where trained weights come from: one record per source, tried mirror by mirror.

Each source is data (addresses, the digest that proves the file, what it is and the preprocessing
its weights were trained with); :mod:`.sources` runs them. ``kind`` says how the downloaded file
becomes the repository's ONNX: ``onnx`` as it is, ``torchvision`` through the torch-free converter.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from .zoo import (
    DENSENET7_BYTES,
    DENSENET7_GONE,
    DENSENET7_PREPROCESSING,
    DENSENET7_SHA256,
    DENSENET7_URLS,
    DENSENET7_WEIGHTS,
)

ONNX = "onnx"
TORCHVISION = "torchvision"


@dataclass(frozen=True)
class Source:
    name: str  # what --source says, and what the configs record as the weights' source
    urls: tuple[str, ...]  # mirrors of one file, tried in order
    sha256: str  # the full digest, or the prefix its publisher states (then the docs say so)
    size: int | None  # bytes, when known: a server announcing another size sends another file
    kind: str  # ONNX or TORCHVISION
    preset: str  # the preprocess preset (preprocess.PRESETS) the weights were trained with
    weights: str  # the description the server reports
    filename: str  # the name in the download cache
    gone: str = ""  # what it means when a server sends a placeholder (an LFS pointer) instead

    def at(self, url: str, sha256: str | None = None) -> Source:
        """This source read from a private mirror: ``url``, and ``sha256`` if the file differs."""
        if sha256 is None or sha256.lower() == self.sha256:
            return replace(self, urls=(url,), gone="")
        name = PurePosixPath(urlsplit(url).path).name or self.filename
        return replace(
            self,
            urls=(url,),
            sha256=sha256.lower(),
            size=None,
            filename=name,
            weights=f"{self.kind} file {name} (sha256 {sha256.lower()[:12]}…), given with --url",
            gone="",
        )


ZOO = Source(
    name="zoo",
    urls=DENSENET7_URLS,
    sha256=DENSENET7_SHA256,
    size=DENSENET7_BYTES,
    kind=ONNX,
    preset=DENSENET7_PREPROCESSING,
    weights=DENSENET7_WEIGHTS,
    filename="densenet-7.onnx",
    gone=DENSENET7_GONE,
)
TORCHVISION_DENSENET121 = Source(
    name="torchvision",
    urls=("https://download.pytorch.org/models/densenet121-a639ec97.pth",),
    # torch hub publishes only this prefix of the file's sha256 (in its name) and checks only it.
    sha256="a639ec97",
    size=None,
    kind=TORCHVISION,
    preset="torchvision",
    weights="torchvision densenet121 IMAGENET1K_V1 (ImageNet-trained, converted without torch)",
    filename="densenet121-a639ec97.pth",
)
DOWNLOADS = {source.name: source for source in (ZOO, TORCHVISION_DENSENET121)}
