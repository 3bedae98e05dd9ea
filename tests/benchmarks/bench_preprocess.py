"""Preprocessing benchmark: `make bench-preprocess` (or `python -m tests.benchmarks.bench_preprocess --help`).

Prints, for a 500x375, a 1920x1080 and a 4032x3024 JPEG and a 500x375 PNG: ms per image for
Pillow decode-only, for the decode floor (libjpeg-turbo at the DCT scale the fast path picks and
nothing else: entropy decoding cannot be scaled, so no libjpeg-based preprocessing gets below it),
for a naive pipeline (decode + convert + resize + float normalize, as Triton's
image_client does), for our exact path (resampling_mode exact: what the default did before the
fast path) and for the default fast path; images/s for a batch of 32 with 1 and 2 decode threads;
and how fast and how cheaply a decompression bomb is rejected.

Capacity on a corpus (`--corpus DIR`, e.g. the ILSVRC sample images; default: 100 photographs
from `densenet-build samples`): images per CPU-second (what one core preprocesses) and images/s
with 1 and 2 threads, for the Python fast path and for the DALI pipeline of
preprocess/configs/dali.pbtxt on DALI's CPU operators, in batches of 32.

Every method is timed round by round, interleaved, so a shared machine's noise hits all alike;
`--runs N` repeats the whole measurement and prints each ratio's median and range. Absolute times
depend on the machine.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import simplejpeg
from PIL import Image

from densenet_build.images.samples import write_samples
from preprocess import ImageError, PreprocessConfig, Preprocessor, ResamplingMode, preprocess_one
from preprocess.decode import dct_scale
from preprocess.transform import draft_size
from tests.support.imagefactory import encode, jpeg_bomb, photo, png_bomb, sized_jpeg

IMAGES = (("500x375", "JPEG"), ("1920x1080", "JPEG"), ("4032x3024", "JPEG"), ("500x375", "PNG"))
# Full preprocessing over the decode floor, per JPEG size: entropy decoding cannot be scaled, so
# targets are relative to libjpeg-turbo alone at the DCT scale the fast path picks.
FAST_OVER_FLOOR = {"500x375 JPEG": 2.0, "1920x1080 JPEG": 1.25, "4032x3024 JPEG": 1.25}
TARGETS = {
    **{f"{name}: fast/floor": target for name, target in FAST_OVER_FLOOR.items()},
    "500x375 PNG: fast/exact": 1.0,  # a PNG no slower than before the fast path
    "2 threads/1 thread (worst size)": 1.8,  # batch of 32: 2 threads >= 1.8x 1 thread at every size
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


def decode_floor(data: bytes, size: tuple[int, int], config: PreprocessConfig) -> Callable[[], object]:
    """The fast path's libjpeg-turbo call alone: no checks, no resize, no normalization."""
    scale = dct_scale(size, draft_size(config))
    width, height = -(-size[0] // scale), -(-size[1] // scale)
    return lambda: simplejpeg.decode_jpeg(data, colorspace="RGB", min_width=width, min_height=height)


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


def image_bytes(size: str, fmt: str) -> bytes:
    width, height = (int(v) for v in size.split("x"))
    if fmt == "PNG":
        return encode(photo("coffee.png").resize((width, height)), "PNG")
    return sized_jpeg(width, height)


def measure(args: argparse.Namespace) -> dict[str, object]:
    fast = Preprocessor(PreprocessConfig(decode_threads=1))
    exact = Preprocessor(PreprocessConfig(decode_threads=1, resampling_mode=ResamplingMode.EXACT))
    threaded = Preprocessor(PreprocessConfig(decode_threads=2))
    figures: dict[str, object] = bench_bombs(fast)
    rows = []
    for size, fmt in IMAGES:
        data = image_bytes(size, fmt)
        width, height = (int(v) for v in size.split("x"))
        repeat = max(3, args.repeat // (1 + width * height // 2_000_000))
        floor = decode_floor(data, (width, height), fast.config) if fmt == "JPEG" else lambda: None
        decode_s, floor_s, naive_s, exact_s, fast_s = timed(
            [
                lambda d=data: decode_only(d),
                floor,
                lambda d=data: naive(d),
                lambda d=data: preprocess_one(exact, d),
                lambda d=data: preprocess_one(fast, d),
            ],
            repeat,
        )
        batch = [data] * 32
        batch1_s, batch2_s = timed(
            [lambda b=batch: fast.process(b).results, lambda b=batch: threaded.process(b).results],
            max(3, repeat // 4),
            warmup=1,
        )
        rows.append(
            {
                "image": f"{size} {fmt}",
                "bytes": len(data),
                "decode_only_ms": decode_s * 1000,
                "floor_over_decode": floor_s / decode_s if fmt == "JPEG" else None,
                "naive_ms": naive_s * 1000,
                "exact_ms": exact_s * 1000,
                "fast_ms": fast_s * 1000,
                "fast_over_decode": fast_s / decode_s,
                "fast_over_floor": fast_s / floor_s if fmt == "JPEG" else None,
                "fast_over_exact": fast_s / exact_s,
                "batch32_1thread_ips": 32 / batch1_s,
                "batch32_2threads_ips": 32 / batch2_s,
                "threads_2_over_1": batch1_s / batch2_s,
            }
        )
    for preprocessor in (fast, exact, threaded):
        preprocessor.close()
    figures["images"] = rows
    by_name = {r["image"]: r for r in rows}
    checks = {f"{name}: fast/floor": by_name[name]["fast_over_floor"] for name in FAST_OVER_FLOOR}
    checks["500x375 PNG: fast/exact"] = by_name["500x375 PNG"]["fast_over_exact"]
    checks["2 threads/1 thread (worst size)"] = min(r["threads_2_over_1"] for r in rows)
    checks["bomb_ms"] = figures["bomb_ms"]
    figures["checks"] = checks
    figures["corpus"] = bench_corpus(corpus_images(args.corpus), max(2, args.repeat // 5))
    return figures


def corpus_images(folder: Path | None) -> list[bytes]:
    extensions = {".jpg", ".jpeg", ".png"}
    if folder is not None:
        return [p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix.lower() in extensions]
    with tempfile.TemporaryDirectory() as scratch:
        return [p.read_bytes() for p in write_samples(scratch, 100, seed=0)]


def bench_corpus(images: list[bytes], rounds: int) -> dict[str, object]:
    """Images per CPU-second and per second, 1 and 2 threads, Python fast path and DALI CPU twin."""
    from preprocess.dali import DaliPreprocessor

    engines: dict[str, Callable[[Sequence[bytes]], list]] = {}
    closers = []
    for threads in (1, 2):
        config = PreprocessConfig(decode_threads=threads)
        python = Preprocessor(config)
        closers.append(python.close)
        dali = DaliPreprocessor(config, max_batch_size=32)
        engines[f"python {threads}"] = lambda rows, python=python: python.process(rows).results
        engines[f"dali {threads}"] = lambda rows, dali=dali: dali.process(rows).results
        if threads == 1:  # what stays on the CPU when DALI decodes on a GPU: the checks
            engines["dali checks 1"] = lambda rows, dali=dali: [checked for checked, _ in dali.check(rows)]
    batches = [images[i : i + 32] for i in range(0, len(images), 32)]
    wall = dict.fromkeys(engines, 0.0)
    cpu = dict.fromkeys(engines, 0.0)
    for engine in engines.values():  # warm-up: first-use costs out of the figures
        engine(batches[0])
    for _ in range(rounds):
        for batch in batches:
            for name, engine in engines.items():
                wall_started, cpu_started = time.perf_counter(), time.process_time()
                results = engine(batch)
                wall[name] += time.perf_counter() - wall_started
                cpu[name] += time.process_time() - cpu_started
                if any(isinstance(r, ImageError) for r in results):
                    raise SystemExit(f"{name} refused an image of the corpus")
    for close in closers:
        close()
    count = rounds * len(images)
    figures: dict[str, object] = {"images": len(images)}
    for name in engines:
        figures[f"{name} thread ips"] = count / wall[name]
        figures[f"{name} thread ips per cpu"] = count / cpu[name]
    for engine in ("python", "dali"):
        figures[f"{engine} 2 threads/1 thread"] = wall[f"{engine} 1"] / wall[f"{engine} 2"]
    figures["checks ips per cpu"] = figures.pop("dali checks 1 thread ips per cpu")
    figures.pop("dali checks 1 thread ips")
    return figures


def print_run(figures: dict[str, object]) -> None:
    print(
        f"{'image':>14} {'bytes':>9} {'decode ms':>10} {'floor/decode':>13} {'naive ms':>9} "
        f"{'exact ms':>9} {'fast ms':>8} "
        f"{'fast/decode':>12} {'fast/floor':>11} {'fast/exact':>11} {'b32 1thr img/s':>15} "
        f"{'b32 2thr img/s':>15} "
        f"{'2thr/1thr':>10}"
    )
    for r in figures["images"]:  # type: ignore[union-attr]
        floor = "-" if r["floor_over_decode"] is None else f"{r['floor_over_decode']:.2f}"
        over_floor = "-" if r["fast_over_floor"] is None else f"{r['fast_over_floor']:.2f}"
        print(
            f"{r['image']:>14} {r['bytes']:>9} {r['decode_only_ms']:>10.2f} {floor:>13} "
            f"{r['naive_ms']:>9.2f} "
            f"{r['exact_ms']:>9.2f} {r['fast_ms']:>8.2f} {r['fast_over_decode']:>12.2f} {over_floor:>11} "
            f"{r['fast_over_exact']:>11.2f} {r['batch32_1thread_ips']:>15.1f} "
            f"{r['batch32_2threads_ips']:>15.1f} {r['threads_2_over_1']:>10.2f}"
        )
    print(
        f"bomb (60000x60000 PNG and JPEG) rejected in {figures['bomb_ms']:.2f} ms (worst), "
        f"max RSS grew {figures['bomb_max_rss_growth_mb']:.1f} MB"
    )
    corpus = figures["corpus"]
    print(f"corpus of {corpus['images']} images, batches of 32:")  # type: ignore[index]
    print(
        f"{'engine':>8} {'img/s per CPU-second':>21} {'img/s 1 thread':>15} {'img/s 2 threads':>16} ", end=""
    )
    print(f"{'2thr/1thr':>10}")
    for engine in ("python", "dali"):
        print(
            f"{engine:>8} {corpus[f'{engine} 1 thread ips per cpu']:>21.1f} "  # type: ignore[index]
            f"{corpus[f'{engine} 1 thread ips']:>15.1f} {corpus[f'{engine} 2 thread ips']:>16.1f} "  # type: ignore[index]
            f"{corpus[f'{engine} 2 threads/1 thread']:>10.2f}"  # type: ignore[index]
        )
    print(
        f"  checks {corpus['checks ips per cpu']:>21.1f}  (the CPU's share when DALI decodes on a GPU: "  # type: ignore[index]
        "header checks, JPEG marker scan, resize boxes)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per measurement (median)")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole measurement (median, range)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--corpus",
        type=Path,
        help="a folder of JPEG/PNG images for the capacity figures (default: 100 samples)",
    )
    args = parser.parse_args(argv)

    runs = []
    for number in range(args.runs):
        if args.runs > 1:
            print(f"run {number + 1} of {args.runs}")
        runs.append(measure(args))
        print_run(runs[-1])
    summary = {}
    for name, target in TARGETS.items():
        values = [run["checks"][name] for run in runs]  # type: ignore[index]
        value = statistics.median(values)
        at_least = name.startswith("2 threads")
        summary[name] = {
            "median": value,
            "min": min(values),
            "max": max(values),
            "target": target,
            "met": value >= target if at_least else value <= target,
        }
        spread = (
            f" (range {min(values):.2f}-{max(values):.2f} over {len(values)} runs)" if len(values) > 1 else ""
        )
        verdict = "met" if summary[name]["met"] else "MISSED"
        print(f"target {name}: {value:.2f}{spread} {'>=' if at_least else '<='} {target}: {verdict}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "targets": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
