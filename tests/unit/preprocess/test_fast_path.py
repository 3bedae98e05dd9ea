"""The fast path (libjpeg-turbo at a reduced DCT scale, region-only resize) against the exact one.

Its promise: the same bytes are refused with the same message, the decoded pixels are Pillow's
own, and the model input differs from the exact path's by a few grey levels at most.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from preprocess import (
    ImageError,
    PreprocessConfig,
    Preprocessor,
    ResamplingMode,
    ResizeMode,
    preprocess_one,
    resize,
)
from preprocess.decode import dct_scale, decode_image, decode_scaled
from preprocess.transform import draft_size, resize_region, source_box
from tests.support.imagefactory import (
    bad_images,
    cat_jpeg,
    encode,
    gradient,
    mutated,
    odd_images,
    photo,
    sized_jpeg,
    with_exif_orientation,
)

FAST = PreprocessConfig(decode_threads=1, max_pixels=4_000_000)
EXACT = PreprocessConfig(decode_threads=1, max_pixels=4_000_000, resampling_mode=ResamplingMode.EXACT)
DRAFT = draft_size(FAST)


def _seeds() -> list[bytes]:
    pattern = Image.fromarray(gradient(96, 64))
    return [
        encode(pattern, "JPEG"),
        encode(pattern, "JPEG", progressive=True),
        encode(pattern.convert("L"), "JPEG"),
        encode(pattern, "JPEG", subsampling=0, quality=95),
        with_exif_orientation(pattern, 1),
        with_exif_orientation(pattern, 6),
        encode(pattern.convert("CMYK"), "JPEG"),
        encode(pattern, "PNG"),
    ]


def hostile_corpus() -> dict[str, bytes]:
    """The e2e tests' bad and odd images, and 60 deterministic mutations of each seed JPEG/PNG."""
    corpus = {f"bad-{k}": v for k, v in bad_images().items()}
    corpus.update({f"odd-{k}": v for k, v in odd_images().items() if not k.startswith("huge")})
    rng = np.random.default_rng(15)
    for number, seed in enumerate(_seeds()):
        corpus.update({f"seed{number}-mutation{m}": mutated(seed, rng) for m in range(60)})
    return corpus


CORPUS = hostile_corpus()


def outcome(decode, data: bytes) -> tuple[str, object]:
    try:
        return "decoded", decode(data)
    except ImageError as error:
        return type(error).__name__, str(error)


@pytest.fixture(scope="module")
def verdicts() -> dict[str, tuple[tuple[str, object], tuple[str, object]]]:
    exact = lambda data: np.asarray(decode_image(data, FAST, DRAFT))  # noqa: E731
    fast = lambda data: np.asarray(decode_scaled(data, FAST, DRAFT))[..., :3]  # noqa: E731
    return {name: (outcome(exact, data), outcome(fast, data)) for name, data in CORPUS.items()}


def test_the_fast_decoder_refuses_exactly_what_pillow_refuses_with_the_same_message(verdicts):
    for name, ((pillow, pillow_detail), (fast, fast_detail)) in verdicts.items():
        assert fast == pillow, (
            f"{name}: Pillow {pillow} {pillow_detail if pillow != 'decoded' else ''}, fast {fast}"
        )
        if pillow != "decoded":
            assert fast_detail == pillow_detail, name
    kinds = {pillow for (pillow, _), _ in verdicts.values()}
    # The corpus reaches every refusal the decoder has, and many mutations still decode.
    assert {"decoded", "CorruptImageError", "TooManyPixelsError", "FormatNotAllowedError"} <= kinds
    assert sum(pillow == "decoded" for (pillow, _), _ in verdicts.values()) > 50


def test_what_both_decode_the_fast_decoder_decodes_to_pillows_very_pixels(verdicts):
    for name, ((pillow, pillow_pixels), (fast, fast_pixels)) in verdicts.items():
        if pillow == fast == "decoded":
            np.testing.assert_array_equal(fast_pixels, pillow_pixels, err_msg=name)


