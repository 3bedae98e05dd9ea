"""The whole preprocessing step for a batch of encoded images, built once per model instance."""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from .config import PreprocessConfig, ResamplingMode
from .decode import decode_image, decode_scaled, strip_padding
from .errors import ImageError
from .transform import Normalizer, draft_size, resize, resize_region

Row = bytes | np.ndarray


def warm_up_images() -> list[bytes]:
    """A small and a large JPEG (full and reduced DCT scale), an EXIF-rotated one (Pillow) and a PNG."""
    y, x = np.mgrid[0:768, 0:1024]
    pattern = Image.fromarray(np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8))
    small = pattern.resize((320, 240))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: decoded and transposed by Pillow
    images = [(pattern, "JPEG", {}), (small, "JPEG", {}), (small, "JPEG", {"exif": exif}), (small, "PNG", {})]
    encoded = []
    for image, fmt, options in images:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        encoded.append(buffer.getvalue())
    return encoded


class Preprocessor:
    """Decode, validate, resize and normalize images; one bad image never affects the others.

    Pillow releases the GIL while decoding and resizing, so rows are decoded on a thread pool;
    normalization then runs once, vectorized over every image that decoded.
    """

    def __init__(self, config: PreprocessConfig) -> None:
        self.config = config
        self._draft = draft_size(config) if config.jpeg_draft else None
        self._normalize = Normalizer(config)
        self._pool = ThreadPoolExecutor(config.threads, "decode") if config.threads > 1 else None
        self._fast = config.resampling_mode is ResamplingMode.FAST

    def decode(self, row: Row) -> np.ndarray:
        """One encoded image (zero padding allowed) → uint8 [H, W, 3]; raises :class:`ImageError`."""
        data = strip_padding(row)
        if self._fast:
            return resize_region(decode_scaled(data, self.config, self._draft), self.config)
        return resize(decode_image(data, self.config, self._draft), self.config)

    def __call__(self, row: Row) -> np.ndarray:
        """One encoded image → float32 [3, H, W]."""
        return self._normalize(self.decode(row)[np.newaxis])[0]

    def process_batch(self, rows: Sequence[Row]) -> list[np.ndarray | ImageError]:
        """Each row → float32 [3, H, W], or the :class:`ImageError` that rejected it, in order."""
        # One image is decoded on the calling thread: a hand-off to the pool only adds latency.
        parallel = self._pool is not None and len(rows) > 1
        decoded = list(self._pool.map(self._try_decode, rows) if parallel else map(self._try_decode, rows))
        good = [i for i, item in enumerate(decoded) if not isinstance(item, ImageError)]
        if good:
            pixels = self._normalize_batch(np.stack([decoded[i] for i in good]))
            for position, index in enumerate(good):
                decoded[index] = pixels[position]
        return decoded

    def _normalize_batch(self, images: np.ndarray) -> np.ndarray:
        """Vectorized over the batch, in one chunk per thread (numpy releases the GIL while it runs)."""
        if self._pool is None or len(images) < 2 * self.config.threads:
            return self._normalize(images)
        out = np.empty((len(images), 3, *images.shape[1:3]), dtype=np.float32)
        bounds = np.linspace(0, len(images), self.config.threads + 1).astype(int)
        chunks = [slice(a, b) for a, b in itertools.pairwise(bounds)]
        list(self._pool.map(lambda part: self._normalize(images[part], out[part]), chunks))
        return out

    def _try_decode(self, row: Row) -> np.ndarray | ImageError:
        try:
            return self.decode(row)
        except ImageError as error:
            return error

    def warm_up(self) -> None:
        """Run every decode path once on every pool thread (libjpeg-turbo's DCT scales, Pillow's JPEG
        and PNG decoders, the resizes, the normalization), so the first request pays no first use."""
        rows = warm_up_images()
        # A lone image runs on the calling thread, a batch on the pool: warm both.
        results = [*self.process_batch(rows[:1]), *self.process_batch(rows * max(1, self.config.threads))]
        if any(isinstance(result, ImageError) for result in results):
            raise RuntimeError("preprocessing cannot decode its own warm-up images")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
