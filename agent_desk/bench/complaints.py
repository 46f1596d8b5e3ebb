"""`agent-desk bench complaints`: submitting complaints to the shared database.

On a scratch database (on the `--db` PostgreSQL server, or a temporary SQLite file) seeded with
`--customers` customers, each with one product:
- submit latency, one transaction each, through the desk's own engine and session factory
  (`--repeat` submits, default 1,000), then the same through `submit_or_queue`, which also
  writes the outbox first;
- aggregate throughput of 50 writer processes (each its own engine and connection, one
  complaint per transaction), from a start barrier to the last commit, with the lost and
  duplicated complaints counted in the database afterwards;
- the time the outbox takes to deliver 10,000 complaints queued while the database was away.
Realistic drafts: a quarter come from a small set of customers calling again about the same
product, so repeat detection links and escalates them.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing as mp
import random
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.bench import BenchOptions, figure
from agent_desk.core.complaints import ComplaintDraft
from agent_desk.store.complaints import submit_complaint
from agent_desk.store.db import make_engine
from agent_desk.store.migrations import upgrade
from agent_desk.store.models import Complaint
from agent_desk.store.outbox import Outbox, submit_or_queue
from agent_desk.store.scratch import scratch_database

BENCH = "complaints"
DEFAULT_SUBMITS = 1000
WARM_UP = 50
WRITERS = 50
PER_WRITER = 200
OUTBOX_ITEMS = 10_000
MAX_CUSTOMERS = 100_000
HOT_CUSTOMERS = 200  # the customers who call again: repeat faults come from them
HOT_SHARE = 0.25
# Categories weighted roughly as a call centre sees them.
CATEGORIES = (
    ("repair", 30),
    ("product_quality", 20),
    ("delivery", 15),
    ("installation", 12),
    ("billing", 10),
    ("staff_attitude", 8),
    ("other", 5),
)
TEXTS = (
    ("空调使用不到一个月就不制冷了，室外机有异响", "要求上门检修，如果修不好就换新机"),
    ("洗衣机脱水时震动很大，已经把地砖磕坏了", "尽快派师傅上门，并赔偿地砖"),
    ("约好今天上午送货，到现在还没有人联系我 😤", "今天之内必须送到"),
    ("安装师傅把墙打坏了也没有修补就走了", "派人来修补墙面并道歉"),
    ("发票金额和实际付款不一致，多收了两百元", "退还多收的费用"),
    ("客服说话很不耐烦，问了两遍就挂我电话", "要求主管回电说明情况"),
    ("Robert'); DROP TABLE complaints;-- 客户原话照录", "按原话记录"),
)


def run(options: BenchOptions) -> Iterator[dict[str, Any]]:
    if options.db_url is None:
        backend = "sqlite (no --db server given: a temporary SQLite file)"
    else:
        backend = "postgresql"
    customers = max(HOT_CUSTOMERS, min(options.customers, MAX_CUSTOMERS))
    submits = options.repeat or DEFAULT_SUBMITS
    size = f"{backend}, {customers:,} customers"
    with scratch_database(options.db_url, "complaints") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            agents = _seed(engine, customers)
        finally:
            engine.dispose()  # before the scratch database is dropped, or DROP waits on it
        yield from _latency(url, agents[0], customers, submits, size)
        yield from _throughput(url, agents[1:], customers, size)
        yield from _outbox_drain(url, agents[0], customers, size)


# -- set-up ---------------------------------------------------------------------------------------


def _seed(engine: Engine, customers: int) -> list[int]:
    """Customers 1..N, each with product N (same id), and one agent per writer plus one."""
    series = (
        "SELECT generate_series(1, :n) AS g"
        if engine.dialect.name == "postgresql"
        else "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n) "
        "SELECT g FROM s"
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, name, tags, address) "
                f"SELECT g, '客户' || g, '[]', '北京市朝阳区' || g || '号' FROM ({series}) AS s"
            ),
            {"n": customers},
        )
        conn.execute(
            text(
                "INSERT INTO purchases (id, customer_id, product, model) "
                "SELECT id, id, '空调', 'KFR-35GW' FROM customers"
            )
        )
        conn.execute(
            text(
                "INSERT INTO agents (agent_no, name, role) "
                f"SELECT '9' || g, '坐席' || g, 'operator' FROM ({series}) AS s"
            ),
            {"n": WRITERS + 1},
        )
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("customers", "purchases"):
                conn.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
        return list(conn.execute(text("SELECT id FROM agents ORDER BY id")).scalars())


def _drafts(seed: int, count: int, customers: int, prefix: str) -> list[ComplaintDraft]:
    rng = random.Random(seed)
    codes = [code for code, _w in CATEGORIES]
    weights = [w for _c, w in CATEGORIES]
    now = dt.datetime.now(dt.UTC)
    out = []
    for n in range(count):
        hot = rng.random() < HOT_SHARE
        customer = rng.randint(1, HOT_CUSTOMERS if hot else customers)
        category = "repair" if hot else rng.choices(codes, weights)[0]
        description, wants = rng.choice(TEXTS)
        out.append(
            ComplaintDraft(
                customer_id=customer,
                purchase_id=None if category in ("staff_attitude", "other") else customer,
                category=category,
                severity=rng.choice(("low", "normal", "normal", "high", "critical")),
                description=description,
                customer_wants=wants,
                promised_reply_at=now + dt.timedelta(hours=rng.choice((2, 8, 24, 48))),
                callback_number=f"+86139{rng.randrange(10**8):08d}",
                idempotency_key=f"{prefix}-{n}",
            )
        )
    return out


def _url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


# -- (a) latency -----------------------------------------------------------------------------------


def _latency(
    url: URL, agent: int, customers: int, submits: int, size: str
) -> Iterator[dict[str, Any]]:
    engine = make_engine(url)  # the desk's engine: pooled, pre-pinged connections
    sessions = sessionmaker(engine, expire_on_commit=False)
    try:
        drafts = _drafts(1, WARM_UP + submits, customers, "lat")
        direct: list[float] = []
        repeats = 0
        for i, d in enumerate(drafts):
            started = time.perf_counter()
            with sessions.begin() as session:
                result = submit_complaint(session, d, agent)
            if i >= WARM_UP:
                direct.append((time.perf_counter() - started) * 1000)
                repeats += result.repeat_of_reference is not None
        yield figure(
            BENCH,
            f"submit latency, one transaction each ({size})",
            direct,
            repeats_linked=repeats,
        )
        with (
            tempfile.TemporaryDirectory(prefix="agent-desk-bench-outbox-") as tmp,
            Outbox(Path(tmp) / "outbox.sqlite3") as outbox,
        ):
            queued = _drafts(2, submits, customers, "desk")
            desk: list[float] = []
            for d in queued:
                started = time.perf_counter()
                outcome = submit_or_queue(sessions, outbox, d, agent)
                desk.append((time.perf_counter() - started) * 1000)
                assert outcome.sent is not None, outcome.error
        yield figure(
            BENCH,
            f"submit_or_queue latency: outbox write (fsync) + database + outbox delete ({size})",
            desk,
        )
    finally:
        engine.dispose()


# -- (b) throughput --------------------------------------------------------------------------------

PHASES = ("transaction", "autocommit")


def _writer(
    url: str,
    index: int,
    agent: int,
    customers: int,
    per_writer: int,
    phases: tuple[str, ...],
    start: Any,
    results: Any,
) -> None:
    """One desk: its own engine and one connection, one complaint per transaction."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            conn.rollback()
            for phase in phases:
                if phase == "autocommit":
                    # On PostgreSQL a submit is one statement: its own transaction, as durable
                    # (synchronous_commit stays on), without the BEGIN and COMMIT round trips.
                    conn.execution_options(isolation_level="AUTOCOMMIT")
                drafts = _drafts(1000 + index, per_writer, customers, f"tp-{phase}-{index}")
                latencies: list[float] = []
                start.wait()
                began = time.perf_counter()
                for d in drafts:
                    t0 = time.perf_counter()
                    with Session(bind=conn) as session, session.begin():
                        submit_complaint(session, d, agent)
                    latencies.append((time.perf_counter() - t0) * 1000)
                results.put((phase, began, time.perf_counter(), latencies))
                start.wait()  # every writer done before the next phase starts
    finally:
        engine.dispose()


