"""What every package of the project agrees on, written once.

Contract values: model, tensor and metadata names (:mod:`.names`), the ``top_k`` rule (:mod:`.topk`),
the monitoring's metric names and drift file format (:mod:`.monitoring`), the one strict reader of
Triton ``parameters {}`` (:mod:`.parameters`), ONNX metadata (:mod:`.onnx_metadata`). Shared utilities
that packages which may not import each other all need: the CPU-count rule (:mod:`.cpus`), atomic
writes (:mod:`.files`), the python models' metric writer (:mod:`.metrics`), the command lines' exit
codes and validators (:mod:`.cli`).

Standard library and numpy only (ONNX is imported lazily by :mod:`.onnx_metadata`); it imports
nothing else of ours, so every package, the python models inside Triton and the client SDK may use it.
"""
