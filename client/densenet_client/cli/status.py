"""``densenet-client status``: is the server live, the model ready, which weights does it serve? Exit 0
when ready, else 1."""

from __future__ import annotations

import argparse

from densenet_contract.cli import EXIT_FAILED, EXIT_OK
from densenet_contract.names import served_weights

from .options import ConnectionOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    ConnectionOptions.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    with ConnectionOptions.from_args(args).client() as client:
        live, ready = client.is_live(), client.is_ready()
        print(f"server  {client.url}  live: {_yes(live)}  ready: {_yes(ready)}")
        if live:
            meta = client.model_metadata()
            print(f"model   {meta.name}  versions: {', '.join(meta.versions)}  platform: {meta.platform}")
            for kind, tensors in (("input ", meta.inputs), ("output", meta.outputs)):
                for tensor in tensors:
                    print(f"  {kind}  {tensor.name} {tensor.datatype} {list(tensor.shape)}")
            weights, details = served_weights(client.served_weights())
            print(f"weights {weights}\n  from {details}")
    return EXIT_OK if ready else EXIT_FAILED


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