def _throughput(url: URL, agents: list[int], customers: int, size: str) -> Iterator[dict[str, Any]]:
    phases = PHASES if url.get_backend_name() == "postgresql" else PHASES[:1]
    ctx = mp.get_context("spawn")  # a clean interpreter per desk, as in the field
    start = ctx.Barrier(WRITERS)
    results = ctx.Queue()
    writers = [
        ctx.Process(
            target=_writer,
            args=(_url_text(url), i, agents[i], customers, PER_WRITER, phases, start, results),
        )
        for i in range(WRITERS)
    ]
    for w in writers:
        w.start()
    try:
        collected = [results.get(timeout=600) for _ in range(WRITERS * len(phases))]
    finally:
        for w in writers:
            w.join(60)
            if w.is_alive():
                w.kill()
                w.join()
        results.close()
        results.join_thread()
    counts = _count_keys(url)
    for phase in phases:
        runs = [r for r in collected if r[0] == phase]
        elapsed = max(r[2] for r in runs) - min(r[1] for r in runs)
        latencies = [ms for r in runs for ms in r[3]]
        expected = WRITERS * PER_WRITER
        stored, distinct = counts[f"tp-{phase}-"]
        yield figure(
            BENCH,
            f"throughput, {WRITERS} writer processes, one complaint per {phase} "
            f"({size}): latency under load",
            latencies,
            complaints_per_s=round(expected / elapsed, 1),
            elapsed_s=round(elapsed, 3),
            submitted=expected,
            lost=expected - distinct,
            duplicated=stored - distinct,
        )


