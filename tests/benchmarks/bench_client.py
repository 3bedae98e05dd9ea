"""``python -m tests.benchmarks.bench_client``: what the SDK costs over a bare ``tritonclient`` call.

Prints, per protocol:
  * per-call latency at concurrency 1, SDK ``classify`` against the same request made with bare
    tritonclient (input built, outputs read), interleaved call by call so drift hits both alike
    (target: SDK overhead under 10%), and the client-side work of each without the network;
  * throughput of ``classify_many`` against the same number of bare calls on as many threads, and
    against bare requests carrying ``concurrency`` images each ([B, N] rows) for comparison.

Without --url it starts its own server on free ports: a scratch copy of ./model_repository with the
seeded DenseNet (as the end-to-end tests use), from the repository root. Figures, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from densenet_client.client import DenseNetClient
from densenet_client.endpoint import parse_endpoint
from densenet_client.images import image_rows, load_image
from densenet_client.predictions import OUTPUTS, predictions_from
from densenet_client.transport import Timeouts, transport

MODEL = "densenet_ensemble"


class Bare:
    """The request a user would write with tritonclient alone: one image, the three outputs read."""

    def __init__(self, url: str) -> None:
        self.transport = transport(parse_endpoint(url), Timeouts(request_s=60))
        self._local = threading.local()

    def client(self) -> Any:
        if getattr(self._local, "client", None) is None:
            self._local.client = self.transport.new_client()
        return self._local.client

    def request(self, images: list[bytes]) -> Any:
        module = self.transport.module
        rows = image_rows(images)
        tensor = module.InferInput("IMAGE", list(rows.shape), "UINT8")
        tensor.set_data_from_numpy(rows)
        outputs = [module.InferRequestedOutput(name) for name in OUTPUTS]
        return self.client().infer(MODEL, [tensor], outputs=outputs, **self.transport.infer_kwargs)

    def __call__(self, images: list[bytes]) -> list[Any]:
        result = self.request(images)
        return [result.as_numpy(name) for name in OUTPUTS]


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def latency(sdk: DenseNetClient, bare: Bare, image: bytes, calls: int) -> dict[str, list[float]]:
    """Seconds per call for each, alternating which goes first."""
    times: dict[str, list[float]] = {"bare": [], "sdk": []}
    for index in range(calls):
        pair = [("bare", lambda: bare([image])), ("sdk", lambda: sdk.classify(image))]
        for name, call in pair if index % 2 == 0 else reversed(pair):
            times[name].append(_timed(call))
    return times


def client_side_work(
    sdk: DenseNetClient, bare: Bare, image: bytes, repeats: int = 2000
) -> tuple[float, float]:
    """Seconds per call spent in the client around the network: (bare, SDK). One real answer is reused."""
    result = bare.request([image])
    transport = sdk._transport

    def bare_work() -> None:
        module = bare.transport.module
        rows = image_rows([image])
        module.InferInput("IMAGE", list(rows.shape), "UINT8").set_data_from_numpy(rows)
        [module.InferRequestedOutput(name) for name in OUTPUTS]
        [result.as_numpy(name) for name in OUTPUTS]

    def sdk_work() -> None:
        transport.inputs(image_rows([load_image(image)]))
        transport.outputs()
        predictions_from(result)

    return (
        _timed(lambda: [bare_work() for _ in range(repeats)]) / repeats,
        _timed(lambda: [sdk_work() for _ in range(repeats)]) / repeats,
    )


def throughput(
    sdk: DenseNetClient, bare: Bare, image: bytes, count: int, concurrency: int, rounds: int
) -> dict[str, float]:
    """Images per second (median of ``rounds``, the three taking turns): classify_many; bare calls on
    ``concurrency`` threads; bare requests of ``concurrency`` images each ([B, N] rows), one at a time."""
    images = [image] * count
    batches = [images[i : i + concurrency] for i in range(0, count, concurrency)]
    with ThreadPoolExecutor(concurrency) as pool:
        runs = {
            "bare threads": lambda: list(pool.map(lambda data: bare([data]), images)),
            "classify_many": lambda: list(sdk.classify_many(images, concurrency=concurrency)),
            "bare batched": lambda: [bare(batch) for batch in batches],
        }
        rates: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(rounds):
            for name, call in runs.items():
                rates[name].append(count / _timed(call))
    return {name: statistics.median(values) for name, values in rates.items()}


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def run(urls: dict[str, str], image: bytes, calls: int, concurrency: int, warmup: int, rounds: int) -> bool:
    """Measure and print; True when the SDK's overhead is under 10% at concurrency 1 on every protocol."""
    with ExitStack() as stack:
        pairs = {
            p: (stack.enter_context(DenseNetClient(u, request_timeout_s=60)), Bare(u))
            for p, u in urls.items()
        }
        met = True
        print(f"\nper-call latency, concurrency 1, {calls} calls each, interleaved")
        print(_row("protocol", "bare median", "SDK median", "overhead", "bare mean", "SDK mean"))
        for protocol, (sdk, bare) in pairs.items():
            latency(sdk, bare, image, warmup)
            times = latency(sdk, bare, image, calls)
            bare_median, sdk_median = statistics.median(times["bare"]), statistics.median(times["sdk"])
            overhead = (sdk_median - bare_median) / bare_median
            met &= overhead < 0.10
            means = (statistics.fmean(times["bare"]), statistics.fmean(times["sdk"]))
            print(_row(protocol, _ms(bare_median), _ms(sdk_median), f"{overhead:+.1%}", *map(_ms, means)))

        print("\nclient-side work per call without the network (input built, outputs read)")
        print(_row("protocol", "bare", "SDK", "difference"))
        for protocol, (sdk, bare) in pairs.items():
            bare_s, sdk_s = client_side_work(sdk, bare, image)
            print(_row(protocol, _us(bare_s), _us(sdk_s), _us(sdk_s - bare_s)))

        print(f"\nthroughput, {calls} images, concurrency {concurrency}: images/s, median of {rounds} rounds")
        print(_row("protocol", "bare threads", "classify_many", "ratio", f"bare [{concurrency},N]"))
        for protocol, (sdk, bare) in pairs.items():
            rates = throughput(sdk, bare, image, calls, concurrency, rounds)
            ratio = rates["classify_many"] / rates["bare threads"]
            cells = (f"{rates[name]:.1f}" for name in ("bare threads", "classify_many"))
            print(_row(protocol, *cells, f"{ratio:.2f}x", f"{rates['bare batched']:.1f}"))
    print(f"\nSDK overhead at concurrency 1 under 10% on every protocol: {'yes' if met else 'NO'}")
    return met


