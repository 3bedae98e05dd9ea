"""Triton glue for the `postprocess` model; the logic lives in the pure `postprocess` package."""

import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

from densenet_contract.errors import InvalidTopK
from densenet_contract.metrics import WRITE_INTERVAL_S, BackgroundWriter, Metrics
from densenet_contract.names import CLASS_IDS, LABELS, OUTPUT_NAME, SCORES
from densenet_contract.parameters import config_parameters
from densenet_contract.topk import parse_top_k
from postprocess import label_array, load_labels, softmax, top_k
from postprocess.answer_metrics import AnswerMetrics
from postprocess.config import PostprocessConfig
from postprocess.drift import load_reference


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        classes = int(np.prod(pb_utils.get_input_config_by_name(model_config, OUTPUT_NAME)["dims"]))
        config = PostprocessConfig.from_parameters(
            config_parameters(model_config), classes
        )  # a bad key fails the load
        self._dtypes = {
            name: pb_utils.triton_string_to_numpy(
                pb_utils.get_output_config_by_name(model_config, name)["data_type"]
            )
            for name in (SCORES, CLASS_IDS)
        }
        model_dir = Path(args["model_repository"])
        self._labels = load_labels(model_dir / config.labels_file, expected=classes)
        self._classes = classes
        self._default_top_k = config.top_k
        self._metrics = None
        if config.quality_metrics:
            reference = (
                load_reference(model_dir / config.drift_reference, classes)
                if config.drift_reference
                else None
            )
            # Metric updates are round trips to the server: written off the request path.
            metrics = AnswerMetrics(Metrics.of(pb_utils.MetricFamily), config, self._labels, reference)
            self._metrics = BackgroundWriter(metrics.write, interval_s=WRITE_INTERVAL_S)
        # Triton runs the config's warm-up samples on each instance before READY: not answers to count.
        self._warmups_left = sum(max(1, w.get("count", 1)) for w in model_config.get("model_warmup", []))

    def execute(self, requests):
        logits = [pb_utils.get_input_tensor_by_name(r, OUTPUT_NAME).as_numpy() for r in requests]
        probabilities = softmax(np.concatenate(logits))
        responses, answered, start = [], [], 0
        for request, batch in zip(requests, logits, strict=False):
            rows = probabilities[start : start + len(batch)]
            start += len(batch)
            try:
                k = self._top_k(request)
            except InvalidTopK as error:
                responses.append(
                    pb_utils.InferenceResponse(
                        error=pb_utils.TritonError(str(error), pb_utils.TritonError.INVALID_ARG)
                    )
                )
                continue
            ids, scores = top_k(rows, k)
            answered.append(rows)
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor(LABELS, label_array(ids, self._labels)),
                        pb_utils.Tensor(SCORES, scores.astype(self._dtypes[SCORES], copy=False)),
                        pb_utils.Tensor(CLASS_IDS, ids.astype(self._dtypes[CLASS_IDS], copy=False)),
                    ]
                )
            )
        if self._warmups_left:
            self._warmups_left -= 1
        elif self._metrics is not None and answered:
            self._metrics.submit(np.concatenate(answered))
        return responses

    def finalize(self):
        if self._metrics is not None:
            self._metrics.close()

    def _top_k(self, request):
        parameters = json.loads(request.parameters() or "{}")
        if "top_k" not in parameters:
            return self._default_top_k
        return parse_top_k(parameters["top_k"], self._classes)
