import numpy as np
import pytest
from PIL import Image

from preprocess import Normalizer, PreprocessConfig, ResizeMode, resize
from preprocess.config import SCALING_PRESETS, ChannelOrder
from preprocess.transform import draft_size
from tests.support.imagefactory import gradient


def test_stretch_resizes_to_output_size_exactly():
    out = resize(Image.fromarray(gradient(500, 375)), PreprocessConfig(resize_mode=ResizeMode.STRETCH))
    assert out.shape == (224, 224, 3)
    assert out.dtype == np.uint8


def test_shorter_side_crop_matches_torchvision_geometry():
    config = PreprocessConfig(
        resize_mode=ResizeMode.SHORTER_SIDE_CROP, resize_size=256, output_size=(224, 224)
    )
    image = Image.fromarray(gradient(500, 375))
    out = resize(image, config)
    # torchvision: Resize(256) -> 341x256, CenterCrop(224) -> offsets top 16, left 58
    expected = np.asarray(image.resize((341, 256), Image.Resampling.BILINEAR))[16:240, 58:282]
    assert np.array_equal(out, expected)


def test_shorter_side_crop_portrait():
    config = PreprocessConfig(
        resize_mode=ResizeMode.SHORTER_SIDE_CROP, resize_size=256, output_size=(224, 224)
    )
    assert resize(Image.fromarray(gradient(300, 900)), config).shape == (224, 224, 3)


def test_draft_size_follows_resize_mode():
    stretch = PreprocessConfig(resize_mode=ResizeMode.STRETCH, output_size=(100, 200))
    assert draft_size(stretch) == (200, 100)
    crop = PreprocessConfig(resize_mode=ResizeMode.SHORTER_SIDE_CROP, resize_size=256)
    assert draft_size(crop) == (256, 256)


@pytest.mark.parametrize("preset", sorted(SCALING_PRESETS))
def test_normalizer_matches_the_reference_formula(preset):
    mean, std, order = SCALING_PRESETS[preset]
    config = PreprocessConfig(mean=mean, std=std, channel_order=order)
    images = np.random.default_rng(1).integers(0, 256, (3, 5, 7, 3), dtype=np.uint8)
    out = Normalizer(config)(images)
    assert out.shape == (3, 3, 5, 7)
    assert out.dtype == np.float32
    assert out.flags.c_contiguous
    reference = (images.astype(np.float64) - np.array(mean)) / np.array(std)
    if order is ChannelOrder.BGR:
        reference = reference[..., ::-1]
    np.testing.assert_allclose(out, reference.transpose(0, 3, 1, 2), rtol=1e-6, atol=1e-5)


def test_inception_is_x_over_127_5_minus_1():
    images = np.array([[[[0, 0, 0], [255, 255, 255], [51, 102, 204]]]], np.uint8)  # [1, 1, 3, 3]
    out = Normalizer(PreprocessConfig.from_preset("inception"))(images)
    np.testing.assert_allclose(out[0, :, 0, 0], [-1.0, -1.0, -1.0], atol=1e-7)
    np.testing.assert_allclose(out[0, :, 0, 1], [1.0, 1.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(out[0, :, 0, 2], [51 / 127.5 - 1, 102 / 127.5 - 1, 204 / 127.5 - 1], atol=1e-6)


def test_densenet_caffe_is_bgr_minus_means_times_0_017():
    images = np.array([[[[51, 102, 204]]]], np.uint8)  # one RGB pixel
    out = Normalizer(PreprocessConfig())(images)[0, :, 0, 0]
    expected = [(204 - 103.94) * 0.017, (102 - 116.78) * 0.017, (51 - 123.68) * 0.017]  # B, G, R
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_normalizer_rejects_wrong_layout():
    with pytest.raises(ValueError, match="expected uint8"):
        Normalizer(PreprocessConfig())(np.zeros((2, 3, 4, 4), np.float32))
