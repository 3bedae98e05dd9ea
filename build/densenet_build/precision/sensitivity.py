"""Which layers int8 breaks: measured, not guessed, then the fewest of them kept in fp16.

1. Every layer int8 (the usual full quantization). If that reaches the target agreement, done.
2. Otherwise each weighted layer is quantized *alone* (the rest float) and its effect on the
   held-out images' logits measured: top-1 agreement, top-5 overlap, mean |Δlogit| against fp32.
   One trial per layer, the costly part; its result is cached.
3. Layers sorted most harmful first, the k most harmful are kept in fp16 and the rest int8, with
   the smallest k that reaches the target found by doubling then bisecting k (a handful of trials;
   it assumes agreement grows with k, which it does but for noise).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .agreement import Agreement
from .calibration import digest

LOGGER = logging.getLogger(__name__)
SEARCH_VERSION = "1"  # part of the cache key: bump when the search changes


@dataclass
class SearchResult:
    target: float
    layers: list[str]
    macs: dict[str, int]
    full: Agreement  # every layer int8
    ranking: list[Agreement] = field(default_factory=list)  # each layer alone in int8, most harmful first
    trials: list[Agreement] = field(default_factory=list)  # "k in fp16" rows, in the order tried
    kept: list[str] | None = None  # layers kept in fp16; None: no split reaches the target
    seconds: float = 0.0
    cached: bool = False

    def int8_mac_share(self) -> float:
        kept = set(self.layers if self.kept is None else self.kept)
        total = sum(self.macs.get(name, 0) for name in self.layers)
        int8 = sum(self.macs.get(name, 0) for name in self.layers if name not in kept)
        return int8 / total if total else 0.0

    def final(self) -> Agreement | None:
        if self.kept is None:
            return None
        if not self.kept:
            return self.full
        return next(t for t in self.trials if t.name == _trial_name(len(self.kept)))

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SearchResult:
        rows = {key: [Agreement(**row) for row in data[key]] for key in ("ranking", "trials")}
        return cls(**{**data, **rows, "full": Agreement(**data["full"]), "cached": True})


def _trial_name(kept: int) -> str:
    return f"{kept} layer(s) in fp16"


def _harm(row: Agreement) -> tuple[float, float, float]:
    return (row.top1_agreement, row.top5_overlap, -row.mean_abs_diff)


def _smallest_passing(count: int, passes: Callable[[int], bool]) -> int | None:
    """The smallest k in 1..count with ``passes(k)`` (k = 0 is known to fail); None if none does."""
    failing, trying = 0, 1
    while not passes(trying):
        if trying >= count:
            return None
        failing, trying = trying, min(2 * trying, count)
    while trying - failing > 1:
        middle = (failing + trying) // 2
        if passes(middle):
            trying = middle
        else:
            failing = middle
    return trying


def _load(path: Path | None) -> SearchResult | None:
    if path is None or not path.is_file():
        return None
    try:
        return SearchResult.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError):
        LOGGER.warning("ignoring the unreadable search cache %s", path)
        return None


def search(
    layers: Sequence[str],
    macs: Mapping[str, int],
    target: float,
    *,
    partial: Callable[[Sequence[str]], Agreement],
    alone: Callable[[str], Agreement],
    cache_key: Sequence[bytes | str] = (),
    cache_dir: str | Path | None = None,
) -> SearchResult:
    """Find the fewest, most harmful ``layers`` to keep in fp16 so ``partial(kept)`` reaches ``target``.

    ``partial(kept)``: agreement of the model with ``kept`` in fp16 and the rest int8;
    ``alone(layer)``: agreement of the model with only ``layer`` in int8.
    """
    key = digest(*cache_key, *layers, repr(target), SEARCH_VERSION)
    path = Path(cache_dir) / f"search-{key}.json" if cache_dir is not None and cache_key else None
    cached = _load(path)
    if cached is not None:
        LOGGER.info("reusing the sensitivity search in %s", path)
        return cached
    started = time.monotonic()
    result = SearchResult(target, list(layers), dict(macs), replace(partial(()), name="every layer int8"))
    if result.full.top1_agreement >= target:
        result.kept = []
    else:
        for number, layer in enumerate(layers, 1):
            result.ranking.append(replace(alone(layer), name=layer))
            LOGGER.debug("layer %d/%d %s: %s", number, len(layers), layer, result.ranking[-1])
        result.ranking.sort(key=_harm)
        order = [row.name for row in result.ranking]

        def passes(count: int) -> bool:
            row = replace(partial(order[:count]), name=_trial_name(count))
            result.trials.append(row)
            return row.top1_agreement >= target

        count = _smallest_passing(len(order), passes)
        result.kept = None if count is None else order[:count]
    result.seconds = round(time.monotonic() - started, 1)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result.to_json(), indent=1) + "\n", encoding="utf-8")
    return result


def _row(row: Agreement, extra: str = "") -> str:
    return (
        f"{row.name[:40]:<40} {row.top1_agreement:>11.1%} {row.top5_overlap:>13.1%} "
        f"{row.mean_abs_diff:>13.4f}  {extra}"
    )


def format_search(result: SearchResult, show_layers: int = 15, details: Path | None = None) -> str:
    """The sensitivity table, the search's trials and the outcome, as printed by ``variants``."""
    header = f"{'':<40} {'top-1 agree':>11} {'top-5 overlap':>13} {'mean |Δlogit|':>13}"
    lines = [
        f"int8 sensitivity search (target {result.target:.1%} top-1 agreement with fp32, held-out images)"
    ]
    lines += [header, _row(result.full, "" if result.kept == [] else "below target")]
    if result.ranking:
        total = sum(result.macs.values()) or 1
        lines.append(f"each layer alone in int8, most harmful first ({len(result.ranking)} layers):")
        for row in result.ranking[:show_layers]:
            lines.append(_row(row, f"{result.macs.get(row.name, 0) / total:.1%} of MACs"))
        if len(result.ranking) > show_layers:
            where = f" (all in {details})" if details is not None else ""
            lines.append(f"... {len(result.ranking) - show_layers} more{where}")
        lines.append("the most harmful k layers in fp16, the rest int8:")
        lines += [_row(row) for row in result.trials]
    took = "cached" if result.cached else f"{result.seconds:.0f}s"
    if result.kept is None:
        lines.append(f"no split reaches the target ({took})")
    else:
        lines.append(
            f"kept {len(result.kept)} of {len(result.layers)} weighted layers in fp16; "
            f"{result.int8_mac_share():.1%} of their multiply-accumulates run in int8 ({took})"
        )
    return "\n".join(lines)
