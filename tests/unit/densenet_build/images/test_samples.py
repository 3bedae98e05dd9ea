import io
import logging

import numpy as np
import pytest
from PIL import Image

from densenet_build.errors import ImageFolderError
from densenet_build.images.folder import list_images, load_tensors
from densenet_build.images.samples import PHOTOS, sample_images, write_samples
from preprocess import PreprocessConfig, Preprocessor, preprocess_one
from tests.support.imagefactory import photo


def test_samples_are_real_photos_then_varied_crops(tmp_path):
    paths = write_samples(tmp_path, len(PHOTOS) + 4, seed=3)
    assert len(paths) == len(PHOTOS) + 4
    first = Image.open(paths[0])
    assert first.format == "JPEG"
    assert first.size == photo("chelsea.png").size  # the first pass is the photographs themselves
    later = Image.open(paths[len(PHOTOS)])  # chelsea again, cropped
    assert later.size[0] < first.size[0] or later.size[1] < first.size[1]


def test_samples_are_deterministic_per_seed():
    assert sample_images(20, seed=1) == sample_images(20, seed=1)
    assert sample_images(20, seed=1) != sample_images(20, seed=2)


def test_sample_count_must_be_positive():
    with pytest.raises(ImageFolderError, match="at least 1"):
        sample_images(0)


def test_folder_goes_through_the_servers_preprocessing(sample_dir):
    config = PreprocessConfig()
    tensors, names = load_tensors(sample_dir, config)
    assert tensors.shape == (8, 3, 224, 224)
    assert tensors.dtype == np.float32
    expected = preprocess_one(Preprocessor(config), (sample_dir / names[0]).read_bytes())
    np.testing.assert_array_equal(tensors[0], expected)
    assert load_tensors(sample_dir, config, limit=3)[0].shape[0] == 3


def test_images_the_server_rejects_are_skipped_with_a_reason(tmp_path, caplog):
    write_samples(tmp_path, 2)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buffer, "BMP")
    (tmp_path / "picture.bmp").write_bytes(buffer.getvalue())  # BMP is not in allowed_formats
    with caplog.at_level(logging.WARNING):
        tensors, names = load_tensors(tmp_path, PreprocessConfig())
    assert tensors.shape[0] == 2
    assert len(names) == 2
    assert "broken.jpg" in caplog.text
    assert "picture.bmp" in caplog.text


def test_empty_or_missing_folders_are_errors(tmp_path):
    with pytest.raises(ImageFolderError, match="does not exist"):
        list_images(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(ImageFolderError, match="holds no images"):
        list_images(tmp_path)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ImageFolderError, match="none of the 1 images"):
        load_tensors(tmp_path, PreprocessConfig())
