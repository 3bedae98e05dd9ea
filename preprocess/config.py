"""The preprocessing contract, parsed once from the model configuration's ``parameters {}``.

Every value arrives as a string (Triton's ``string_value``). Parsing is strict: an unknown key or
a bad value raises :class:`PreprocessConfigError` naming the parameter, so a typo fails the model at load
time instead of silently changing what the model sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
from PIL import Image

from densenet_contract.parameters import Parameters

from .errors import PreprocessConfigError


class ResizeMode(str, Enum):
    """How the decoded image becomes ``output_size``."""

    STRETCH = "stretch"  # resize both sides to output_size, aspect ratio not kept
    SHORTER_SIDE_CROP = "shorter_side_crop"  # shorter side to resize_size, then center crop


class ResamplingMode(str, Enum):
    """How pixels reach the output size: bit for bit like a plain Pillow pipeline, or cheaply."""

    # Pillow decodes the whole image, resizes all of it, then crops: what image_client computes.
    EXACT = "exact"
    # JPEGs decoded by libjpeg-turbo straight at a reduced DCT scale, then only the region that
    # survives the crop is resized (Pillow's filter on that box). Differs from exact by a few grey levels.
    FAST = "fast"


class PipelineKind(str, Enum):
    """What runs decode, resize and normalization."""

    PYTHON = "python"  # Pillow/libjpeg-turbo on the model's CPU threads (preprocess.pipeline)
    DALI = "dali"  # an NVIDIA DALI pipeline: nvJPEG on the GPU, DALI's CPU operators elsewhere


class ChannelOrder(str, Enum):
    RGB = "RGB"
    BGR = "BGR"


INTERPOLATIONS: dict[str, Image.Resampling] = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}

# mean/std per channel in RGB order, applied to pixel values in [0, 255]: out = (x - mean) / std.
# Each also names the channel order it is usually paired with.
SCALING_PRESETS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float], ChannelOrder]] = {
    # DenseNet-Caffe (densenet-7's weights): BGR, B 103.94 / G 116.78 / R 123.68 subtracted, x 0.017
    "densenet_caffe": ((123.68, 116.78, 103.94), (1 / 0.017,) * 3, ChannelOrder.BGR),
    # Triton image_client -s INCEPTION: x / 127.5 - 1
    "inception": ((127.5, 127.5, 127.5), (127.5, 127.5, 127.5), ChannelOrder.RGB),
    # torchvision: (x / 255 - mean) / std
    "imagenet": (
        (0.485 * 255, 0.456 * 255, 0.406 * 255),
        (0.229 * 255, 0.224 * 255, 0.225 * 255),
        ChannelOrder.RGB,
    ),
    # TensorFlow's EfficientNet-Lite: (x - 127) / 128
    "efficientnet_lite": ((127.0, 127.0, 127.0), (128.0, 128.0, 128.0), ChannelOrder.RGB),
    # Caffe VGG/ResNet: BGR with the ImageNet mean subtracted, no scaling
    "caffe": ((123.68, 116.779, 103.939), (1.0, 1.0, 1.0), ChannelOrder.BGR),
    "none": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), ChannelOrder.RGB),
}


@dataclass(frozen=True)
class Preset:
    """Everything a model's weights expect of their input: geometry, scaling and channel order."""

    resize_mode: ResizeMode
    scaling: str  # a key of SCALING_PRESETS
    resize_size: int = 256
    interpolation: str = "bilinear"
    output_size: tuple[int, int] = (224, 224)
    description: str = ""
    resampling_mode: ResamplingMode = ResamplingMode.FAST
    jpeg_draft: bool = True  # JPEGs may be decoded at a reduced DCT scale (never below the needed size)

    @property
    def mean(self) -> tuple[float, float, float]:
        return SCALING_PRESETS[self.scaling][0]

    @property
    def std(self) -> tuple[float, float, float]:
        return SCALING_PRESETS[self.scaling][1]

    @property
    def channel_order(self) -> ChannelOrder:
        return SCALING_PRESETS[self.scaling][2]


