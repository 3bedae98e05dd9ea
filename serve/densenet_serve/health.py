"""A health check that runs a real inference through ``densenet_ensemble``.

Triton's ``/v2/health/ready`` and ``/v2/models/<m>/ready`` stay 200 when a python-backend stub
has died (checked on the pinned 2.51 server): only an inference shows it. The probe sends a small
JPEG as the raw-binary request and checks that labels come back.

A server whose queues are full answers 503 "Exceeds maximum queue size": it is up and working, only
busy, so that counts as healthy (``busy`` says so); restarting it would only drop its work.

``python -m densenet_serve.health --url 127.0.0.1:8000`` exits 0 when healthy (busy included), 1
otherwise (usable as a Docker/Kubernetes exec probe).
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass

from densenet_contract.names import ENSEMBLE, LABELS


@functools.lru_cache(maxsize=1)
def probe_image() -> bytes:
    """A 64x64 JPEG with some structure, made once (no file to ship)."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:64, 0:64]
    pixels = np.stack([x * 4, y * 4, (x + y) * 2], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


BUSY = "Exceeds maximum queue size"  # Triton's refusal when a model's queue is full


@dataclass(frozen=True)
class Health:
    healthy: bool
    detail: str
    busy: bool = False  # healthy, but its queues were full: the probe itself was refused


def check(url: str, timeout_s: float = 10.0) -> Health:
    """One inference through the ensemble at ``url`` (``host:port`` or ``http://host:port``)."""
    base = url if url.startswith(("http://", "https://")) else f"http://{url}"
    request = urllib.request.Request(
        f"{base}/v2/models/{ENSEMBLE}/infer",
        data=probe_image(),
        headers={"Inference-Header-Content-Length": "0", "Content-Type": "application/octet-stream"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read()
            header_length = int(response.headers.get("Inference-Header-Content-Length", len(body)))
    except urllib.error.HTTPError as error:
        text = _error_text(error)
        if error.code == 503 and BUSY in text:
            return Health(True, f"busy (its queues are full): {text}", busy=True)
        return Health(False, f"HTTP {error.code}: {text}")
    except (urllib.error.URLError, OSError) as error:
        return Health(False, f"no answer from {base}: {getattr(error, 'reason', error)}")
    try:
        outputs = {o["name"]: o["shape"] for o in json.loads(body[:header_length])["outputs"]}
    except (ValueError, KeyError, TypeError):
        return Health(False, "the answer is not a KServe V2 inference response")
    if LABELS not in outputs or outputs[LABELS][0] != 1:
        return Health(False, f"unexpected outputs {outputs}")
    return Health(True, f"inference through {ENSEMBLE} succeeded")


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        return json.loads(error.read()).get("error", "")
    except (ValueError, OSError):
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="densenet-health",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", default="127.0.0.1:8000", help="the server's HTTP address")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    args = parser.parse_args(argv)
    health = check(args.url, args.timeout)
    print(("healthy: " if health.healthy else "UNHEALTHY: ") + health.detail)
    return 0 if health.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
