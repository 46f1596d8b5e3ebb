"""`agent-desk bench seed`: how long loading the demo data takes on a fresh database.

Each run gets its own scratch database (a temporary SQLite file, or a database created and
dropped on the given PostgreSQL server), migrated first; only `seed_demo` is timed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import make_url

from agent_desk.bench import BenchOptions, figure
from agent_desk.store.db import make_engine
from agent_desk.store.demo import seed_demo
from agent_desk.store.migrations import upgrade
from agent_desk.store.scratch import scratch_database

EVENTS_PER_SESSION = 10


def run(options: BenchOptions) -> Iterator[dict[str, Any]]:
    backend = "sqlite" if options.db_url is None else make_url(options.db_url).get_backend_name()
    samples_ms: list[float] = []
    rows_per_s: list[float] = []
    for _ in range(max(options.repeat, 1)):
        elapsed_s, rows = _one_run(options)
        samples_ms.append(elapsed_s * 1000)
        rows_per_s.append(rows / elapsed_s if elapsed_s > 0 else 0.0)
    events = options.sessions * EVENTS_PER_SESSION
    yield figure(
        "seed",
        f"seed-demo {options.customers} customers / {events} events ({backend})",
        samples_ms,
        unit="ms",
        rows_per_s=round(sorted(rows_per_s)[len(rows_per_s) // 2]),
    )


def _one_run(options: BenchOptions) -> tuple[float, int]:
    """Seconds spent in seed_demo, and the rows it wrote."""
    with scratch_database(options.db_url, "bench") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            started = time.perf_counter()
            report = seed_demo(
                engine,
                customers=options.customers,
                sessions=options.sessions,
                events_per_session=EVENTS_PER_SESSION,
            )
            elapsed = time.perf_counter() - started
        finally:
            # Disposed before the scratch database is dropped, or DROP waits on our pool.
            engine.dispose()
    return elapsed, report.rows
