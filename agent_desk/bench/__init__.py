"""`agent-desk bench NAME`: each benchmark prints one JSON object per figure.

Figures are medians and 95th percentiles over repeated runs; never timed unit tests.
"""

from __future__ import annotations

import importlib
import json
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BenchOptions:
    db_url: str | None  # a PostgreSQL server URL, or None for a temporary SQLite file
    repeat: int  # 0: the benchmark's own default
    customers: int
    sessions: int


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def figure(
    bench: str, name: str, samples: Sequence[float], unit: str = "ms", **extra: Any
) -> dict[str, Any]:
    if not samples:
        raise ValueError(f"{bench}/{name}: no samples")
    return {
        "bench": bench,
        "figure": name,
        "unit": unit,
        "n": len(samples),
        "p50": round(statistics.median(samples), 3),
        "p95": round(percentile(samples, 95), 3),
        "max": round(max(samples), 3),
        **extra,
    }


BenchFn = Callable[[BenchOptions], Iterator[dict[str, Any]]]

# Modules are imported only when their benchmark runs, so one bench never pays for another.
BENCHES: dict[str, str] = {
    "startup": "agent_desk.bench.startup",
    "seed": "agent_desk.bench.seed",
    "screen-pop": "agent_desk.bench.screen_pop",
    "coaching": "agent_desk.bench.coaching",
    "complaints": "agent_desk.bench.complaints",
    "replay": "agent_desk.bench.replay",
}


def run(name: str, options: BenchOptions, emit: Callable[[str], None] = print) -> int:
    if name not in BENCHES:
        raise KeyError(f"unknown benchmark {name!r}: choose from {', '.join(sorted(BENCHES))}")
    bench_fn: BenchFn = importlib.import_module(BENCHES[name]).run
    count = 0
    for result in bench_fn(options):
        emit(json.dumps(result, ensure_ascii=False))
        count += 1
    return count
