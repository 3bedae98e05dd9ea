"""CPU variant of `densenet` (configs/cpu.pbtxt): ONNX Runtime inside the python backend."""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

from densenet_contract.names import INPUT_NAME, OUTPUT_NAME
from densenet_contract.onnx_metadata import read_metadata
from densenet_contract.parameters import config_parameters
from densenet_cpu.busy import BusyCounter, busy_path
from densenet_cpu.config import CpuConfig
from densenet_cpu.placement import (
    cpu_instance_placements,
    instance_index,
    ort_session_options,
    pin_process,
)


def _session(path, config, threads):
    options = ort_session_options(config, threads)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _check_weights(path, config):
    """The config's `weights` parameter is what clients read; refuse to serve a file it does not describe."""
    carried = read_metadata(path)
    for key, recorded in config.recorded:
        if carried.get(key) != recorded:
            raise ValueError(
                f"{path.name} carries {key}={carried.get(key)!r} but configs/cpu.pbtxt says "
                f"{recorded!r}: install models with `make model`, which keeps both in step"
            )


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        config = CpuConfig.from_parameters(config_parameters(model_config))  # a bad key fails the load
        path = Path(args["model_repository"]) / args["model_version"] / config.onnx_file
        if not path.is_file():
            raise FileNotFoundError(
                f"{path.name} is missing from densenet/{args['model_version']}: run `make model`"
            )
        _check_weights(path, config)
        index, instances = instance_index(model_config, args["model_instance_name"])
        placement = cpu_instance_placements(config, instances)[index]
        if placement.cpus is not None:
            pin_process(placement.cpus)
        self._session = _session(path, config, placement.threads)
        # Adaptive threads: a second session on every usable CPU, for requests that run alone.
        self._solo, self._busy = None, None
        if placement.solo_threads is not None:
            self._solo = _session(path, config, placement.solo_threads)
            self._busy = BusyCounter(busy_path())
        pinned = f"pinned to CPUs {list(placement.cpus)}" if placement.cpus is not None else "not pinned"
        solo = f", {placement.solo_threads} when it runs alone" if self._solo is not None else ""
        pb_utils.Logger.log_info(
            f"{args['model_instance_name']}: instance {index + 1} of {instances}, "
            f"{placement.threads} ONNX Runtime thread(s){solo}, {pinned}"
        )
        self._input = pb_utils.get_input_config_by_name(model_config, INPUT_NAME)["name"]
        output = pb_utils.get_output_config_by_name(model_config, OUTPUT_NAME)
        self._output = output["name"]
        self._dtype = pb_utils.triton_string_to_numpy(output["data_type"])
        names = ([i.name for i in self._session.get_inputs()], [o.name for o in self._session.get_outputs()])
        if names != ([self._input], [self._output]):
            raise ValueError(
                f"{path.name} has inputs/outputs {names}, the config expects {INPUT_NAME} -> {OUTPUT_NAME}"
            )
        if self._solo is not None:  # model_warmup reaches one of the two sessions; warm the other
            shape = [1, *pb_utils.get_input_config_by_name(model_config, INPUT_NAME)["dims"]]
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
            output = pb_utils.Tensor(
                self._output, logits[start : start + len(batch)].astype(self._dtype, copy=False)
            )
            responses.append(pb_utils.InferenceResponse(output_tensors=[output]))
            start += len(batch)
        return responses

    def finalize(self):
        if self._busy is not None:
            self._busy.close(remove=True)
