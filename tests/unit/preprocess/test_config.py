import pytest
from PIL import Image

from preprocess import ChannelOrder, PreprocessConfig, ResamplingMode, ResizeMode


def test_defaults_are_what_densenet7_was_trained_with():
    """DenseNet-Caffe: BGR, minus B 103.94 / G 116.78 / R 123.68, times 0.017; ILSVRC eval geometry."""
    config = PreprocessConfig.from_parameters({})
    assert config == PreprocessConfig()
    assert config.output_size == (224, 224)
    assert config.resize_mode is ResizeMode.SHORTER_SIDE_CROP
    assert config.resize_size == 256
    assert config.interpolation == Image.Resampling.BILINEAR
    assert config.channel_order is ChannelOrder.BGR
    assert config.mean == (123.68, 116.78, 103.94)  # RGB order; applied after the swap to BGR
    assert config.std == pytest.approx((1 / 0.017,) * 3)
    assert config.allowed_formats == {"JPEG", "PNG"}


def test_inception_preset_reproduces_image_client_inception():
    config = PreprocessConfig.from_parameters({"preset": "inception"})
    assert config.resize_mode is ResizeMode.STRETCH
    assert config.interpolation == Image.Resampling.BILINEAR
    assert config.mean == (127.5,) * 3
    assert config.std == (127.5,) * 3
    assert config.channel_order is ChannelOrder.RGB
    assert config == PreprocessConfig.from_preset("inception")


@pytest.mark.parametrize("preset", ["densenet_caffe", "torchvision", "efficientnet_lite"])
def test_presets_that_need_no_parity_resample_fast(preset):
    config = PreprocessConfig.from_parameters({"preset": preset})
    assert (config.resampling_mode, config.jpeg_draft) == (ResamplingMode.FAST, True)


def test_inception_is_exact_at_every_size_unless_told_otherwise():
    """image_client decodes every JPEG at full size and resizes the whole image."""
    config = PreprocessConfig.from_parameters({"preset": "inception"})
    assert (config.resampling_mode, config.jpeg_draft) == (ResamplingMode.EXACT, False)
    config = PreprocessConfig.from_parameters({"preset": "inception", "resampling_mode": "FAST"})
    assert (config.resampling_mode, config.jpeg_draft) == (ResamplingMode.FAST, False)
    assert config.mismatches("inception") == []  # speed options never block serving


def test_efficientnet_lite_preset():
    config = PreprocessConfig.from_parameters({"preset": "efficientnet_lite"})
    assert (config.mean, config.std, config.channel_order) == ((127.0,) * 3, (128.0,) * 3, ChannelOrder.RGB)
    assert config.resize_mode is ResizeMode.SHORTER_SIDE_CROP


def test_keys_beside_a_preset_override_that_part_only():
    config = PreprocessConfig.from_parameters({"preset": "inception", "interpolation": "bicubic"})
    assert config.interpolation == Image.Resampling.BICUBIC
    assert config.resize_mode is ResizeMode.STRETCH
    assert config.mismatches("inception") == ["interpolation is bicubic, inception needs bilinear"]


def test_mismatches_name_every_difference_that_reaches_the_model():
    assert PreprocessConfig().mismatches("densenet_caffe") == []
    assert (
        PreprocessConfig(max_bytes=10, decode_threads=1, jpeg_draft=False).mismatches("densenet_caffe") == []
    )
    problems = PreprocessConfig.from_preset("inception").mismatches("densenet_caffe")
    assert [p.split(" ")[0] for p in problems] == ["resize_mode", "mean", "std", "channel_order"]
    assert "channel_order is RGB, densenet_caffe needs BGR" in problems
    assert PreprocessConfig().mismatches("vgg") == [
        "unknown preset 'vgg' (known: densenet_caffe, inception, torchvision, efficientnet_lite)"
    ]


def test_full_parameter_set_is_parsed():
    config = PreprocessConfig.from_parameters(
        {
            "output_size": "200,300",
            "resize_mode": "shorter_side_crop",
            "resize_size": "320",
            "interpolation": "BICUBIC",
            "scaling": "imagenet",
            "allowed_formats": "jpg, png, webp",
            "max_bytes": "1000",
            "max_pixels": "2000",
            "decode_threads": "3",
            "jpeg_draft": "false",
        }
    )
    assert config.output_size == (200, 300)
    assert config.resize_mode is ResizeMode.SHORTER_SIDE_CROP
    assert config.resize_size == 320
    assert config.interpolation == Image.Resampling.BICUBIC
    assert config.mean == pytest.approx((123.675, 116.28, 103.53))
    assert config.allowed_formats == {"JPEG", "PNG", "WEBP"}
    assert (config.max_bytes, config.max_pixels, config.threads, config.jpeg_draft) == (1000, 2000, 3, False)


def test_caffe_preset_defaults_to_bgr_but_can_be_overridden():
    assert PreprocessConfig.from_parameters({"scaling": "caffe"}).channel_order is ChannelOrder.BGR
    config = PreprocessConfig.from_parameters({"scaling": "caffe", "channel_order": "rgb"})
    assert config.channel_order is ChannelOrder.RGB


def test_custom_mean_and_std():
    config = PreprocessConfig.from_parameters({"mean": "1,2,3", "std": "4"})
    assert config.mean == (1.0, 2.0, 3.0)
    assert config.std == (4.0, 4.0, 4.0)


def test_zero_threads_means_one_per_cpu():
    assert PreprocessConfig.from_parameters({"decode_threads": "0"}).threads >= 1
