"""Sample and calibration images: real photographs from scikit-image's wheel, varied by crops and flips.

For users without images of their own and for tests: ``densenet-build samples DIR`` writes JPEGs
that look like what a classifier is fed (real scenes, not noise), so int8 calibration ranges and
the precision agreement figures come from realistic activations.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ImageFolderError

# Real photographs (colour first); synthetic images in skimage/data (logo, phantom, ...) are left out.
PHOTOS = (
    "chelsea.png",
    "coffee.png",
    "astronaut.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "hubble_deep_field.jpg",
    "retina.jpg",
    "ihc.png",
    "camera.png",
    "coins.png",
    "moon.png",
    "grass.png",
    "gravel.png",
    "brick.png",
    "cell.png",
)
MIN_CROP = 0.55  # smallest crop side, as a fraction of the photo's side


def photo_folder() -> Path:
    """scikit-image's bundled data folder, located without importing scikit-image."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        raise ImageFolderError(
            "scikit-image is not installed, and its wheel holds the sample photographs: "
            "pip install scikit-image==0.26.0, or pass a folder of your own images"
        )
    return Path(spec.origin).parent / "data"


def _variant(photo: Image.Image, rng: np.random.Generator) -> Image.Image:
    width, height = photo.size
    scale = rng.uniform(MIN_CROP, 1.0)
    crop_w, crop_h = max(1, int(width * scale)), max(1, int(height * scale * rng.uniform(0.85, 1.15)))
    crop_h = min(crop_h, height)
    left = int(rng.integers(0, width - crop_w + 1))
    top = int(rng.integers(0, height - crop_h + 1))
    image = photo.crop((left, top, left + crop_w, top + crop_h))
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return image


def sample_images(count: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """``count`` (name, JPEG bytes) pairs cycling through :data:`PHOTOS`; the first pass is uncropped."""
    if count < 1:
        raise ImageFolderError(f"the number of sample images must be at least 1, not {count}")
    folder = photo_folder()
    rng = np.random.default_rng(seed)
    samples = []
    for index in range(count):
        name = PHOTOS[index % len(PHOTOS)]
        try:
            photo = Image.open(folder / name).convert("RGB")
        except OSError as error:
            raise ImageFolderError(f"cannot read the sample photo {folder / name}: {error}") from None
        image = photo if index < len(PHOTOS) else _variant(photo, rng)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=int(rng.integers(80, 96)))
        samples.append((f"{index:04d}_{Path(name).stem}.jpg", buffer.getvalue()))
    return samples


def write_samples(folder: str | Path, count: int, seed: int = 0) -> list[Path]:
    """Write :func:`sample_images` into ``folder`` (created if needed) and return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in sample_images(count, seed):
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths
