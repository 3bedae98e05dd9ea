"""CPU variant of `densenet` (configs/cpu.pbtxt): ONNX Runtime inside the python backend."""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

from densenet_cpu.busy import BusyCounter, busy_path
from densenet_cpu.placement import (
    cpu_instance_placements,
    instance_index,
    ort_session_options,
    pin_process,
)

# What the ONNX file's metadata and configs/cpu.pbtxt must agree on (written together by `make model`).
RECORDED_KEYS = ("weights", "source_sha256", "preprocessing")


def _parameters(model_config):
    return {k: v["string_value"] for k, v in model_config.get("parameters", {}).items()}


def _onnx_path(model_dir, parameters):
    return Path(model_dir) / parameters.get("onnx_file", "model.onnx")


def _session(path, parameters, threads):
    options = ort_session_options(parameters, threads)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _check_weights(path, parameters):
    """The config's `weights` parameter is what clients read; refuse to serve a file it does not describe."""
    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    for key in RECORDED_KEYS:
        if props.get(key) != parameters.get(key):
            raise ValueError(
                f"{path.name} carries {key}={props.get(key)!r} but configs/cpu.pbtxt says "
                f"{parameters.get(key)!r}: install models with `make model`, which keeps both in step"
            )


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        parameters = _parameters(model_config)
        path = _onnx_path(Path(args["model_repository"]) / args["model_version"], parameters)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path.name} is missing from densenet/{args['model_version']}: run `make model`"
            )
        _check_weights(path, parameters)
        index, instances = instance_index(model_config, args["model_instance_name"])
        placement = cpu_instance_placements(parameters, instances)[index]
        if placement.cpus is not None:
            pin_process(placement.cpus)
        self._session = _session(path, parameters, placement.threads)
        # Adaptive threads: a second session on every usable CPU, for requests that run alone.
        self._solo, self._busy = None, None
        if placement.solo_threads is not None:
            self._solo = _session(path, parameters, placement.solo_threads)
            self._busy = BusyCounter(busy_path())
        pinned = f"pinned to CPUs {list(placement.cpus)}" if placement.cpus is not None else "not pinned"
        solo = f", {placement.solo_threads} when it runs alone" if self._solo is not None else ""
        pb_utils.Logger.log_info(
            f"{args['model_instance_name']}: instance {index + 1} of {instances}, "
            f"{placement.threads} ONNX Runtime thread(s){solo}, {pinned}"
        )
        self._input = pb_utils.get_input_config_by_name(model_config, "data_0")["name"]
        self._output = pb_utils.get_output_config_by_name(model_config, "fc6_1")["name"]
        names = ([i.name for i in self._session.get_inputs()], [o.name for o in self._session.get_outputs()])
        if names != ([self._input], [self._output]):
            raise ValueError(f"{path.name} has inputs/outputs {names}, the config expects data_0 -> fc6_1")
        if self._solo is not None:  # model_warmup reaches one of the two sessions; warm the other
            shape = [1, *pb_utils.get_input_config_by_name(model_config, "data_0")["dims"]]
            for session in (self._session, self._solo):
                session.run([self._output], {self._input: np.zeros(shape, np.float32)})

    def execute(self, requests):
        # Requests handed over together (when dynamic batching is configured) share one run.
        batches = [pb_utils.get_input_tensor_by_name(r, self._input).as_numpy() for r in requests]
        feed = {self._input: np.concatenate(batches)}
        if self._busy is None:
            logits = self._session.run([self._output], feed)[0]
        else:
            with self._busy.running() as running:
                session = self._solo if running == 1 else self._session
                logits = session.run([self._output], feed)[0]
        responses, start = [], 0
        for batch in batches:
            output = pb_utils.Tensor(self._output, logits[start : start + len(batch)])
            responses.append(pb_utils.InferenceResponse(output_tensors=[output]))
            start += len(batch)
        return responses

    def finalize(self):
        if self._busy is not None:
            self._busy.close(remove=True)
