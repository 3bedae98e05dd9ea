"""Triton glue for the `postprocess` model; the logic lives in the pure `postprocess` package."""

import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

from densenet_contract.errors import InvalidTopK
from densenet_contract.names import CLASS_IDS, LABELS, OUTPUT_NAME, SCORES
from densenet_contract.parameters import config_parameters
from densenet_contract.topk import parse_top_k
from postprocess import label_array, load_labels, softmax, top_k
from postprocess.config import PostprocessConfig
from postprocess.drift import DriftWindow, drift, load_reference, noise_floor
from postprocess.quality import CONFIDENCE_BUCKETS, batch_quality
from preprocess.metrics import WRITE_INTERVAL_S, BackgroundWriter, Metrics


class AnswerMetrics:
    """The densenet_* answer metrics on Triton's metrics port (docs/quality.md)."""

    def __init__(self, config, labels, reference):
        metrics = self._metrics = Metrics.of(pb_utils.MetricFamily)
        self.top1 = metrics.histogram(
            "densenet_top1_probability", "Top-1 softmax probability of each answer", CONFIDENCE_BUCKETS
        )
        self.low = metrics.counter(
            "densenet_low_confidence_answers_total", "Answers whose top-1 probability is below the threshold"
        )
        threshold = config.low_confidence_threshold
        metrics.gauge("densenet_low_confidence_threshold", "The low-confidence threshold").set(threshold)
        self.classes = [
            metrics.counter(
                "densenet_predictions_total", "Answers per top-1 class", class_id=str(i), label=label
            )
            for i, label in enumerate(labels)
        ]
        weights = {
            "weights": config.weights,
            "sha256": config.source_sha256,
            "preprocessing": config.preprocessing,
        }
        metrics.gauge("densenet_served_weights_info", "The weights served (always 1)", **weights).set(1)
        self.threshold = threshold
        self.reference = reference
        if reference is not None:
            self.window = DriftWindow(config.drift_window, len(labels))
            self.score = metrics.gauge(
                "densenet_drift_score", "Drift of the recent answers from the reference"
            )
            self.score.set(float("nan"))  # until the window is full
            self.window_answers = metrics.gauge(
                "densenet_drift_window_answers", "Answers in the drift window"
            )
            self.window_answers.set(0)
            floor = "The drift score 99% of windows drawn from the reference itself stay below"
            metrics.gauge("densenet_drift_noise_floor", floor).set(
                noise_floor(reference, config.drift_window)
            )

    def write(self, batches):
        """On the writer thread: the probabilities [B, C] of the answers of each execution, in order."""
        quality = batch_quality(np.concatenate(batches), self.threshold)
        self.top1.add(quality.top1_scores)
        if quality.low_confidence:
            self.low.increment(quality.low_confidence)
        for class_id, count in quality.class_counts.items():
            self.classes[class_id].increment(count)
        if self.reference is not None:
            filling = self.window.answers < self.window.size
            self.window.add(quality.top1_ids, quality.top1_scores)
            if filling:
                self.window_answers.set(self.window.answers)
            if self.window.answers == self.window.size:  # a partial window is mostly noise
                self.score.set(drift(self.window.distribution, self.reference).score)


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
            metrics = AnswerMetrics(config, self._labels, reference)
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
