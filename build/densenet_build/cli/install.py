"""``densenet-build install``: copy a plan into the repository as model_sm<XY>.plan and sync
cc_model_filenames.

Copy PLAN and its sidecar to MODEL_DIR/1/model_sm<XY>.plan/.json (XY: the compute capability it was
built for) and rewrite cc_model_filenames in MODEL_DIR/config.pbtxt to list exactly the plans present
(comments kept). Without PLAN, only the config is synced.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import MODEL_DIR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", type=Path, nargs="?", help="a plan written by `densenet-build engine`")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help=f"(default {MODEL_DIR})")


def run(args: argparse.Namespace) -> None:
    from ..repository.install import install_plan, sync_config

    config = args.model_dir / "config.pbtxt"
    if args.plan is not None:
        destination = install_plan(args.plan, args.model_dir, config)
        print(f"installed {destination}")
    filenames = sync_config(config, args.model_dir / "1")
    listed = ", ".join(f"{cc}: {name}" for cc, name in sorted(filenames.items())) or "none"
    print(f"cc_model_filenames in {config}: {listed}")
