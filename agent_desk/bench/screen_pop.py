"""`bench screen-pop`: from the ringing event reaching the desk (the CTI bridge hands it
over) to the customer panel and the first page of history painted, in a real desk window
(offscreen), over a database seeded with `--customers` customers and `--sessions` sessions
of ten events each. Also an unknown number, and the desk's memory over many calls."""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent_desk.bench import BenchOptions, figure
from agent_desk.store.db import make_engine
from agent_desk.store.demo import seed_demo
from agent_desk.store.migrations import upgrade
from agent_desk.store.models import CustomerPhone
from agent_desk.store.scratch import scratch_database

DEFAULT_CALLS = 1000
WARM_UP_CALLS = 50


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _numbers(url: Any, count: int) -> list[str]:
    engine = make_engine(url)
    with Session(engine) as session:
        total = session.scalar(select(func.count(CustomerPhone.id))) or 0
        rng = random.Random(4711)
        offsets = sorted(rng.randrange(total) for _ in range(count))
        numbers = [
            session.scalar(select(CustomerPhone.e164).order_by(CustomerPhone.id).offset(o).limit(1))
            or ""
            for o in offsets
        ]
    engine.dispose()
    rng.shuffle(numbers)
    return numbers


def run(options: BenchOptions) -> Iterator[dict[str, Any]]:
    calls = options.repeat or DEFAULT_CALLS
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with (
        tempfile.TemporaryDirectory(prefix="agent-desk-bench-pop-") as home,
        scratch_database(options.db_url, "screenpop") as url,
    ):
        os.environ["AGENT_DESK_HOME"] = home
        engine = make_engine(url)
        upgrade(engine)
        seed_demo(engine, customers=options.customers, sessions=options.sessions)
        engine.dispose()
        known = _numbers(url, calls + WARM_UP_CALLS)
        yield from _drive_desk(
            url.render_as_string(hide_password=False), known, calls, url.get_backend_name(), options
        )


def _drive_desk(
    db_url: str, known: list[str], calls: int, backend: str, options: BenchOptions
) -> Iterator[dict[str, Any]]:
    from agent_desk.bench.desk_driver import DeskDriver

    driver = DeskDriver(db_url)
    try:
        for number in known[:WARM_UP_CALLS]:  # caches, connection pool, first paints
            driver.call(number)
        rss_before = rss_mb()
        known_ms = [driver.call(number) for number in known[WARM_UP_CALLS:]]
        rss_after = rss_mb()
        unknown_ms = [driver.call(f"+86139{n:08d}") for n in range(min(calls, 200))]
        size = f"{options.customers:,} customers / {options.sessions * 10:,} events, {backend}"
        yield figure(
            "screen-pop", f"ring to record and history painted, known caller ({size})", known_ms
        )
        yield figure(
            "screen-pop",
            f"ring to new-customer prompt painted, unknown caller ({size})",
            unknown_ms,
        )
        yield {
            "bench": "screen-pop",
            "figure": f"desk memory over {len(known_ms)} calls ({backend})",
            "unit": "MB",
            "n": len(known_ms),
            "rss_before": round(rss_before, 1),
            "rss_after": round(rss_after, 1),
            "growth": round(rss_after - rss_before, 1),
        }
    finally:
        driver.close()
