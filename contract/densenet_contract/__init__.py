"""What every package of the project agrees on, written once: names, bounds, metadata keys, the
CPU-count rule, atomic writes, ONNX metadata and the one strict reader of Triton ``parameters {}``.

Standard library only (ONNX is imported lazily by :mod:`.onnx_metadata`), and it imports nothing
else of ours, so every package, the python models inside Triton and the client SDK may use it.
"""
