import io

import numpy as np
import pytest
import simplejpeg
from PIL import Image

from preprocess import (
    CorruptImageError,
    EmptyImageError,
    FormatNotAllowedError,
    ImageTooLargeError,
    PreprocessConfig,
    Preprocessor,
    ResamplingMode,
    TooManyPixelsError,
    decode_image,
    sniff_format,
    strip_padding,
)
from preprocess.decode import jpeg_has_end_marker, to_rgb
from tests.support.imagefactory import cat_jpeg, encode, gradient, jpeg_bomb, png_bomb, with_exif_orientation

CONFIG = PreprocessConfig()


def decode(data: bytes, config: PreprocessConfig = CONFIG, draft=None) -> np.ndarray:
    return np.asarray(decode_image(data, config, draft))


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("JPEG", "JPEG"), ("PNG", "PNG"), ("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF"), ("WEBP", "WEBP")],
)
def test_sniff_format_from_bytes(fmt, name):
    assert sniff_format(encode(Image.new("RGB", (8, 8)), fmt)) == name


def test_sniff_unknown():
    assert sniff_format(b"hello world") is None
    assert sniff_format(b"") is None


def test_strip_padding_only_removes_trailing_zeros():
    row = np.array([1, 0, 2, 0, 0, 0], np.uint8)
    assert strip_padding(row) == b"\x01\x00\x02"
    assert strip_padding(np.zeros(5, np.uint8)) == b""
    assert strip_padding(b"\x05\x00") == b"\x05"


def test_jpeg_end_marker_check():
    data = cat_jpeg()
    assert jpeg_has_end_marker(data)
    assert not jpeg_has_end_marker(data[:-2])
    assert not jpeg_has_end_marker(data[: len(data) // 2])


def test_truncated_jpeg_with_exif_thumbnail_is_detected():
    # The EXIF thumbnail is a complete JPEG (with its own end marker) inside APP1.
    thumb = encode(Image.new("RGB", (32, 32), (1, 2, 3)), "JPEG")
    exif = Image.Exif()
    exif[0x0112] = 1
    image = Image.fromarray(gradient(256, 256))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes() + thumb)
    data = buffer.getvalue()
    assert jpeg_has_end_marker(data)
    with pytest.raises(CorruptImageError, match="truncated"):
        decode(data[: len(data) - 200])


def test_decodes_jpeg_and_png_to_rgb():
    pixels = gradient()
    for fmt in ("PNG", "JPEG"):
        decoded = decode(encode(Image.fromarray(pixels), fmt))
        assert decoded.shape == pixels.shape
        assert np.abs(decoded.astype(int) - pixels).mean() < 3


def test_zero_padding_after_the_image_is_ignored():
    data = cat_jpeg()
    assert np.array_equal(decode(strip_padding(np.frombuffer(data + b"\0" * 999, np.uint8))), decode(data))


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", EmptyImageError, "empty"),
        (b"just some text, not an image", FormatNotAllowedError, "not a recognised image format"),
        (
            bytes(np.random.default_rng(0).integers(1, 255, 5000, dtype=np.uint8)),
            FormatNotAllowedError,
            "recognised",
        ),
        (encode(Image.new("RGB", (8, 8)), "GIF"), FormatNotAllowedError, "GIF images are not allowed"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 10, CorruptImageError, "JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x01" * 30, CorruptImageError, "PNG"),
    ],
)
def test_bad_input_is_a_clear_image_error(data, error, message):
    with pytest.raises(error, match=message):
        decode(data)


