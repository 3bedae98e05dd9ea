"""The model pipeline behind ``densenet-build``, one room per step (the numbers the modules use):

1. acquire (:mod:`.acquire`): the ONNX model, downloaded and verified, given, or a stand-in;
2. prepare (:mod:`.acquire.prepare`): opset/IR checks, dynamic batch, interface check, simplification;
3. precision variants (:mod:`.precision`): fp32, fp16, int8 as ONNX, and their agreement with fp32;
4. engine (:mod:`.engine.build`): the TensorRT plan for this GPU;
5. install (:mod:`.repository.install`): the ONNX or the plan into the model repository, configs in step;
6. verify (:mod:`.engine.verify`, with :mod:`.engine.check` before Triton loads the plans).

`make model` runs steps 1, 2 and 5 for the ONNX; `make engine` runs 2 to 6 (docs/gpu-build.md).
"""