def _count_keys(url: URL) -> dict[str, tuple[int, int]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for phase in PHASES:
                like = Complaint.idempotency_key.like(f"tp-{phase}-%")
                rows, distinct = conn.execute(
                    select(
                        func.count(), func.count(func.distinct(Complaint.idempotency_key))
                    ).where(like)
                ).one()
                out[f"tp-{phase}-"] = (int(rows), int(distinct))
            return out
    finally:
        engine.dispose()


# -- (c) outbox drain ------------------------------------------------------------------------------


@contextmanager
def _quiet_outbox_log() -> Iterator[None]:
    logger = logging.getLogger("agent_desk.store.outbox")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _outbox_drain(url: URL, agent: int, customers: int, size: str) -> Iterator[dict[str, Any]]:
    away = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/away")
    engine = make_engine(url)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="agent-desk-bench-outbox-") as tmp,
            Outbox(Path(tmp) / "outbox.sqlite3") as outbox,
            _quiet_outbox_log(),  # ten thousand "kept in the outbox" warnings say nothing new
        ):
            drafts = _drafts(3, OUTBOX_ITEMS, customers, "ob")
            filling = time.perf_counter()
            for d in drafts:
                outcome = submit_or_queue(sessionmaker(away), outbox, d, agent)
                assert outcome.queued_key is not None
            fill_s = time.perf_counter() - filling
            assert outbox.pending() == OUTBOX_ITEMS
            sessions = sessionmaker(engine, expire_on_commit=False)
            draining = time.perf_counter()
            batches: list[float] = []
            while outbox.pending():
                t0 = time.perf_counter()
                report = outbox.drain(sessions, agent, batch=200)
                batches.append((time.perf_counter() - t0) * 1000)
                if report.error:
                    raise RuntimeError(f"drain failed: {report.error}")
            drain_s = time.perf_counter() - draining
        with engine.connect() as conn:
            stored, distinct = conn.execute(
                select(func.count(), func.count(func.distinct(Complaint.idempotency_key))).where(
                    Complaint.idempotency_key.like("ob-%")
                )
            ).one()
        yield figure(
            BENCH,
            f"outbox drain of {OUTBOX_ITEMS:,} complaints queued while the database was away "
            f"({size})",
            [drain_s * 1000],
            complaints_per_s=round(OUTBOX_ITEMS / drain_s, 1),
            drain_calls=len(batches),
            queued_in_s=round(fill_s, 2),
            lost=OUTBOX_ITEMS - int(distinct),
            duplicated=int(stored) - int(distinct),
        )
    finally:
        away.dispose()
        engine.dispose()
