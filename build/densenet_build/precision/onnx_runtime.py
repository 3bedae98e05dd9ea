"""Logits from an ONNX variant on ONNX Runtime's CPU provider: the reference every variant and plan
is compared with."""

from __future__ import annotations

from pathlib import Path

import numpy as np

EVAL_BATCH = 8


def run_onnx(
    path: str | Path, tensors: np.ndarray, input_name: str, batch_size: int = EVAL_BATCH
) -> np.ndarray:
    """Logits of ``tensors`` from the model at ``path`` on onnxruntime's CPU provider."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # fp16 graphs: constant-folding notes on every Mul, not errors
    # onnxruntime's CPU Q/DQ fusions give wrong logits on the int8 variant's fp16 graph (0 % top-1
    # agreement on EfficientNet-Lite0, 93 % without them); the file is for TensorRT, which fuses on
    # its own, so it is judged as written. No effect on models without Q/DQ.
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    outputs = [
        session.run(None, {input_name: tensors[i : i + batch_size]})[0]
        for i in range(0, len(tensors), batch_size)
    ]
    return np.concatenate(outputs)
