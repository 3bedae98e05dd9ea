"""The DALI pipeline of preprocess/configs/dali.pbtxt, run on DALI's CPU operators (its CPU twin).

The GPU deployment runs the same definition with the ``mixed`` decoder and GPU operators; these
tests check that definition against the Python path: the same pixels within one grey level, the
same refusals with the same messages, one bad image failing only its own row.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from preprocess import (
    CorruptImageError,
    ImageError,
    PipelineKind,
    PreprocessConfig,
    PreprocessConfigError,
    Preprocessor,
    ResamplingMode,
)
from preprocess.config import PRESETS
from preprocess.dali import DaliPreprocessor, check_supported, define_pipeline, run_cpu
from tests.support import imagefactory as factory

pytest.importorskip("nvidia.dali", reason="nvidia-dali is in requirements/dali.txt (make dev installs it)")

PHOTOS = {
    "cat-451x300": factory.cat_jpeg(),
    "coffee-500x375": factory.sized_jpeg(500, 375),
    "coffee-1920x1080": factory.sized_jpeg(1920, 1080),
    "rocket-png": factory.encode(factory.photo("rocket.jpg"), "PNG"),
    "astronaut-portrait": factory.sized_jpeg(300, 520, "astronaut.png"),
}


def grey_levels(a: np.ndarray, b: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """|a - b| in the 0-255 grey levels of the decoded image, per value."""
    std = np.asarray(config.std, dtype=np.float32).reshape(3, 1, 1)
    return np.abs(a - b) * std  # the same std for every channel in every preset used here


def python_exact(config: PreprocessConfig) -> Preprocessor:
    """The Python path decoding every image at full size, as DALI does (no DCT scaling)."""
    return Preprocessor(
        PreprocessConfig(**{**config.__dict__, "resampling_mode": ResamplingMode.EXACT, "jpeg_draft": False})
    )


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_matches_the_python_path_within_one_grey_level(preset):
    config = PreprocessConfig.from_preset(preset, decode_threads=1)
    images = list(PHOTOS.values())
    expected = python_exact(config).process(images).results
    for name, ours, theirs in zip(PHOTOS, run_cpu(config, images), expected, strict=True):
        assert ours.shape == theirs.shape == (3, 224, 224), name
        assert ours.dtype == np.float32
        difference = grey_levels(ours, theirs, config)
        # Both filter the same box with the same kind of filter and round to uint8 once per pass;
        # where the stretch mode scales the two axes differently, a few values land further apart
        # (measured: 0.1-0.2 % of values, at most 6 levels).
        assert np.mean(difference > 1.01) < 0.005, f"{preset} {name}: {np.mean(difference > 1.01):.4f}"
        assert difference.max() <= 8, f"{preset} {name}: {difference.max():.2f} grey levels apart"
        assert difference.mean() < 0.5, f"{preset} {name}: mean {difference.mean():.2f}"


def test_the_default_fast_path_is_close_too():
    """The fast path decodes JPEGs at a reduced DCT scale; DALI never does: a little further apart."""
    config = PreprocessConfig(decode_threads=1)
    images = list(PHOTOS.values())
    for name, ours, theirs in zip(
        PHOTOS, run_cpu(config, images), Preprocessor(config).process(images).results, strict=True
    ):
        assert grey_levels(ours, theirs, config).mean() < 1.5, name


@pytest.mark.parametrize(
    "overrides",
    [
        {"output_size": (200, 240), "resize_size": 256},  # not square: (height, width) order matters
        {"resize_mode": "stretch"},
        {"interpolation": Image.Resampling.BICUBIC},
        {"interpolation": Image.Resampling.NEAREST},
        {"channel_order": "RGB"},
    ],
    ids=lambda o: "-".join(f"{k}={getattr(v, 'name', v)}" for k, v in o.items()),
)
def test_geometry_and_channels_follow_the_config(overrides):
    from preprocess import ChannelOrder, ResizeMode

    converted = {
        k: ResizeMode(v) if k == "resize_mode" else ChannelOrder(v) if k == "channel_order" else v
        for k, v in overrides.items()
    }
    config = PreprocessConfig(decode_threads=1, **converted)
    images = [PHOTOS["cat-451x300"], PHOTOS["astronaut-portrait"]]
    for ours, theirs in zip(
        run_cpu(config, images), python_exact(config).process(images).results, strict=True
    ):
        assert ours.shape == theirs.shape == (3, *config.output_size)
        tolerance = 1.01 if config.interpolation is not Image.Resampling.NEAREST else 0.5
        # nearest picks a neighbour: the same one unless two are equally near (a rounding tie)
        assert np.mean(grey_levels(ours, theirs, config) > tolerance) < 0.01


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation):
    config = PreprocessConfig(decode_threads=1)
    data = factory.with_exif_orientation(Image.fromarray(factory.gradient(320, 200)), orientation)
    (ours,) = run_cpu(config, [data])
    (theirs,) = python_exact(config).process([data]).results
    assert grey_levels(ours, theirs, config).max() <= 1.01


def side_by_side(images: dict[str, bytes], python: Preprocessor):
    """(name, DALI's result, the Python path's result) per image."""
    config = python.config
    ours = run_cpu(config, list(images.values()))
    return zip(images, ours, python.process(list(images.values())).results, strict=True)


def test_odd_but_valid_images_decode_like_the_python_path():
    config = PreprocessConfig(decode_threads=1)
    for name, ours, theirs in side_by_side(factory.odd_images(), python_exact(config)):
        assert not isinstance(ours, ImageError), f"{name}: {ours}"
        # Transparent pixels: the Python path composites them over white, DALI keeps the colour
        # they hide (palette-transparent-png has a few such pixels; docs/preprocessing.md).
        assert grey_levels(ours, theirs, config).mean() < 1.0, name


def test_the_hostile_corpus_is_refused_with_the_python_paths_messages():
    for name, mine, python in side_by_side(
        factory.bad_images(), Preprocessor(PreprocessConfig(decode_threads=1))
    ):
        assert isinstance(mine, ImageError), f"{name} was decoded"
        assert (type(mine), str(mine)) == (type(python), str(python)), name


def test_good_and_bad_images_in_one_batch_each_get_their_own_result():
    config = PreprocessConfig(decode_threads=1)
    bad = list(factory.bad_images().values())
    good = [PHOTOS["cat-451x300"], PHOTOS["coffee-500x375"]]
    rows = [good[0], *bad, good[1]]
    results = run_cpu(config, rows)
    assert all(isinstance(r, ImageError) for r in results[1:-1])
    for result, alone in zip([results[0], results[-1]], run_cpu(config, good), strict=True):
        np.testing.assert_array_equal(result, alone)  # a neighbour's failure changes nothing


def test_an_image_the_decoder_fails_on_fails_alone_and_the_pipeline_recovers():
    config = PreprocessConfig(decode_threads=1)
    broken = factory.corrupt_huffman_table(PHOTOS["cat-451x300"])
    preprocessor = DaliPreprocessor(config, max_batch_size=4)
    good = PHOTOS["coffee-500x375"]
    (alone,) = preprocessor.process([good]).results
    first, failed, last = preprocessor.process([good, broken, good]).results
    assert isinstance(failed, CorruptImageError)
    assert str(failed) == "corrupt image data: the decoder cannot read it"
    np.testing.assert_array_equal(first, alone)
    np.testing.assert_array_equal(last, alone)
    (again,) = preprocessor.process([good]).results  # the rebuilt pipeline serves on
    np.testing.assert_array_equal(again, alone)


def test_an_unknown_marker_inside_the_scan_is_refused_as_pillow_refuses_it():
    data = bytearray(factory.cat_jpeg())
    sos = data.find(b"\xff\xda")
    data[sos + 400 : sos + 402] = b"\xff\x4c"  # libjpeg: "Unsupported marker type 0x4c"
    config = PreprocessConfig(decode_threads=1)
    (python,) = Preprocessor(config).process([bytes(data)]).results
    (ours,) = run_cpu(config, [bytes(data)])
    assert isinstance(python, CorruptImageError)
    assert isinstance(ours, CorruptImageError)
    assert "unknown marker" in str(ours)


def test_mutated_images_only_ever_give_pixels_or_an_image_error():
    """Like tests/unit/preprocess/test_fuzz.py, seeded: every result is finite pixels or our error,
    and DALI refuses what the Python path refuses (measured 398 of 400 agree; DALI is stricter)."""
    config = PreprocessConfig(decode_threads=1, max_pixels=4_000_000)
    seeds = [
        factory.encode(Image.fromarray(factory.gradient(64, 48)), "JPEG"),
        factory.encode(Image.fromarray(factory.gradient(64, 48)), "JPEG", progressive=True),
        factory.encode(Image.fromarray(factory.gradient(40, 30)), "PNG"),
        factory.cat_jpeg(),
    ]
    rng = np.random.default_rng(1)
    rows = [factory.mutated(seeds[i % len(seeds)], rng) for i in range(200)]
    preprocessor = DaliPreprocessor(config, max_batch_size=16)
    ours = preprocessor.process(rows).results
    theirs = Preprocessor(config).process(rows).results
    for result in ours:
        if not isinstance(result, ImageError):
            assert result.shape == (3, 224, 224)
            assert np.isfinite(result).all()
    agree = sum(
        isinstance(a, ImageError) == isinstance(b, ImageError) for a, b in zip(ours, theirs, strict=True)
    )
    assert agree >= 0.97 * len(rows)
    accepted_by_dali_only = [
        i
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
        if isinstance(b, ImageError) and not isinstance(a, ImageError)
    ]
    assert accepted_by_dali_only == [], "DALI decoded an image the Python path refuses"


def test_more_rows_than_the_pipeline_batch_are_processed_in_chunks():
    config = PreprocessConfig(decode_threads=1)
    preprocessor = DaliPreprocessor(config, max_batch_size=2)
    rows = [PHOTOS["cat-451x300"]] * 5
    results = preprocessor.process(rows).results
    assert len(results) == 5
    for result in results[1:]:
        np.testing.assert_array_equal(result, results[0])


def test_zero_padded_rows_decode_like_unpadded_ones():
    config = PreprocessConfig(decode_threads=1)
    data = PHOTOS["cat-451x300"]
    padded = np.frombuffer(data + b"\0" * 100, dtype=np.uint8)
    plain, padded_result = run_cpu(config, [data, padded])
    np.testing.assert_array_equal(plain, padded_result)


def test_the_batch_answers_per_request_span():
    config = PreprocessConfig(decode_threads=1)
    bad = factory.bad_images()["truncated-jpeg"]
    batch = DaliPreprocessor(config, max_batch_size=8).process(
        [PHOTOS["cat-451x300"], bad, PHOTOS["cat-451x300"]]
    )
    assert batch.on_host
    assert batch.errors(0, 1) == []
    assert [offset for offset, _ in batch.errors(0, 3)] == [1]
    assert batch.pixels(2, 1).shape == (1, 3, 224, 224)


def test_warm_up_decodes_its_own_images():
    DaliPreprocessor(PreprocessConfig(decode_threads=1), max_batch_size=4).warm_up()


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"interpolation": "box"}, "interpolation"),
        ({"interpolation": "hamming"}, "interpolation"),
        ({"allowed_formats": "JPEG,GIF"}, "allowed_formats"),
    ],
)
def test_what_dali_cannot_compute_fails_the_load_naming_the_parameter(overrides, parameter):
    config = PreprocessConfig.from_parameters({"pipeline": "dali", **overrides})
    with pytest.raises(PreprocessConfigError, match=f"'{parameter}'") as error:
        check_supported(config)
    assert error.value.parameter == parameter


def test_pipeline_parameter_is_parsed_strictly():
    assert PreprocessConfig.from_parameters({"pipeline": "DALI"}).pipeline is PipelineKind.DALI
    assert PreprocessConfig.from_parameters({}).pipeline is PipelineKind.PYTHON
    with pytest.raises(PreprocessConfigError, match=r"'pipeline'.*python, dali"):
        PreprocessConfig.from_parameters({"pipeline": "gpu"})
    # The pipeline changes how, not what: the weights' preset check ignores it.
    assert PreprocessConfig.from_parameters({"pipeline": "dali"}).mismatches("densenet_caffe") == []


def _tokens(serialized: bytes) -> list[bytes]:
    return re.findall(rb"[A-Za-z_][A-Za-z_0-9]{2,}", serialized)


def test_the_gpu_graph_is_the_cpu_graph_with_only_the_devices_changed():
    """The GPU deployment's pipeline serializes here (it cannot run without a GPU), and is operator
    for operator, argument for argument, the graph these tests run, but for the device names."""
    config = PreprocessConfig()
    gpu = define_pipeline(
        config, batch_size=32, num_threads=2, device_id=None, gpu_operators=True
    ).serialize()
    cpu = define_pipeline(config, batch_size=32, num_threads=2, device_id=None).serialize()
    gpu_tokens = _tokens(gpu)
    assert b"mixed" in gpu_tokens  # nvJPEG (hardware decoder where the GPU has one)
    assert gpu_tokens.count(b"gpu") >= 2  # resize and normalize on the GPU
    assert b"mixed" not in _tokens(cpu)
    assert [b"cpu" if t in (b"gpu", b"mixed") else t for t in gpu_tokens] == _tokens(cpu)
    for operator in (b"ExternalSource", b"decoders__Image", b"Resize", b"CropMirrorNormalize"):
        assert operator in gpu_tokens


def test_without_dali_installed_the_pipeline_fails_the_load_saying_what_is_missing(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "nvidia.dali", None)  # import nvidia.dali now raises ImportError
    with pytest.raises(PreprocessConfigError, match="'pipeline': 'dali' needs NVIDIA DALI"):
        DaliPreprocessor(PreprocessConfig(pipeline=PipelineKind.DALI), max_batch_size=1)
