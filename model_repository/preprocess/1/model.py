"""Triton glue for the `preprocess` model; the logic lives in the pure `preprocess` package."""

import json

import numpy as np
import triton_python_backend_utils as pb_utils

from densenet_contract.metrics import WRITE_INTERVAL_S, BackgroundWriter, Metrics
from densenet_contract.names import IMAGE, PIXELS
from densenet_contract.parameters import config_parameters
from preprocess import ImageError, PreprocessConfig, PreprocessConfigError, open_pipeline
from preprocess.input_metrics import InputMetrics, refusal_reason


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        parameters = config_parameters(model_config)
        config = PreprocessConfig.from_parameters(parameters)  # a bad key fails the load, naming it
        output = pb_utils.get_output_config_by_name(model_config, PIXELS)
        if tuple(output["dims"]) != (3, *config.output_size):
            raise PreprocessConfigError(
                "output_size", f"{config.output_size} does not match {PIXELS} dims {output['dims']}"
            )
        if pb_utils.triton_string_to_numpy(output["data_type"]) != np.float32:
            raise ValueError(f"{PIXELS} is {output['data_type']}; both pipelines produce TYPE_FP32")
        on_gpu = args["model_instance_kind"] == "GPU"
        self._preprocessor = open_pipeline(
            config,
            max_batch_size=model_config["max_batch_size"],
            device_id=int(args["model_instance_device_id"]) if on_gpu else None,
        )
        self._preprocessor.warm_up()  # before READY: the first request pays no first-use costs
        # Metric updates are round trips to the server: written off the request path.
        self._metrics = (
            BackgroundWriter(
                InputMetrics(Metrics.of(pb_utils.MetricFamily), config).write,
                interval_s=WRITE_INTERVAL_S,
            )
            if config.quality_metrics
            else None
        )

    def execute(self, requests):
        # Every image row of every request is decoded in one parallel pass.
        rows, spans = [], []
        for request in requests:
            images = pb_utils.get_input_tensor_by_name(request, IMAGE).as_numpy()
            images = images.reshape(len(images), -1) if images.ndim != 2 else images
            spans.append((len(rows), len(images)))
            rows.extend(images)
        batch = self._preprocessor.process(rows)
        if self._metrics is not None:
            # Both pipelines measure the input sizes while checking or decoding each image.
            reasons = [refusal_reason(r) for r in batch.results if isinstance(r, ImageError)]
            self._metrics.submit((reasons, batch.sizes))

        responses = []
        for start, count in spans:
            failed = batch.errors(start, count)
            if count == 0:
                error = pb_utils.TritonError("the request holds no image", pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(error=error))
            elif failed:
                index, problem = failed[0]
                where = f"image {index + 1} of {count}: " if count > 1 else ""
                error = pb_utils.TritonError(f"{where}{problem}", pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(error=error))
            else:
                pixels = batch.pixels(start, count)
                # A GPU pipeline's pixels stay on the GPU (DLPack) on their way to TensorRT.
                tensor = (
                    pb_utils.Tensor(PIXELS, pixels)
                    if batch.on_host
                    else pb_utils.Tensor.from_dlpack(PIXELS, pixels)
                )
                responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        return responses

    def finalize(self):
        self._preprocessor.close()
        if self._metrics is not None:
            self._metrics.close()
