import threading

import numpy as np
import pytest
from PIL import Image

from preprocess import (
    CorruptImageError,
    EmptyImageError,
    ImageError,
    PreprocessConfig,
    Preprocessor,
    preprocess_one,
)
from tests.support.imagefactory import cat_jpeg, encode, gradient, photo, png_bomb


@pytest.fixture(scope="module")
def preprocessor():
    pre = Preprocessor(PreprocessConfig(decode_threads=2))
    yield pre
    pre.close()


def test_single_image_output(preprocessor):
    pixels = preprocess_one(preprocessor, cat_jpeg())
    assert pixels.shape == (3, 224, 224)
    assert pixels.dtype == np.float32
    # densenet_caffe: (x - mean) * 0.017 spans about -2.1 .. 2.6 for x in 0..255
    assert -124 * 0.017 <= pixels.min() < pixels.max() <= (255 - 103.94) * 0.017


def test_batch_keeps_order_and_isolates_bad_rows(preprocessor):
    good = cat_jpeg()
    png = encode(Image.fromarray(gradient(300, 200)), "PNG")
    rows = [good, b"", png, good[:-100], png_bomb(), good + b"\0" * 50]
    results = preprocessor.process(rows).results
    assert [type(r).__name__ for r in results] == [
        "ndarray",
        "EmptyImageError",
        "ndarray",
        "CorruptImageError",
        "TooManyPixelsError",
        "ndarray",
    ]
    np.testing.assert_array_equal(results[0], preprocess_one(preprocessor, good))
    np.testing.assert_array_equal(results[5], results[0])
    np.testing.assert_array_equal(results[2], preprocess_one(preprocessor, png))
    assert isinstance(results[1], EmptyImageError)
    assert isinstance(results[3], CorruptImageError)


def test_numpy_rows_with_padding(preprocessor):
    a, b = cat_jpeg(), encode(Image.fromarray(gradient(64, 64)), "PNG")
    width = max(len(a), len(b))
    rows = np.zeros((2, width), np.uint8)
    rows[0, : len(a)] = np.frombuffer(a, np.uint8)
    rows[1, : len(b)] = np.frombuffer(b, np.uint8)
    results = preprocessor.process(list(rows)).results
    np.testing.assert_array_equal(results[0], preprocess_one(preprocessor, a))
    np.testing.assert_array_equal(results[1], preprocess_one(preprocessor, b))


def test_threaded_and_serial_results_are_identical():
    rows = [cat_jpeg(), encode(Image.fromarray(gradient(640, 480)), "JPEG")] * 4
    serial = Preprocessor(PreprocessConfig(decode_threads=1))
    threaded = Preprocessor(PreprocessConfig(decode_threads=2))
    try:
        for one, two in zip(serial.process(rows).results, threaded.process(rows).results, strict=False):
            np.testing.assert_array_equal(one, two)
    finally:
        serial.close()
        threaded.close()


def test_all_bad_batch(preprocessor):
    results = preprocessor.process([b"x", b""]).results
    assert all(isinstance(r, ImageError) for r in results)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("L", "PNG"),
        ("L", "JPEG"),
        ("LA", "PNG"),
        ("RGBA", "PNG"),
        ("P", "PNG"),
        ("1", "PNG"),
        ("CMYK", "JPEG"),
        ("I;16", "PNG"),
    ],
)
def test_every_mode_classifies_like_its_rgb_equivalent(preprocessor, mode, fmt):
    """The same picture stored in another mode gives (nearly) the same model input."""
    rgb = Image.fromarray(gradient(320, 240))
    if mode == "I;16":
        stored = Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257)
        equivalent = rgb.convert("L").convert("RGB")
    else:
        stored = rgb.convert(mode)
        equivalent = stored.convert("RGB")  # opaque alpha, so dropping it is the RGB equivalent
    ours = preprocess_one(preprocessor, encode(stored, fmt))
    reference = preprocess_one(preprocessor, encode(equivalent, "PNG"))
    tolerance = 0.05 if fmt == "JPEG" else 1e-6  # JPEG is lossy: a few grey levels out of 255
    assert np.abs(ours - reference).mean() <= tolerance


def test_warm_up_runs_every_decode_path(monkeypatch):
    from preprocess import decode as decode_module
    from preprocess.pipeline import warm_up_images

    images = warm_up_images()
    assert [sniff for sniff in map(decode_module.sniff_format, images)] == ["JPEG", "JPEG", "JPEG", "PNG"]
    scaled, loaded = [], []
    monkeypatch.setattr(decode_module, "_decode_jpeg_scaled", _spy(decode_module._decode_jpeg_scaled, scaled))
    monkeypatch.setattr(decode_module, "_load", _spy(decode_module._load, loaded))
    pre = Preprocessor(PreprocessConfig(decode_threads=2))
    try:
        pre.warm_up()
    finally:
        pre.close()
    # The first image alone on the calling thread, then the two upright JPEGs (DCT scale 2 and 1)
    # once per pool thread.
    assert [thread for thread, _ in scaled].count(threading.current_thread().name) == 1
    assert len(scaled) == 5
    assert len(loaded) == 4  # the EXIF-rotated JPEG and the PNG, by Pillow, once per pool thread


def test_one_image_is_decoded_on_the_calling_thread(monkeypatch):
    from preprocess import decode as decode_module

    scaled = []
    monkeypatch.setattr(decode_module, "_decode_jpeg_scaled", _spy(decode_module._decode_jpeg_scaled, scaled))
    pre = Preprocessor(PreprocessConfig(decode_threads=2))
    try:
        [pixels] = pre.process([encode(photo("coffee.png"), "JPEG")]).results
        pre.process([encode(photo("coffee.png"), "JPEG")] * 2)
    finally:
        pre.close()
    assert pixels.shape == (3, 224, 224)
    threads = [thread for thread, _ in scaled]
    assert threads[0] == threading.current_thread().name
    assert all(thread.startswith("decode") for thread in threads[1:]), threads


def _spy(function, calls):
    def spy(*args):
        calls.append((threading.current_thread().name, args))
        return function(*args)

    return spy
