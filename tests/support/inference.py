"""Building KServe V2 requests for the ensemble with plain tritonclient, and local reference results."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from densenet_serve.health import BUSY  # Triton's refusal when a model's bounded queue is full
from postprocess import softmax, top_k
from preprocess import PreprocessConfig, Preprocessor, preprocess_one

T = TypeVar("T")


def until_admitted(call: Callable[[], T], attempts: int = 100, wait_s: float = 0.1) -> T:
    """``call()``, sent again while the server refuses it as busy (its queues are bounded: more
    concurrent requests than it holds are refused at once, and a client tries later). Any other
    error, or the last refusal after ``attempts``, is raised."""
    from tritonclient.utils import InferenceServerException

    for attempt in range(1, attempts + 1):
        try:
            return call()
        except InferenceServerException as error:
            if BUSY not in (error.message() or "") or attempt == attempts:
                raise
        time.sleep(wait_s)
    raise AssertionError("unreachable")


def image_rows(images: Sequence[bytes]) -> np.ndarray:
    """Encoded images → uint8 [B, N], each row zero-padded to the longest (the IMAGE contract)."""
    width = max(len(i) for i in images)
    rows = np.zeros((len(images), width), np.uint8)
    for row, data in zip(rows, images, strict=False):
        row[: len(data)] = np.frombuffer(data, np.uint8)
    return rows


def http_infer(
    client,
    images: Sequence[bytes],
    top_k: int | None = None,
    model: str = "densenet_ensemble",
    headers: dict[str, str] | None = None,
):
    import tritonclient.http as httpclient

    rows = image_rows(images)
    tensor = httpclient.InferInput("IMAGE", list(rows.shape), "UINT8")
    tensor.set_data_from_numpy(rows, binary_data=True)
    outputs = [
        httpclient.InferRequestedOutput(n, binary_data=True) for n in ("LABELS", "SCORES", "CLASS_IDS")
    ]
    parameters = {"top_k": top_k} if top_k is not None else None
    return client.infer(model, [tensor], outputs=outputs, parameters=parameters, headers=headers)


def grpc_infer(client, images: Sequence[bytes], top_k: int | None = None):
    import tritonclient.grpc as grpcclient

    rows = image_rows(images)
    tensor = grpcclient.InferInput("IMAGE", list(rows.shape), "UINT8")
    tensor.set_data_from_numpy(rows)
    parameters = {"top_k": top_k} if top_k is not None else None
    return client.infer("densenet_ensemble", [tensor], parameters=parameters, client_timeout=60)


def curl_json(http_url: str, body: dict, model: str = "densenet_ensemble") -> tuple[int, dict]:
    """POST a JSON inference request with the real curl; returns (HTTP status, parsed JSON body)."""
    completed = subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-H", "Content-Type: application/json", "-d", "@-",
         f"http://{http_url}/v2/models/{model}/infer"],
        input=json.dumps(body).encode(), capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    text, _, code = completed.stdout.decode().rpartition("\n")
    return int(code), json.loads(text)


def results(result) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
    labels = [[label.decode() for label in row] for row in result.as_numpy("LABELS")]
    return labels, result.as_numpy("SCORES"), result.as_numpy("CLASS_IDS")


def reference_top_k(
    image: bytes, onnx_path: Path, k: int = 5, config: PreprocessConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """What the ensemble should answer, computed in this process: our preprocessing, ONNX Runtime, softmax."""
    import onnxruntime as ort

    pixels = preprocess_one(Preprocessor(config or PreprocessConfig()), image)[np.newaxis]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    logits = session.run(["fc6_1"], {"data_0": pixels})[0]
    ids, scores = top_k(softmax(logits), k)
    return ids[0], scores[0]
