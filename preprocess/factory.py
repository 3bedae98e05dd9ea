"""The preprocessing implementation a config names, behind the one :class:`ImagePipeline` interface."""

from __future__ import annotations

from .config import PipelineKind, PreprocessConfig
from .pipeline import ImagePipeline, Preprocessor


def open_pipeline(
    config: PreprocessConfig, *, max_batch_size: int = 1, device_id: int | None = None
) -> ImagePipeline:
    """The implementation ``config.pipeline`` names: the Python path, or DALI (on GPU ``device_id``,
    else DALI's CPU operators). ``max_batch_size`` bounds a DALI pipeline's batch."""
    if config.pipeline is PipelineKind.DALI:
        from .dali import DaliPreprocessor  # only this pipeline needs nvidia-dali

        return DaliPreprocessor(config, max_batch_size=max(1, max_batch_size), device_id=device_id)
    return Preprocessor(config)