# Named recipes: `preset` in the config picks one; any key set beside it overrides that part.
# "Shorter side 256, centre crop 224" is the ILSVRC evaluation geometry these weights were scored with.
PRESETS: dict[str, Preset] = {
    "densenet_caffe": Preset(
        ResizeMode.SHORTER_SIDE_CROP,
        "densenet_caffe",
        description="densenet-7 (DenseNet-Caffe weights): BGR, minus B 103.94 G 116.78 R 123.68, x 0.017",
    ),
    "inception": Preset(
        ResizeMode.STRETCH,
        "inception",
        description="Triton image_client -s INCEPTION: RGB stretched to 224x224, x / 127.5 - 1",
        # image_client parity at every image size: full-size decode, whole-image resize.
        resampling_mode=ResamplingMode.EXACT,
        jpeg_draft=False,
    ),
    "torchvision": Preset(
        ResizeMode.SHORTER_SIDE_CROP,
        "imagenet",
        description="torchvision ImageNet weights: RGB, (x / 255 - mean) / std",
    ),
    "efficientnet_lite": Preset(
        ResizeMode.SHORTER_SIDE_CROP,
        "efficientnet_lite",
        description="EfficientNet-Lite (TensorFlow weights): RGB, (x - 127) / 128",
    ),
}
DEFAULT_PRESET = "densenet_caffe"

SNIFFABLE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


@dataclass(frozen=True)
class PreprocessConfig:
    """Validated preprocessing settings. Defaults: the ``densenet_caffe`` preset (densenet-7's training)."""

    output_size: tuple[int, int] = (224, 224)  # (height, width)
    resize_mode: ResizeMode = PRESETS[DEFAULT_PRESET].resize_mode
    resize_size: int = 256
    interpolation: Image.Resampling = Image.Resampling.BILINEAR
    mean: tuple[float, float, float] = PRESETS[DEFAULT_PRESET].mean
    std: tuple[float, float, float] = PRESETS[DEFAULT_PRESET].std
    channel_order: ChannelOrder = PRESETS[DEFAULT_PRESET].channel_order
    allowed_formats: frozenset[str] = field(default_factory=lambda: frozenset({"JPEG", "PNG"}))
    max_bytes: int = 16 * 1024 * 1024
    max_pixels: int = 40_000_000
    decode_threads: int = 0  # 0: one per CPU available to the process
    jpeg_draft: bool = True
    resampling_mode: ResamplingMode = PRESETS[DEFAULT_PRESET].resampling_mode
    pipeline: PipelineKind = PipelineKind.PYTHON
    # The named recipe the settings started from (keys beside it may override parts): reported, not compared.
    preset: str = DEFAULT_PRESET
    # The model's densenet_* input metrics (docs/quality.md); not preprocessing: never compared.
    quality_metrics: bool = True

    @property
    def threads(self) -> int:
        """The decode thread count actually used."""
        return self.decode_threads or _available_cpus()

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str]) -> PreprocessConfig:
        """Parse Triton ``parameters`` (already reduced to ``{key: string_value}``)."""
        p = Parameters(parameters, KNOWN_PARAMETERS, PreprocessConfigError)
        preset_name = p.text("preset", DEFAULT_PRESET)
        if preset_name not in PRESETS:
            raise PreprocessConfigError("preset", f"'{preset_name}' is not one of {', '.join(PRESETS)}")
        preset = PRESETS[preset_name]
        defaults = cls.from_preset(preset_name)

        scaling = p.text("scaling", preset.scaling if not ("mean" in p or "std" in p) else "custom")
        if scaling == "custom":
            if "mean" not in p or "std" not in p:
                raise PreprocessConfigError("scaling", "'custom' needs both 'mean' and 'std'")
            mean = _floats("mean", p.text("mean"))
            std = _floats("std", p.text("std"))
            preset_order = ChannelOrder.RGB
        elif scaling in SCALING_PRESETS:
            if "mean" in p or "std" in p:
                raise PreprocessConfigError(
                    "scaling", f"preset '{scaling}' cannot be combined with 'mean'/'std'"
                )
            mean, std, preset_order = SCALING_PRESETS[scaling]
        else:
            raise PreprocessConfigError(
                "scaling", f"'{scaling}' is not one of {', '.join([*SCALING_PRESETS, 'custom'])}"
            )
        if any(s == 0 for s in std):
            raise PreprocessConfigError("std", "must not contain 0")

        return cls(
            output_size=_size("output_size", p.text("output_size"))
            if "output_size" in p
            else defaults.output_size,
            resize_mode=p.enum("resize_mode", defaults.resize_mode, ResizeMode, normalize=str),
            resize_size=p.integer("resize_size", defaults.resize_size, minimum=1),
            interpolation=p.choice("interpolation", preset.interpolation, INTERPOLATIONS),
            mean=mean,
            std=std,
            channel_order=p.enum("channel_order", preset_order, ChannelOrder, normalize=str.upper),
            allowed_formats=_formats(p.text("allowed_formats", ",".join(sorted(defaults.allowed_formats)))),
            max_bytes=p.integer("max_bytes", defaults.max_bytes, minimum=1),
            max_pixels=p.integer("max_pixels", defaults.max_pixels, minimum=1),
            decode_threads=p.integer("decode_threads", 0, minimum=0),
            jpeg_draft=p.boolean("jpeg_draft", preset.jpeg_draft),
            resampling_mode=p.enum("resampling_mode", preset.resampling_mode, ResamplingMode),
            pipeline=p.enum("pipeline", PipelineKind.PYTHON, PipelineKind),
            preset=preset_name,
            quality_metrics=p.boolean("quality_metrics", True),
        )

    @classmethod
    def from_preset(cls, name: str, **overrides: object) -> PreprocessConfig:
        """The config of a named preset (``PRESETS``), with ``overrides`` for any other field."""
        preset = PRESETS[name]
        values: dict[str, object] = {
            "output_size": preset.output_size,
            "resize_mode": preset.resize_mode,
            "resize_size": preset.resize_size,
            "interpolation": INTERPOLATIONS[preset.interpolation],
            "mean": preset.mean,
            "std": preset.std,
            "channel_order": preset.channel_order,
            "resampling_mode": preset.resampling_mode,
            "jpeg_draft": preset.jpeg_draft,
            "preset": name,
        }
        return cls(**{**values, **overrides})  # type: ignore[arg-type]

    def mismatches(self, preset_name: str) -> list[str]:
        """How this config differs from a preset in what reaches the model, as readable lines.

        Limits, threads, the pipeline and the decoder's speed options do not change what the model sees, so
        they are not compared.
        """
        if preset_name not in PRESETS:
            return [f"unknown preset '{preset_name}' (known: {', '.join(PRESETS)})"]
        expected = PreprocessConfig.from_preset(preset_name)
        fields = ["output_size", "resize_mode", "interpolation", "mean", "std", "channel_order"]
        if expected.resize_mode is ResizeMode.SHORTER_SIDE_CROP:
            fields.append("resize_size")
        differences = []
        for name in fields:
            ours, theirs = getattr(self, name), getattr(expected, name)
            same = np.allclose(ours, theirs, rtol=1e-4) if name in ("mean", "std") else ours == theirs
            if not same:
                differences.append(f"{name} is {_show(ours)}, {preset_name} needs {_show(theirs)}")
        return differences

    def __post_init__(self) -> None:
        if self.resize_mode is ResizeMode.SHORTER_SIDE_CROP and self.resize_size < max(self.output_size):
            raise PreprocessConfigError(
                "resize_size", f"{self.resize_size} is smaller than output_size {self.output_size}"
            )


