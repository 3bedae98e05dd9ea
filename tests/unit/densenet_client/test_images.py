"""Every kind of image input -> the encoded bytes sent, and the [B, N] padding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from densenet_client import InvalidImage
from densenet_client.images import describe, encode_pil, image_rows, load_image
from tests.support.imagefactory import cat_jpeg, gradient


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return cat_jpeg()


def test_bytes_like_are_sent_as_they_are(jpeg):
    assert load_image(jpeg) == jpeg
    assert load_image(bytearray(jpeg)) == jpeg
    assert load_image(memoryview(jpeg)) == jpeg


def test_paths_as_str_and_pathlike(jpeg, tmp_path):
    path = tmp_path / "cat.jpg"
    path.write_bytes(jpeg)
    assert load_image(path) == jpeg
    assert load_image(str(path)) == jpeg


def test_binary_file_objects_are_read_not_closed(jpeg, tmp_path):
    buffer = io.BytesIO(jpeg)
    assert load_image(buffer) == jpeg
    assert not buffer.closed
    path = tmp_path / "cat.jpg"
    path.write_bytes(jpeg)
    with path.open("rb") as handle:
        assert load_image(handle) == jpeg


def test_a_text_mode_file_is_a_type_error(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("not binary")
    with path.open() as handle, pytest.raises(TypeError, match="'rb'"):
        load_image(handle)


@pytest.mark.parametrize("wrong", [42, None, ["cat.jpg"], np.zeros((2, 2), np.uint8)])
def test_other_types_are_type_errors(wrong):
    with pytest.raises(TypeError, match=r"bytes, a path, a binary file object or a PIL\.Image"):
        load_image(wrong)


def test_pil_images_are_sent_as_lossless_png():
    pixels = gradient(64, 48)
    data = load_image(Image.fromarray(pixels))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels)


@pytest.mark.parametrize(
    ("mode", "sent_as"), [("L", "L"), ("RGBA", "RGBA"), ("P", "P"), ("CMYK", "RGB"), ("F", "RGB")]
)
def test_pil_modes_png_cannot_store_go_through_rgb(mode, sent_as):
    image = Image.fromarray(gradient(16, 8)).convert(mode)
    decoded = Image.open(io.BytesIO(encode_pil(image)))
    assert decoded.format == "PNG"
    assert decoded.mode == sent_as


def test_unreadable_paths_are_invalid_images_naming_the_path(tmp_path):
    with pytest.raises(InvalidImage, match=r"cannot read .*missing\.jpg: No such file or directory"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(InvalidImage, match="Is a directory"):
        load_image(tmp_path)


def test_empty_images_are_refused_before_sending(tmp_path):
    with pytest.raises(InvalidImage, match=r"^the image is empty \(0 bytes\)$"):
        load_image(b"")
    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(InvalidImage, match=r"empty\.jpg is empty"):
        load_image(empty)


def test_describe(tmp_path):
    assert describe(tmp_path / "a.jpg") == str(tmp_path / "a.jpg")
    assert describe(b"abc") == "<3 bytes>"
    assert describe(Image.new("RGB", (4, 3))) == "<PIL.Image 4x3 RGB>"
    assert describe(io.BytesIO(b"x")) == "<BytesIO>"


def test_rows_are_zero_padded_at_the_end():
    rows = image_rows([b"\x01\x02\x03", b"\x04", b"\x05\x06"])
    assert rows.dtype == np.uint8
    assert rows.tolist() == [[1, 2, 3], [4, 0, 0], [5, 6, 0]]


def test_one_image_is_one_row_without_a_copy(jpeg):
    rows = image_rows([jpeg])
    assert rows.shape == (1, len(jpeg))
    assert not rows.flags.owndata
    assert rows.tobytes() == jpeg


def test_no_images_is_an_error():
    with pytest.raises(ValueError, match="no images"):
        image_rows([])
