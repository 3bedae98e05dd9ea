"""Test images: real photographs from scikit-image's wheel, and generated images of every kind."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import skimage
from PIL import Image

PHOTOS = Path(skimage.__file__).parent / "data"


def photo(name: str = "chelsea.png") -> Image.Image:
    """A real photograph shipped in scikit-image's wheel (chelsea is a tabby cat, 451x300)."""
    return Image.open(PHOTOS / name).convert("RGB")


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        options.setdefault("quality", 90)
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def cat_jpeg() -> bytes:
    return encode(photo("chelsea.png"), "JPEG")


def sized_jpeg(width: int, height: int, name: str = "coffee.png") -> bytes:
    """A real photo resized to ``width`` x ``height`` (for size-dependent behaviour and benchmarks)."""
    return encode(photo(name).resize((width, height), Image.Resampling.BICUBIC), "JPEG")


def gradient(width: int = 64, height: int = 48) -> np.ndarray:
    """A smooth RGB test pattern (uint8 [H, W, 3]) whose orientation is easy to verify."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), np.full_like(x, 128)], -1
    ).astype(np.uint8)


def with_exif_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif.tobytes(), quality=95)


def png_bomb(width: int = 60000, height: int = 60000) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height``: a decompression bomb."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def jpeg_bomb(width: int = 60000, height: int = 60000) -> bytes:
    """A small JPEG whose SOF marker is patched to declare ``width`` x ``height``."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (200, 10, 10)), "JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)
