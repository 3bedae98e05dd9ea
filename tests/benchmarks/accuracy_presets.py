"""Accuracy of the served pipeline for each preprocessing preset, measured by `densenet-client evaluate`.

    python -m tests.benchmarks.accuracy_presets DATASET [--model efficientnet-lite0|seeded] [--output FILE]

For each preset the real server is started with the chosen model installed by `densenet-build model`
and the preprocess model switched to that preset (the launcher's mismatch check is what a user
would get; here the mismatches are the point), then `densenet-client evaluate DATASET --json`
runs against it. The Markdown table goes to --output (docs/results/ is where the docs link).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from densenet_build.acquire.sources import AcquiredModel, acquire
from densenet_build.repository.pbtxt import update_parameters
from preprocess.config import PRESETS
from tests.support.scratch import scratch_repository
from tests.support.servers import REPO_ROOT, serving

CACHE = REPO_ROOT / ".cache" / "test-models"


def evaluate(url: str, dataset: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "densenet_client", "evaluate", str(dataset), "--json", "--url", url],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if completed.returncode not in (0, 1):
        raise SystemExit(f"evaluate failed: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout)


def measure(model: AcquiredModel, dataset: Path, presets: list[str]) -> dict[str, dict]:
    reports = {}
    for preset in presets:
        with tempfile.TemporaryDirectory(prefix="accuracy-") as workdir:
            repository = scratch_repository(
                REPO_ROOT / "model_repository", Path(workdir) / "model_repository", model
            )
            update_parameters(repository / "preprocess" / "config.pbtxt", {"preset": preset})
            with serving(repository, Path(workdir)) as triton:
                reports[preset] = evaluate(f"http://127.0.0.1:{triton.options.http_port}", dataset)
        print(f"{preset}: top-1 {reports[preset]['top1']['rate']:.1%}", file=sys.stderr, flush=True)
    return reports


def _cell(rate: dict) -> str:
    low, high = rate["ci95"]
    return f"{rate['rate']:.1%} ({low:.1%} – {high:.1%})"


def markdown(model: AcquiredModel, dataset_name: str, reports: dict[str, dict]) -> str:
    lines = [
        f"Model: {model.weights}; trained with preprocessing `{model.preprocessing}`.",
        f"Data: {dataset_name}. Command: `python -m tests.benchmarks.accuracy_presets`.",
        "",
        "| preprocess preset | top-1 (95 % CI) | top-5 (95 % CI) | images |",
        "|---|---|---|---|",
    ]
    for preset, report in reports.items():
        mark = " (the weights' own)" if preset == model.preprocessing else ""
        lines.append(
            f"| `{preset}`{mark} | {_cell(report['top1'])} | {_cell(report['top5'])} | {report['images']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path, help="a labelled folder or CSV (see densenet-client evaluate)")
    parser.add_argument("--model", choices=["efficientnet-lite0", "seeded"], default="efficientnet-lite0")
    parser.add_argument("--presets", nargs="+", choices=sorted(PRESETS), default=list(PRESETS))
    parser.add_argument("--name", help="how the table names the data (default: the folder's name)")
    parser.add_argument("--output", type=Path, help="write the Markdown table here too")
    args = parser.parse_args()
    model = acquire(args.model, CACHE)
    table = markdown(model, args.name or args.dataset.name, measure(model, args.dataset, args.presets))
    print(table)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