def _show(value: object) -> str:
    if isinstance(value, Image.Resampling):
        return value.name.lower()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, tuple) and value and isinstance(value[0], float):
        return "(" + ", ".join(f"{v:g}" for v in value) + ")"
    return str(value)


KNOWN_PARAMETERS = frozenset(
    {
        "preset",
        "output_size",
        "resize_mode",
        "resize_size",
        "interpolation",
        "scaling",
        "mean",
        "std",
        "channel_order",
        "allowed_formats",
        "max_bytes",
        "max_pixels",
        "decode_threads",
        "jpeg_draft",
        "resampling_mode",
        "pipeline",
        "quality_metrics",
    }
)


def _available_cpus() -> int:
    from densenet_contract.cpus import usable_cpus  # the project's one CPU-count rule

    return usable_cpus()


def _floats(name: str, value: str) -> tuple[float, float, float]:
    parts = [v.strip() for v in value.split(",")]
    if len(parts) == 1:
        parts *= 3
    if len(parts) != 3:
        raise PreprocessConfigError(name, f"'{value}' needs 1 or 3 comma-separated numbers (RGB order)")
    try:
        a, b, c = (float(v) for v in parts)
    except ValueError:
        raise PreprocessConfigError(name, f"'{value}' is not a list of numbers") from None
    return a, b, c


def _size(name: str, value: str) -> tuple[int, int]:
    parts = value.replace("x", ",").split(",")
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2:
        raise PreprocessConfigError(name, f"'{value}' must be 'N' or 'HEIGHT,WIDTH'")
    try:
        height, width = (int(v) for v in parts)
    except ValueError:
        raise PreprocessConfigError(name, f"'{value}' is not an integer or two") from None
    if min(height, width) < 1:
        raise PreprocessConfigError(name, f"'{value}' must be at least 1")
    return height, width


def _formats(value: str) -> frozenset[str]:
    formats = frozenset(f.strip().upper().replace("JPG", "JPEG") for f in value.split(",") if f.strip())
    if not formats:
        raise PreprocessConfigError("allowed_formats", "must name at least one format")
    unsupported = sorted(formats - set(SNIFFABLE_FORMATS))
    if unsupported:
        raise PreprocessConfigError(
            "allowed_formats", f"'{unsupported[0]}' is not one of {', '.join(SNIFFABLE_FORMATS)}"
        )
    return formats
