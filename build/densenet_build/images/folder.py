"""A folder of images → the exact tensors the server would feed DenseNet (OUR preprocessing)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import ImageFolderError

LOGGER = logging.getLogger(__name__)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


def list_images(folder: str | Path, limit: int | None = None) -> list[Path]:
    """The image files directly in ``folder``, sorted by name, at most ``limit`` of them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageFolderError(
            f"image folder {folder} does not exist (`densenet-build samples {folder}` makes one)"
        )
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ImageFolderError(f"{folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return paths[:limit] if limit else paths


def load_tensors(folder: str | Path, config, limit: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Preprocess every image in ``folder`` with ``config`` (a ``preprocess.PreprocessConfig``).

    Returns float32 [N, 3, H, W] and the file names. Images the server would reject are skipped
    with a warning naming the reason; a folder with none left is an error.
    """
    from preprocess import Preprocessor

    paths = list_images(folder, limit)
    preprocessor = Preprocessor(config)
    try:
        results = preprocessor.process([p.read_bytes() for p in paths]).results
    finally:
        preprocessor.close()
    tensors, names = [], []
    for path, result in zip(paths, results, strict=True):
        if isinstance(result, Exception):
            LOGGER.warning("skipping %s: %s", path.name, result)
        else:
            tensors.append(result)
            names.append(path.name)
    if not tensors:
        raise ImageFolderError(f"none of the {len(paths)} images in {folder} passed preprocessing")
    return np.stack(tensors).astype(np.float32, copy=False), names
