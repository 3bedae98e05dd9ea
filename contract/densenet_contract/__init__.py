"""What every package of the project agrees on, written once: model, tensor and metadata names, the
``top_k`` rule, the CPU-count rule, atomic writes, ONNX metadata, the one strict reader of Triton
``parameters {}``, the python models' metric writer, and the command lines' exit codes and validators.

Standard library and numpy only (ONNX is imported lazily by :mod:`.onnx_metadata`); it imports
nothing else of ours, so every package, the python models inside Triton and the client SDK may use it.
"""
