"""Image preprocessing for the DenseNet ensemble: untrusted encoded bytes → normalized NCHW float32.

Pure numpy/Pillow; never imports Triton. The ``preprocess`` model's ``model.py`` is thin glue
around :class:`Preprocessor`.
"""

from .config import ChannelOrder, Engine, PreprocessConfig, ResamplingMode, ResizeMode
from .decode import decode_image, sniff_format, strip_padding
from .errors import (
    ConfigError,
    CorruptImageError,
    EmptyImageError,
    FormatNotAllowedError,
    ImageError,
    ImageTooLargeError,
    PreprocessError,
    TooManyPixelsError,
)
from .pipeline import Batch, Preprocessor
from .transform import Normalizer, resize

__all__ = [
    "Batch",
    "ChannelOrder",
    "ConfigError",
    "CorruptImageError",
    "EmptyImageError",
    "Engine",
    "FormatNotAllowedError",
    "ImageError",
    "ImageTooLargeError",
    "Normalizer",
    "PreprocessConfig",
    "PreprocessError",
    "Preprocessor",
    "ResamplingMode",
    "ResizeMode",
    "TooManyPixelsError",
    "decode_image",
    "resize",
    "sniff_format",
    "strip_padding",
]
