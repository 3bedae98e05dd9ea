"""Preprocessing benchmark: `make bench-preprocess` (or `python tests/benchmarks/bench_preprocess.py --help`).

Prints, for a 500x375, a 1920x1080 and a 4032x3024 JPEG: ms per image for Pillow decode-only,
for a naive pipeline (decode + convert + resize + float normalize, as Triton's image_client does)
and for our full preprocessing; images/s for a batch of 32 with 1 and 2 decode threads; and how
fast and how cheaply a decompression bomb is rejected. Ratios are measured in one run; absolute
times depend on the machine.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: imagefactory

from imagefactory import jpeg_bomb, png_bomb, sized_jpeg

from preprocess import ImageError, PreprocessConfig, Preprocessor

SIZES = ((500, 375), (1920, 1080), (4032, 3024))
TARGETS = {
    "small_full_over_decode": 2.0,  # 500x375: full preprocessing <= 2.0x decode-only
    "large_full_over_naive": 0.4,  # 4032x3024: full preprocessing <= 0.4x the naive pipeline
    "batch_2_over_1_threads": 1.7,  # batch of 32: 2 threads >= 1.7x the images/s of 1 thread
    "bomb_ms": 50.0,  # a bomb is rejected in under 50 ms
}


def timed(functions: list[Callable[[], object]], repeat: int, warmup: int = 2) -> list[float]:
    """Median seconds per call of each function, interleaved round by round so that the machine's
    drift (shared hosts, frequency changes) affects every function alike and ratios stay fair."""
    for _ in range(warmup):
        for function in functions:
            function()
    samples: list[list[float]] = [[] for _ in functions]
    for _ in range(repeat):
        for function, times in zip(functions, samples, strict=True):
            started = time.perf_counter()
            function()
            times.append(time.perf_counter() - started)
    return [statistics.median(times) for times in samples]


def decode_only(data: bytes) -> None:
    Image.open(io.BytesIO(data)).load()


def naive(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data)).convert("RGB").resize((224, 224), Image.BILINEAR)
    return np.transpose(np.asarray(image).astype(np.float32) / 127.5 - 1, (2, 0, 1))


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_bombs(preprocessor: Preprocessor) -> dict[str, float]:
    """Run first, before anything large is allocated, so a memory spike would show in max RSS."""
    rss_before = max_rss_mb()
    worst_ms = 0.0
    for bomb in (png_bomb(), jpeg_bomb()):
        started = time.perf_counter()
        try:
            preprocessor.decode(bomb)
            raise SystemExit("a bomb was decoded instead of rejected")
        except ImageError:
            pass
        worst_ms = max(worst_ms, (time.perf_counter() - started) * 1000)
    return {"bomb_ms": worst_ms, "bomb_max_rss_growth_mb": max_rss_mb() - rss_before}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per measurement (median)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    single = Preprocessor(PreprocessConfig(decode_threads=1))
    threaded = Preprocessor(PreprocessConfig(decode_threads=2))
    figures: dict[str, object] = bench_bombs(single)
    rows = []
    for width, height in SIZES:
        data = sized_jpeg(width, height)
        repeat = max(3, args.repeat // (1 + width * height // 2_000_000))
        decode_s, naive_s, full_s = timed(
            [lambda d=data: decode_only(d), lambda d=data: naive(d), lambda d=data: single(d)], repeat
        )
        batch = [data] * 32
        batch1_s, batch2_s = timed(
            [lambda b=batch: single.process_batch(b), lambda b=batch: threaded.process_batch(b)],
            max(3, repeat // 4),
            warmup=1,
        )
        batch1, batch2 = 32 / batch1_s, 32 / batch2_s
        rows.append(
            {
                "image": f"{width}x{height}",
                "bytes": len(data),
                "decode_only_ms": decode_s * 1000,
                "naive_ms": naive_s * 1000,
                "full_ms": full_s * 1000,
                "full_over_decode": full_s / decode_s,
                "full_over_naive": full_s / naive_s,
                "batch32_1thread_ips": batch1,
                "batch32_2threads_ips": batch2,
                "threads_2_over_1": batch2 / batch1,
            }
        )
    single.close()
    threaded.close()
    figures["images"] = rows
    checks = {
        "small_full_over_decode": rows[0]["full_over_decode"],
        "large_full_over_naive": rows[-1]["full_over_naive"],
        "batch_2_over_1_threads": max(r["threads_2_over_1"] for r in rows),
        "bomb_ms": figures["bomb_ms"],
    }
    figures["targets"] = {
        name: {
            "value": value,
            "target": TARGETS[name],
            "met": value >= TARGETS[name] if name.startswith("batch") else value <= TARGETS[name],
        }
        for name, value in checks.items()
    }

    print(
        f"{'image':>10} {'bytes':>9} {'decode ms':>10} {'naive ms':>9} {'ours ms':>8} {'ours/decode':>12} "
        f"{'ours/naive':>11} {'b32 1thr img/s':>15} {'b32 2thr img/s':>15} {'2thr/1thr':>10}"
    )
    for r in rows:
        print(
            f"{r['image']:>10} {r['bytes']:>9} {r['decode_only_ms']:>10.2f} {r['naive_ms']:>9.2f} "
            f"{r['full_ms']:>8.2f} "
            f"{r['full_over_decode']:>12.2f} {r['full_over_naive']:>11.2f} {r['batch32_1thread_ips']:>15.1f} "
            f"{r['batch32_2threads_ips']:>15.1f} {r['threads_2_over_1']:>10.2f}"
        )
    print(
        f"bomb (60000x60000 PNG and JPEG) rejected in {figures['bomb_ms']:.2f} ms (worst), "
        f"max RSS grew {figures['bomb_max_rss_growth_mb']:.1f} MB"
    )
    for name, target in figures["targets"].items():  # type: ignore[union-attr]
        relation = ">=" if name.startswith("batch") else "<="
        verdict = "met" if target["met"] else "MISSED"
        print(f"target {name}: {target['value']:.2f} {relation} {target['target']}: {verdict}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
