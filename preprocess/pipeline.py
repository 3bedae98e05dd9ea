"""The whole preprocessing step for a batch of encoded images, built once per model instance."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from PIL import Image

from .config import PreprocessConfig, ResamplingMode
from .decode import declared_size, decode_image, decode_scaled, sniff_format, strip_padding
from .errors import ImageError
from .transform import Normalizer, draft_size, resize, resize_region

Row = bytes | np.ndarray


@dataclass
class Batch:
    """One pass over the rows of a model execution: per row, its pixels or the error that refused it.

    ``model.py`` answers each request from its span of rows: :meth:`errors` to refuse it, else
    :meth:`pixels`, host memory (numpy) or, for a GPU pipeline, a DLPack tensor on the GPU.
    """

    results: list[Any]
    stack: Callable[[list[Any]], Any] = np.stack
    on_host: bool = True
    # Per row (encoded bytes, declared pixels or 0 if refused) for the metrics.
    sizes: list[tuple[int, int]] = field(default_factory=list)

    def errors(self, start: int, count: int) -> list[tuple[int, ImageError]]:
        """The refused rows among ``count`` rows from ``start``, as (offset, error)."""
        rows = self.results[start : start + count]
        return [(i, r) for i, r in enumerate(rows) if isinstance(r, ImageError)]

    def pixels(self, start: int, count: int) -> Any:
        """``count`` rows from ``start``, none refused, as one [count, 3, H, W] float32 tensor."""
        return self.stack(self.results[start : start + count])


class ImagePipeline(Protocol):
    """What ``model.py`` needs of a preprocessing implementation, whichever runs it (Python or DALI).

    As Polygraphy's runners fix activate/infer/deactivate, every implementation is built from a
    :class:`PreprocessConfig`, then answers :meth:`process` until :meth:`close`.
    """

    config: PreprocessConfig

    def process(self, rows: Sequence[Row]) -> Batch:
        """Each encoded row (zero padding allowed) → its pixels or the :class:`ImageError` that refused it."""
        ...

    def warm_up(self) -> None:
        """Run every decode path once, so the first request pays no first-use costs."""
        ...

    def close(self) -> None:
        """Release threads and pipelines; the object is not used afterwards."""
        ...


def preprocess_one(pipeline: ImagePipeline, row: Row) -> np.ndarray:
    """One encoded image → float32 [3, H, W] on the host; raises the :class:`ImageError` that refused it."""
    (result,) = pipeline.process([row]).results
    if isinstance(result, ImageError):
        raise result
    return np.asarray(result)


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

    libjpeg-turbo, Pillow and numpy release the GIL while they decode, resize and normalize, so the
    rows of a batch are processed on a thread pool.
    """

    def __init__(self, config: PreprocessConfig) -> None:
        self.config = config
        self._draft = draft_size(config) if config.jpeg_draft else None
        self._normalize = Normalizer(config)
        self._pool = ThreadPoolExecutor(config.threads, "decode") if config.threads > 1 else None
        self._fast = config.resampling_mode is ResamplingMode.FAST

    def decode(self, row: Row) -> np.ndarray:
        """One encoded image (zero padding allowed) → uint8 [H, W, 3]; raises :class:`ImageError`."""
        return self._decode(strip_padding(row))

    def _decode(self, data: bytes) -> np.ndarray:
        if self._fast:
            return resize_region(decode_scaled(data, self.config, self._draft), self.config)
        return resize(decode_image(data, self.config, self._draft), self.config)

    def process(self, rows: Sequence[Row]) -> Batch:
        """Each row → float32 [3, H, W] or the :class:`ImageError` that rejected it, in order, and each
        row's (encoded bytes, declared pixels) for the metrics.

        Each image is normalized by the thread that decoded it, straight into its slot of one batch
        buffer: nothing is stacked or copied afterwards on a single thread. Bytes are counted after the
        zero padding is stripped; pixels (width x height as the image declares them) only for accepted
        images, 0 for refused ones.
        """
        out = np.empty((len(rows), 3, *self.config.output_size), dtype=np.float32)
        sizes = [(0, 0)] * len(rows)

        def one(index: int) -> np.ndarray | ImageError:
            data = strip_padding(rows[index])
            sizes[index] = (len(data), 0)
            try:
                self._normalize(self._decode(data)[np.newaxis], out[index : index + 1])
            except ImageError as error:
                return error
            width, height = declared_size(data, sniff_format(data) or "") or (0, 0)
            sizes[index] = (len(data), width * height)
            return out[index]

        # One image is decoded on the calling thread: a hand-off to the pool only adds latency.
        indices = range(len(rows))
        parallel = self._pool is not None and len(rows) > 1
        return Batch(list(self._pool.map(one, indices) if parallel else map(one, indices)), sizes=sizes)

    def warm_up(self) -> None:
        """Run every decode path once on every pool thread (libjpeg-turbo's DCT scales, Pillow's JPEG
        and PNG decoders, the resizes, the normalization), so the first request pays no first use."""
        rows = warm_up_images()
        # A lone image runs on the calling thread, a batch on the pool: warm both.
        batches = (self.process(rows[:1]), self.process(rows * max(1, self.config.threads)))
        results = [result for batch in batches for result in batch.results]
        if any(isinstance(result, ImageError) for result in results):
            raise RuntimeError("preprocessing cannot decode its own warm-up images")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
