#!/usr/bin/env bash
# A perf_analyzer for this machine, to test the GPU benchmark recipe against the embedded CPU
# server. On GPU hosts use the one in NVIDIA's SDK image instead (docs/benchmarks.md).
#
# perf_analyzer is no longer on PyPI; tritonclient 2.40.0 is the last wheel that ships the binary.
# It links libcudart (from NVIDIA's CUDA runtime wheel; no GPU is needed to load it) and libb64
# (Debian package libb64-0d, installed here as root). Usage: install-perf-analyzer.sh DEST [PYTHON]
# `make perf-analyzer` and `make test` call it; where DEST already has a working one it does nothing.
set -euo pipefail
# shellcheck source=tests/tools/apt.sh
source "$(dirname "$0")/apt.sh"
dest=${1:?usage: install-perf-analyzer.sh DEST [PYTHON]}
python=${2:-python3}
if ! ldconfig -p | grep -q 'libb64\.so\.0d'; then
    apt_install "libb64-0d>=1.2-5+b1" || { warn "perf_analyzer needs libb64: apt-get install libb64-0d"; exit 1; }
fi
if "$dest/bin/perf_analyzer" --version >/dev/null 2>&1; then
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" \
    tritonclient==2.40.0 nvidia-cuda-runtime-cu12==12.4.127
mkdir -p "$dest/bin" "$dest/lib"
"$python" - "$work" "$dest" <<'PY'
import sys, zipfile
from pathlib import Path

work, dest = Path(sys.argv[1]), Path(sys.argv[2])
with zipfile.ZipFile(next(work.glob("tritonclient-2.40.0-*.whl"))) as wheel:
    (dest / "lib" / "perf_analyzer").write_bytes(wheel.read("tritonclient-2.40.0.data/data/bin/perf_analyzer"))
with zipfile.ZipFile(next(work.glob("nvidia_cuda_runtime_cu12-*.whl"))) as wheel:
    (dest / "lib" / "libcudart.so.12").write_bytes(wheel.read("nvidia/cuda_runtime/lib/libcudart.so.12"))
PY
chmod +x "$dest/lib/perf_analyzer"
cat > "$dest/bin/perf_analyzer" <<'SH'
#!/bin/sh
lib="$(dirname "$(readlink -f "$0")")/../lib"
LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$lib/perf_analyzer" "$@"
SH
chmod +x "$dest/bin/perf_analyzer"
"$dest/bin/perf_analyzer" --version >/dev/null  # fails here if a library is missing
echo "perf_analyzer installed: $dest/bin/perf_analyzer"
