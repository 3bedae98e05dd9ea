"""What a user holds (bytes, a path, a file object, a PIL image) -> the encoded bytes the server decodes.

The server does all decoding and validation, so encoded files are sent exactly as they are. A
``PIL.Image`` has no encoded form; it is encoded as PNG, which is lossless: the server sees exactly
the pixels the caller holds (a JPEG re-encode would shift them and, slightly, the scores).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Union

import numpy as np

from .errors import InvalidImage

if TYPE_CHECKING:
    from PIL import Image as PILImage

ImageSource = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes], "PILImage.Image"]

# Modes PNG stores as they are; anything else (CMYK, YCbCr, float...) goes through RGB.
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I"}


def load_image(image: ImageSource) -> bytes:
    """The encoded bytes of ``image``; raises ``InvalidImage`` when it cannot be read or is empty."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
    elif isinstance(image, (str, os.PathLike)):
        data = _read_path(Path(image))
    elif _is_pil_image(image):
        data = encode_pil(image)
    elif hasattr(image, "read"):
        data = image.read()
        if isinstance(data, str):
            raise TypeError("the file object is open in text mode; open it with 'rb'")
        data = bytes(data)
    else:
        raise TypeError(
            f"an image is bytes, a path, a binary file object or a PIL.Image, not {type(image).__name__}"
        )
    if not data:
        what = "the image" if isinstance(image, (bytes, bytearray, memoryview)) else describe(image)
        raise InvalidImage(f"{what} is empty (0 bytes)")
    return data


def describe(image: ImageSource) -> str:
    """A short human name for ``image`` in messages: its path, file name, or kind and size."""
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return f"<{len(image)} bytes>"
    if _is_pil_image(image):
        return f"<PIL.Image {image.width}x{image.height} {image.mode}>"
    name = getattr(image, "name", None)
    return str(name) if isinstance(name, str) else f"<{type(image).__name__}>"


def encode_pil(image: PILImage.Image) -> bytes:
    """PNG bytes of ``image`` (lossless). Low compression: the bytes travel over a local link, speed wins."""
    if image.mode not in _PNG_MODES:
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def image_rows(images: Sequence[bytes]) -> np.ndarray:
    """Encoded images -> uint8 [B, N], each row zero-padded at the end to the longest (the IMAGE contract)."""
    if not images:
        raise ValueError("no images")
    if len(images) == 1:
        return np.frombuffer(images[0], np.uint8)[np.newaxis]  # no copy for the common case
    rows = np.zeros((len(images), max(len(data) for data in images)), np.uint8)
    for row, data in zip(rows, images, strict=True):
        row[: len(data)] = np.frombuffer(data, np.uint8)
    return rows


def _read_path(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise InvalidImage(f"cannot read {path}: {reason}") from None


def _is_pil_image(image: object) -> bool:
    # If PIL was never imported nothing can be a PIL image: bytes and paths need no Pillow.
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(image, pil.Image)
