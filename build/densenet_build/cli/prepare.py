"""``densenet-build prepare``: check and prepare an ONNX model: opset/IR, dynamic batch, interface, optional
simplification.

Check the IR version and opset against the installed onnxruntime and TensorRT's parser (upgrading opsets
below 13, which explicit int8 needs), make the batch dimension dynamic, refuse a model whose
input/output names, types or dims differ from the densenet config, and optionally fold constants with
ONNX GraphSurgeon.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import add_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--simplify", action="store_true", help="fold constants and drop dead nodes")
    add_config(parser)


def run(args: argparse.Namespace) -> None:
    from ..acquire.prepare import prepare
    from ..repository.configs import load_interface

    interface = load_interface(args.densenet_config)
    output = prepare(args.input, args.output, interface=interface, simplify=args.simplify)
    print(f"wrote {output}: matches {interface.source}, batch dimension dynamic")
