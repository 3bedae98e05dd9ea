"""A thin client for the DenseNet ensemble on Triton: classify images over HTTP or gRPC.

>>> from densenet_client import DenseNetClient
>>> with DenseNetClient("http://localhost:8000") as client:      # doctest: +SKIP
...     for prediction in client.classify("cat.jpg", top_k=3):
...         print(prediction.label, prediction.probability, prediction.class_id)

Built on ``tritonclient``; ``AsyncDenseNetClient`` is the asyncio form. Every error is a
``DenseNetClientError`` (see ``densenet_client.errors``). The CLI is ``densenet-client``.
"""

from .aio import AsyncDenseNetClient
from .client import DenseNetClient
from .endpoint import Endpoint, parse_endpoint
from .errors import (
    ConfigurationError,
    DenseNetClientError,
    InvalidImage,
    InvalidRequest,
    ModelNotReady,
    ServerBusy,
    ServerError,
    ServerUnavailable,
    Timeout,
    Unauthorized,
)
from .images import ImageSource
from .predictions import ModelMetadata, Prediction, TensorMetadata
from .retry import RetryPolicy

__all__ = [
    "AsyncDenseNetClient",
    "ConfigurationError",
    "DenseNetClient",
    "DenseNetClientError",
    "Endpoint",
    "ImageSource",
    "InvalidImage",
    "InvalidRequest",
    "ModelMetadata",
    "ModelNotReady",
    "Prediction",
    "RetryPolicy",
    "ServerBusy",
    "ServerError",
    "ServerUnavailable",
    "TensorMetadata",
    "Timeout",
    "Unauthorized",
    "parse_endpoint",
]