def _row(first: str, *cells: str) -> str:
    return f"{first:<9}" + "".join(f"{cell:>15}" for cell in cells)


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us"


def default_image() -> tuple[bytes, str]:
    """A real photograph: chelsea (a tabby cat, 451x300) from scikit-image's wheel, as JPEG quality 90."""
    import io

    import skimage
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(Path(skimage.__file__).parent / "data" / "chelsea.png").convert("RGB").save(
        buffer, "JPEG", quality=90
    )
    return buffer.getvalue(), "chelsea.png as JPEG q90 (451x300)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.bench_client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", action="append", help="a running server (repeat for http:// and grpc://)")
    parser.add_argument(
        "--protocol", choices=("http", "grpc", "both"), default="both", help="for the own server"
    )
    parser.add_argument("--calls", type=int, default=100, help="calls per measurement (default 100)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (default 3)")
    parser.add_argument("--image", type=Path, help="default: a photo from scikit-image's wheel")
    parser.add_argument("--model-repository", type=Path, default=Path("model_repository"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/test-models"), help="for the seeded model")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.image:
        image, what = load_image(args.image), f"{args.image} ({args.image.stat().st_size} bytes)"
    else:
        image, what = default_image()
        what += f", {len(image)} bytes"
    with ExitStack() as stack:
        if args.url:
            urls = {parse_endpoint(url).protocol: url for url in args.url}
            where = "given"
        else:
            from tests.support.scratch import start_scratch_server

            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="densenet-bench-")))
            print("starting a server (seeded DenseNet-121, CPU config) on free ports...", file=sys.stderr)
            server = start_scratch_server(args.model_repository, workdir, args.cache)
            stack.callback(server.stop)
            options = server.options
            urls = {
                "http": f"http://127.0.0.1:{options.http_port}",
                "grpc": f"grpc://127.0.0.1:{options.grpc_port}",
            }
            if args.protocol != "both":
                urls = {args.protocol: urls[args.protocol]}
            where = "started by this command: seeded DenseNet-121, CPU config"
        print(f"server: {', '.join(urls.values())} ({where})")
        print(f"image: {what}")
        met = run(urls, image, args.calls, args.concurrency, args.warmup, args.rounds)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
