"""``densenet-edge`` (``python -m densenet_serve.edge``): the production edge's files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from densenet_contract.cli import EXIT_OK, EXIT_UNUSABLE

from ..errors import ServerSetupError
from .config import nginx_config
from .deployments import DEPLOYMENTS, prepare_edge
from .keys import write_map_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="densenet-edge",
        description="The production edge's files: its nginx.conf (compose|kubernetes, to standard "
        "output), or its secrets (maps DIR: admin-token.map from $TRITON_ADMIN_TOKEN, api-keys.map "
        "from --api-key-file, keys off without it), or compose's edge (edge DIR --token-file FILE).",
    )
    parser.add_argument("what", choices=[*DEPLOYMENTS, "maps", "edge"])
    parser.add_argument("directory", nargs="?", type=Path, help="maps: where to write them")
    parser.add_argument("--api-key-file", type=Path, help="maps: the client keys, one a line")
    parser.add_argument("--secrets", type=Path, default=Path("/run/secrets"), help="edge: the secrets")
    parser.add_argument("--token-file", type=Path, help="edge: where Triton's copy of the admin token goes")
    args = parser.parse_args(argv)
    if args.what == "edge":
        if args.directory is None or args.token_file is None:
            parser.error("edge needs the directory and --token-file")
        try:
            for line in prepare_edge(args.secrets, args.directory, args.token_file):
                print(f"densenet-edge: {line}", flush=True)
        except ServerSetupError as error:
            print(f"densenet-edge: error: {error}", file=sys.stderr)
            return EXIT_UNUSABLE
        return EXIT_OK
    if args.what != "maps":
        sys.stdout.write(nginx_config(DEPLOYMENTS[args.what]))
        return EXIT_OK
    if args.directory is None:
        parser.error("maps needs the directory to write them to")
    token = os.environ.get("TRITON_ADMIN_TOKEN", "")
    try:
        if not token:
            raise ServerSetupError("set TRITON_ADMIN_TOKEN (the same token tritonserver gets)")
        for path in write_map_files(args.directory, token, args.api_key_file):
            print(f"wrote {path}")
    except ServerSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
