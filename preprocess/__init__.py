"""Image preprocessing for the DenseNet ensemble: untrusted encoded bytes → normalized NCHW float32.

Pure numpy/Pillow; never imports Triton. The ``preprocess`` model's ``model.py`` is thin glue
around :func:`open_pipeline`: the Python :class:`Preprocessor` or the DALI pipeline, both
:class:`ImagePipeline`.
"""

from .config import ChannelOrder, PipelineKind, PreprocessConfig, ResamplingMode, ResizeMode
from .decode import decode_image, sniff_format, strip_padding
from .errors import (
    CorruptImageError,
    EmptyImageError,
    FormatNotAllowedError,
    ImageError,
    ImageTooLargeError,
    PreprocessConfigError,
    PreprocessError,
    TooManyPixelsError,
)
from .factory import open_pipeline
from .pipeline import Batch, ImagePipeline, Preprocessor, preprocess_one
from .transform import Normalizer, resize

__all__ = [
    "Batch",
    "ChannelOrder",
    "CorruptImageError",
    "EmptyImageError",
    "FormatNotAllowedError",
    "ImageError",
    "ImagePipeline",
    "ImageTooLargeError",
    "Normalizer",
    "PipelineKind",
    "PreprocessConfig",
    "PreprocessConfigError",
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
