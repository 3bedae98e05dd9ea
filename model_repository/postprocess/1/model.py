"""Triton glue for the `postprocess` model; the logic lives in the pure `postprocess` package."""

import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

from postprocess import InvalidTopKError, label_array, load_labels, parse_top_k, softmax, top_k


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        parameters = {k: v["string_value"] for k, v in model_config.get("parameters", {}).items()}
        classes = int(np.prod(pb_utils.get_input_config_by_name(model_config, "fc6_1")["dims"]))
        labels_file = Path(args["model_repository"]) / parameters.get("labels_file", "labels.txt")
        self._labels = load_labels(labels_file, expected=classes)
        self._classes = classes
        self._default_top_k = parse_top_k(parameters.get("top_k", "5"), classes)

    def execute(self, requests):
        logits = [pb_utils.get_input_tensor_by_name(r, "fc6_1").as_numpy() for r in requests]
        probabilities = softmax(np.concatenate(logits))
        responses, start = [], 0
        for request, batch in zip(requests, logits, strict=False):
            rows = probabilities[start : start + len(batch)]
            start += len(batch)
            try:
                k = self._top_k(request)
            except InvalidTopKError as error:
                responses.append(
                    pb_utils.InferenceResponse(
                        error=pb_utils.TritonError(str(error), pb_utils.TritonError.INVALID_ARG)
                    )
                )
                continue
            ids, scores = top_k(rows, k)
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor("LABELS", label_array(ids, self._labels)),
                        pb_utils.Tensor("SCORES", scores),
                        pb_utils.Tensor("CLASS_IDS", ids),
                    ]
                )
            )
        return responses

    def _top_k(self, request):
        parameters = json.loads(request.parameters() or "{}")
        if "top_k" not in parameters:
            return self._default_top_k
        return parse_top_k(parameters["top_k"], self._classes)
