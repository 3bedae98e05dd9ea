"""Image preprocessing for the DenseNet ensemble: untrusted encoded bytes → normalized NCHW float32.

Pure numpy/Pillow; never imports Triton. The ``preprocess`` model's ``model.py`` is thin glue
around :func:`open_pipeline`: the Python :class:`Preprocessor` or the DALI pipeline, both
:class:`ImagePipeline`.
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
from .factory import open_pipeline
from .pipeline import Batch, ImagePipeline, Preprocessor, preprocess_one
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
    "ImagePipeline",
    "ImageTooLargeError",
    "Normalizer",
    "PreprocessConfig",
    "PreprocessError",
    "Preprocessor",
    "ResamplingMode",
    "ResizeMode",
    "TooManyPixelsError",
    "decode_image",
    "open_pipeline",
    "preprocess_one",
    "resize",
    "sniff_format",
    "strip_padding",
]