@pytest.mark.parametrize("size", [(500, 375), (1100, 700), (2100, 1500), (4032, 3024), (300, 900)])
def test_dct_scaled_decode_equals_pillows_draft(size):
    data = sized_jpeg(*size)
    config = PreprocessConfig(decode_threads=1)  # the default pixel limit: 12 MP allowed
    fast = np.asarray(decode_scaled(data, config, DRAFT))[..., :3]
    np.testing.assert_array_equal(fast, np.asarray(decode_image(data, config, DRAFT)))
    scale = dct_scale(size, DRAFT)
    assert fast.shape == (-(-size[1] // scale), -(-size[0] // scale), 3)
    assert min(fast.shape[:2]) >= 256


def test_dct_scale_keeps_at_least_the_needed_size():
    assert dct_scale((500, 375), (256, 256)) == 1
    assert dct_scale((1920, 1080), (256, 256)) == 4
    assert dct_scale((4032, 3024), (256, 256)) == 8
    assert dct_scale((4032, 3024), None) == 1
    assert dct_scale((10, 10), (256, 256)) == 1


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_honoured_on_the_fast_path(orientation):
    upright = photo("coffee.png")
    stored = upright.transpose(
        {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[
            orientation
        ]
    )
    reference = preprocess_one(Preprocessor(FAST), encode(upright, "JPEG", quality=95))
    rotated = preprocess_one(Preprocessor(FAST), with_exif_orientation(stored, orientation))
    sideways = preprocess_one(Preprocessor(FAST), encode(stored, "JPEG", quality=95))
    assert np.abs(rotated - reference).mean() < 0.05  # JPEG noise only (0.017 per grey level)
    assert np.abs(sideways - reference).mean() > 0.2  # the test can fail: without the tag it differs


@pytest.mark.parametrize(
    "image",
    [
        sized_jpeg(500, 375),
        sized_jpeg(375, 500),
        sized_jpeg(1920, 1080),
        sized_jpeg(4032, 3024),
        encode(photo("astronaut.png"), "PNG"),
        encode(photo("coffee.png").resize((3000, 400)), "PNG"),  # a >2x downscale: Pillow's filter
    ],
    ids=["500x375", "375x500", "1920x1080", "4032x3024", "png", "wide-png"],
)
@pytest.mark.parametrize("mode", [ResizeMode.SHORTER_SIDE_CROP, ResizeMode.STRETCH])
def test_fast_model_input_is_within_a_few_grey_levels_of_exact(image, mode):
    fast = preprocess_one(Preprocessor(PreprocessConfig(decode_threads=1, resize_mode=mode)), image)
    exact = preprocess_one(
        Preprocessor(
            PreprocessConfig(decode_threads=1, resize_mode=mode, resampling_mode=ResamplingMode.EXACT)
        ),
        image,
    )
    grey_levels = np.abs(fast - exact) / 0.017
    # Pillow's rounding of the sub-pixel box, and for large JPEGs the DCT-scaled decode.
    assert grey_levels.mean() < 1.0
    assert np.percentile(grey_levels, 99) < 6


def test_the_kept_region_is_the_exact_paths_crop():
    """Resizing only source_box with Pillow reproduces resize-then-crop (to Pillow's rounding)."""
    image = Image.fromarray(gradient(500, 375))
    box = source_box(500, 375, FAST)
    assert box == pytest.approx((58 * 500 / 341, 16 * 375 / 256, 282 * 500 / 341, 240 * 375 / 256))
    region = np.asarray(image.resize((224, 224), Image.Resampling.BILINEAR, box=box)).astype(int)
    assert np.abs(region - resize(image, FAST)).max() <= 1
    assert source_box(500, 375, PreprocessConfig(resize_mode=ResizeMode.STRETCH)) == (0, 0, 500, 375)


def test_the_configured_interpolation_resizes_the_region():
    image = photo("astronaut.png")
    config = PreprocessConfig(interpolation=Image.Resampling.BICUBIC)
    expected = np.asarray(
        image.resize((224, 224), Image.Resampling.BICUBIC, box=source_box(512, 512, config))
    )
    np.testing.assert_array_equal(resize_region(image, config), expected)


def test_inception_stays_bit_exact_with_image_client_on_a_large_jpeg():
    """image_client decodes at full size and stretches the whole image; so does the preset."""
    data = sized_jpeg(1920, 1080)
    ours = preprocess_one(Preprocessor(PreprocessConfig.from_preset("inception", decode_threads=1)), data)
    resized = np.array(Image.open(io.BytesIO(data)).convert("RGB").resize((224, 224), Image.BILINEAR))
    expected = np.transpose(resized.astype(np.float32) / 127.5 - 1, (2, 0, 1))
    # Subtracting the mean then dividing (ours) vs image_client's x / 127.5 - 1: float32 rounding.
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)
    draft = preprocess_one(
        Preprocessor(PreprocessConfig.from_preset("inception", decode_threads=1, jpeg_draft=True)), data
    )
    assert np.abs(draft - expected).max() > 1e-3  # the test can fail: a draft decode is not image_client


def test_the_fast_path_serves_a_cat():
    assert preprocess_one(Preprocessor(FAST), cat_jpeg()).shape == (3, 224, 224)