def test_truncated_files_are_errors_not_grey_images():
    jpeg, png = cat_jpeg(), encode(Image.fromarray(gradient(300, 200)), "PNG")
    for data in (jpeg[: len(jpeg) // 2], jpeg[:-10], png[: len(png) // 2], png[:-20]):
        with pytest.raises(CorruptImageError):
            decode(data)


def test_corrupt_png_data_is_an_error():
    png = bytearray(encode(Image.fromarray(gradient(300, 200)), "PNG"))
    idat = png.find(b"IDAT")
    png[idat + 40 : idat + 60] = b"\x13" * 20  # breaks the zlib stream and the CRC
    with pytest.raises(CorruptImageError):
        decode(bytes(png))


def test_byte_limit():
    config = PreprocessConfig(max_bytes=100)
    with pytest.raises(ImageTooLargeError, match="limit is 100 bytes"):
        decode(cat_jpeg(), config)


@pytest.mark.parametrize("bomb", [png_bomb, jpeg_bomb])
@pytest.mark.parametrize("mode", list(ResamplingMode))
def test_decompression_bombs_are_rejected_before_any_decoding(bomb, mode, monkeypatch):
    data = bomb()
    assert len(data) < 2000

    def must_not_run(*args, **kwargs):
        raise AssertionError("a decoder ran on a decompression bomb")

    # Neither decoder may see it: no 10 GB buffer is ever allocated.
    monkeypatch.setattr(simplejpeg, "decode_jpeg", must_not_run)
    monkeypatch.setattr(Image.Image, "load", must_not_run)
    with pytest.raises(TooManyPixelsError, match="60000x60000"):
        Preprocessor(PreprocessConfig(resampling_mode=mode, decode_threads=1)).decode(data)


def test_pixel_limit_is_configurable():
    with pytest.raises(TooManyPixelsError, match="limit is 100"):
        decode(encode(Image.new("RGB", (20, 20)), "PNG"), PreprocessConfig(max_pixels=100))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation):
    upright = Image.fromarray(gradient(64, 48))
    # What a camera would store so that applying `orientation` gives back `upright`.
    inverse = {
        1: lambda im: im,
        2: lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        3: lambda im: im.transpose(Image.Transpose.ROTATE_180),
        4: lambda im: im.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
        5: lambda im: im.transpose(Image.Transpose.TRANSPOSE),
        6: lambda im: im.transpose(Image.Transpose.ROTATE_90),
        7: lambda im: im.transpose(Image.Transpose.TRANSVERSE),
        8: lambda im: im.transpose(Image.Transpose.ROTATE_270),
    }[orientation]
    decoded = decode(with_exif_orientation(inverse(upright), orientation))
    assert decoded.shape == (48, 64, 3)
    assert np.abs(decoded.astype(int) - np.asarray(upright)).mean() < 4


def rgb_like(image: Image.Image) -> np.ndarray:
    return np.asarray(to_rgb(image)).astype(int)


def test_modes_convert_like_their_rgb_equivalent():
    rgb = Image.fromarray(gradient())
    gray = rgb.convert("L")
    expected_gray = np.asarray(gray.convert("RGB")).astype(int)
    assert np.array_equal(rgb_like(gray), expected_gray)
    assert np.array_equal(rgb_like(rgb.convert("RGBA")), np.asarray(rgb).astype(int))
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
    assert np.abs(rgb_like(palette) - np.asarray(palette.convert("RGB"))).max() == 0
    assert np.abs(rgb_like(rgb.convert("CMYK")) - np.asarray(rgb)).max() <= 2


def test_sixteen_bit_grayscale_is_rescaled_not_clipped():
    values8 = gradient()[..., 0]
    sixteen = Image.fromarray(values8.astype(np.uint16) * 257)
    decoded = decode(encode(sixteen, "PNG"))
    assert np.array_equal(decoded[..., 0], values8)


def test_transparency_is_composited_over_white():
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent black
    rgba[0, 0] = (255, 0, 0, 255)  # one opaque red pixel
    decoded = decode(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert tuple(decoded[0, 0]) == (255, 0, 0)
    assert tuple(decoded[1, 1]) == (255, 255, 255)


def test_palette_with_transparency():
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    image.putpixel((0, 0), 1)
    decoded = decode(encode(image, "PNG", transparency=0))
    assert tuple(decoded[0, 0]) == (10, 200, 30)
    assert tuple(decoded[3, 3]) == (255, 255, 255)


def test_cmyk_jpeg_decodes():
    rgb = Image.fromarray(gradient())
    decoded = decode(encode(rgb.convert("CMYK"), "JPEG", quality=95))
    assert np.abs(decoded.astype(int) - np.asarray(rgb)).mean() < 6


def test_draft_decodes_large_jpegs_at_reduced_scale_but_never_below_target():
    big = encode(Image.fromarray(gradient(2000, 1200)), "JPEG")
    assert decode(big, draft=(224, 224)).shape == (300, 500, 3)  # 1/4 scale: still >= 224
    assert decode(big, draft=None).shape == (1200, 2000, 3)
    small = encode(Image.fromarray(gradient(500, 375)), "JPEG")
    assert decode(small, draft=(224, 224)).shape == (375, 500, 3)  # 1/2 would be < 224: exact decode
