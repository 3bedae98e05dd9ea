"""What the CPU ``densenet`` model (configs/cpu.pbtxt, ONNX Runtime in the python backend) decides
outside Triton: each instance's share of the CPUs and its ONNX Runtime session options.

Pure and unit-tested; ``model_repository/densenet/1/model.py`` is the thin glue that applies it.
The launcher (``densenet_serve``) does not import it, and it imports nothing of the launcher.
"""
