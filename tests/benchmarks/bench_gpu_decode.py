"""The GPU's JPEG decode capacity: batched nvJPEG through torchvision, on a folder of JPEGs.

    python -m tests.benchmarks.bench_gpu_decode FOLDER [--batch 32] [--rounds 20] [--json FILE]

DALI's `mixed` decoder (preprocess/configs/dali.pbtxt) and `torchvision.io.decode_jpeg(...,
device="cuda")` both call nvJPEG, so this measures the decoder the DALI deployment relies on where
DALI itself is not installed (a GPU host with torch and torchvision). It prints images/s for
batches of `--batch` JPEGs decoded on the GPU (hardware decoder where the GPU has one, else nvJPEG's
CUDA decoder), the same on the CPU (libjpeg-turbo, one thread) for scale, and the GPU's name.
Needs a CUDA build of torchvision and a GPU; elsewhere it says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path, help="a folder of JPEG files")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=20, help="timed passes over the folder")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    try:
        import torch
        import torchvision
        from torchvision.io import decode_jpeg
    except ImportError as error:
        print(f"needs torch and torchvision ({error.name} is not installed)", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("needs a CUDA GPU (torch.cuda.is_available() is False)", file=sys.stderr)
        return 2

    files = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    encoded = [torchvision.io.read_file(str(p)) for p in files]
    batches = [encoded[i : i + args.batch] for i in range(0, len(encoded), args.batch)]

    def gpu_pass() -> None:
        for batch in batches:
            decode_jpeg(batch, device="cuda")
        torch.cuda.synchronize()

    def cpu_pass() -> None:
        for data in encoded:
            decode_jpeg(data)

    torch.set_num_threads(1)
    figures: dict[str, object] = {
        "gpu": torch.cuda.get_device_name(),
        "images": len(files),
        "batch": args.batch,
    }
    for name, one_pass, rounds in (("gpu", gpu_pass, args.rounds), ("cpu_1_thread", cpu_pass, 2)):
        one_pass()  # warm-up: nvJPEG handles and the first allocations
        started = time.perf_counter()
        for _ in range(rounds):
            one_pass()
        figures[f"{name}_images_per_s"] = rounds * len(files) / (time.perf_counter() - started)
    print(
        f"{figures['gpu']}: {figures['gpu_images_per_s']:.0f} images/s decoded on the GPU "
        f"(batches of {args.batch}), {figures['cpu_1_thread_images_per_s']:.0f} images/s on one CPU thread"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
