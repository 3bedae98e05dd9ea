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


def corrupt_huffman_table(data: bytes) -> bytes:
    """A JPEG whose first Huffman table declares more codes than exist: it passes every header check
    and only the decoder finds out (a DALI pipeline then fails its whole batch)."""
    out = bytearray(data)
    dht = out.find(b"\xff\xc4")
    out[dht + 5 : dht + 21] = b"\xff" * 16  # 16 code lengths of 255 codes each
    return bytes(out)


def bad_images() -> dict[str, bytes]:
    """Images the server must refuse, each for its own reason (tests/e2e/test_bad_images.py)."""
    return {
        "empty-after-padding": b"\0\0\0\0",
        "text": b"GET / HTTP/1.1\r\nHost: example\r\n\r\n",
        "random": bytes(np.random.default_rng(7).integers(1, 256, 4096, dtype=np.uint8)),
        "truncated-jpeg": cat_jpeg()[:9000],
        "png-bomb": png_bomb(),
        "jpeg-bomb": jpeg_bomb(),
        "gif": encode(Image.new("RGB", (32, 32)), "GIF"),
        "jpeg-header-only": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
        "png-header-only": encode(Image.new("RGB", (8, 8)), "PNG")[:33],  # signature + IHDR only
    }


def odd_images() -> dict[str, bytes]:
    """Odd but valid images the server must classify (tests/e2e/test_hostile_requests.py)."""
    pattern = Image.fromarray(gradient(64, 64))
    return {
        "1x1-jpeg": encode(Image.new("RGB", (1, 1), (200, 30, 30)), "JPEG"),
        "1x1-png": encode(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"),
        "very-wide-png": encode(Image.fromarray(gradient(8000, 12)), "PNG"),
        "very-tall-jpeg": encode(Image.fromarray(gradient(12, 8000)), "JPEG"),
        "grayscale-jpeg": encode(pattern.convert("L"), "JPEG"),
        "cmyk-jpeg": encode(pattern.convert("CMYK"), "JPEG"),
        "palette-transparent-png": encode(pattern.convert("P"), "PNG", transparency=3),
        "rgba-png": encode(pattern.convert("RGBA"), "PNG"),
        "16-bit-png": encode(
            Image.fromarray(np.asarray(pattern.convert("L")).astype(np.uint16) * 257), "PNG"
        ),
        "progressive-jpeg": encode(pattern, "JPEG", progressive=True),
        "huge-photo-6000x4000": encode(photo("coffee.png").resize((6000, 4000)), "JPEG", quality=85),
    }


def mutated(seed: bytes, rng: np.random.Generator) -> bytes:
    """``seed`` with a few bytes flipped, then maybe a chunk inserted and maybe the end cut off."""
    data = bytearray(seed)
    for _ in range(int(rng.integers(1, 9))):
        data[int(rng.integers(len(data)))] ^= int(rng.integers(1, 256))
    if rng.random() < 0.3:
        at = int(rng.integers(len(data)))
        data[at:at] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    if rng.random() < 0.3:
        data = data[: int(rng.integers(len(data) + 1))]
    return bytes(data)
