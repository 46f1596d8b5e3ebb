"""The demo-data generator on SQLite and PostgreSQL: real inserts into migrated scratch
databases, small enough to stay fast, checked for plausibility and for repeatability."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, selectinload

from agent_desk.bench import BenchOptions
from agent_desk.bench import seed as seed_bench
from agent_desk.core.roles import Role
from agent_desk.store import migrations
from agent_desk.store.db import make_engine
from agent_desk.store.demo import SeedReport, seed_demo
from agent_desk.store.demo_vocab import COMPLAINT_FLOW
from agent_desk.store.models import (
    Agent,
    CallSession,
    Complaint,
    ComplaintEvent,
    Customer,
    CustomerPhone,
    Promise,
    Purchase,
    SessionEvent,
)
from agent_desk.store.scratch import scratch_database

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]
NOW = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)  # NOW in Beijing
CUSTOMERS, SESSIONS, EVENTS = 200, 120, 10

TABLE_MODELS = {
    "agents": Agent,
    "customers": Customer,
    "customer_phones": CustomerPhone,
    "purchases": Purchase,
    "promises": Promise,
    "call_sessions": CallSession,
    "session_events": SessionEvent,
    "complaints": Complaint,
    "complaint_events": ComplaintEvent,
}
CHINESE_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
ADDRESS = re.compile(r"^(\w+?省)?\w+?市\w+?区\w+?\d+号(\d+单元\d{3,4})?$")
REFERENCE = re.compile(r"^TS-\d{8}-\d{6}$")


@dataclass
class Seeded:
    engine: Engine
    report: SeedReport


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Iterator[Seeded]:
    """One migrated scratch database per backend, seeded once, for the read-only checks."""
    server = None if request.param == "sqlite" else request.getfixturevalue("pg_server_url")
    with scratch_database(server, "test") as url:
        engine = make_engine(url)
        try:
            migrations.upgrade(engine)
            yield Seeded(engine, seed_demo(engine, CUSTOMERS, SESSIONS, now=NOW))
        finally:
            engine.dispose()


def table_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in TABLE_MODELS.items()
        }


def test_counts_match_the_report_and_the_request(seeded: Seeded) -> None:
    report = seeded.report
    assert table_counts(seeded.engine) == report.counts()
    assert report.customers == CUSTOMERS
    assert report.call_sessions == SESSIONS
    assert report.session_events == SESSIONS * EVENTS
    assert report.agents == len(Role)
    assert report.customer_phones >= CUSTOMERS
    assert report.purchases > 0 and report.promises > 0
    assert 1 <= report.complaints <= SESSIONS // 5  # about one call in twenty
    assert report.complaint_events >= report.complaints
    assert report.rows == sum(report.counts().values()) and report.seconds > 0
    assert f"{CUSTOMERS} customers" in report.summary()
    assert f"{SESSIONS * EVENTS:,} session events" in report.summary()


def test_one_demo_agent_of_each_role_does_the_work(seeded: Seeded) -> None:
    with Session(seeded.engine) as session:
        agents = session.scalars(select(Agent)).all()
        assert sorted(a.role for a in agents) == sorted(Role)
        by_id = {a.id: a.role for a in agents}
        session_agents = set(session.scalars(select(CallSession.agent_id)))
        promise_agents = set(session.scalars(select(Promise.promised_by_id)))
        complaint_agents = set(session.scalars(select(Complaint.created_by_id)))
    for used in (session_agents, promise_agents, complaint_agents):
        assert None not in used
        assert used and {by_id[i] for i in used if i is not None} <= {Role.OPERATOR, Role.TEAM_LEAD}


def test_customers_look_like_mainland_customers(seeded: Seeded) -> None:
    with Session(seeded.engine) as session:
        customers = session.scalars(select(Customer).options(selectinload(Customer.phones))).all()
    languages = Counter(c.language for c in customers)
    assert set(languages) <= {"zh", "en"} and languages["zh"] > 0.9 * len(customers)
    for c in customers:
        if c.language == "zh":
            assert CHINESE_NAME.match(c.name), c.name
        else:
            assert re.match(r"^[A-Za-zü]+ [A-Za-z]+$", c.name), c.name
        assert ADDRESS.match(c.address), c.address
        assert set(c.tags) <= {"VIP", "elderly", "special_needs"}
        assert ("special_needs" in c.tags) == bool(c.special_needs)
        assert c.phones and [p.position for p in c.phones] == list(range(len(c.phones)))
    assert any("VIP" in c.tags for c in customers)
    assert any("elderly" in c.tags for c in customers)
    assert any(c.special_needs for c in customers)
    assert len({c.external_id for c in customers}) == len(customers)


def test_every_phone_is_valid_e164(seeded: Seeded) -> None:
    with Session(seeded.engine) as session:
        phones = session.scalars(select(CustomerPhone)).all()
        called = session.scalars(select(CallSession.number)).all()
    kinds: Counter[int] = Counter()
    for number in [p.e164 for p in phones] + list(called):
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed), number
        assert parsed.country_code == 86
        assert number == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    for p in phones:
        kind = phonenumbers.number_type(phonenumbers.parse(p.e164))
        kinds[kind] += 1
        expected = PhoneNumberType.MOBILE if p.label == "mobile" else PhoneNumberType.FIXED_LINE
        assert kind == expected, p.e164
    assert kinds[PhoneNumberType.FIXED_LINE] > 0  # a few landlines
    assert len(phones) > CUSTOMERS  # and some customers with a second number


def test_purchases_straddle_the_warranty_end_and_carry_promises(seeded: Seeded) -> None:
    with Session(seeded.engine) as session:
        purchases = session.scalars(select(Purchase)).all()
        promises = session.scalars(select(Promise).options(selectinload(Promise.purchase))).all()
    out = [p for p in purchases if p.warranty_until is not None and p.warranty_until < TODAY]
    assert 0 < len(out) < len(purchases)  # some out of warranty, some still in
    for p in purchases:
        assert p.purchase_date is not None and p.warranty_until is not None
        assert p.purchase_date < TODAY
        assert 365 <= (p.warranty_until - p.purchase_date).days <= 3 * 365
        assert p.product and p.model and p.serial
    assert len({p.serial for p in purchases}) == len(purchases)
    assert promises
    for promise in promises:
        assert promise.text.startswith("承诺")
        assert promise.purchase is not None and promise.purchase.customer_id == promise.customer_id
        assert promise.due_at is not None and promise.due_at > promise.promised_at


def test_sessions_have_their_events_in_order(seeded: Seeded) -> None:
    with Session(seeded.engine) as session:
        calls = session.scalars(select(CallSession).options(selectinload(CallSession.events))).all()
    assert len({c.call_id for c in calls}) == len(calls)
    kinds: Counter[str] = Counter()
    for call in calls:
        assert len(call.events) == EVENTS
        offsets = [e.offset_ms for e in call.events]
        assert offsets[0] == 0 and all(a < b for a, b in pairwise(offsets)), call.call_id
        assert call.events[0].kind == "ringing"
        assert call.ended_at is not None and call.started_at <= call.ended_at
        assert call.wrap_up_code
        if call.answered_at is not None:
            assert call.started_at <= call.answered_at <= call.ended_at
            assert call.events[-1].kind == "wrap_up"
            assert call.events[-1].payload["code"] == call.wrap_up_code
        pops = [e for e in call.events if e.kind == "screen_pop"]
        assert len(pops) == 1 and isinstance(pops[0].payload["ms"], int)
        kinds.update(e.kind for e in call.events)
    assert {"answered", "prompt_shown", "note_saved", "ended"} <= set(kinds)


def test_complaints_have_references_and_an_audit_trail(seeded: Seeded) -> None:
    with Session(seeded.engine) as session:
        complaints = session.scalars(
            select(Complaint).options(selectinload(Complaint.events))
        ).all()
        sessions = {c.id: c for c in session.scalars(select(CallSession))}
    assert complaints
    assert len({c.reference for c in complaints}) == len(complaints)
    assert len({c.idempotency_key for c in complaints}) == len(complaints)
    for c in complaints:
        assert REFERENCE.match(c.reference), c.reference
        uuid.UUID(c.idempotency_key)
        assert c.status in COMPLAINT_FLOW
        assert c.promised_reply_at > c.created_at
        assert c.events and c.events[0].action == "created"
        assert c.events[0].to_status == "received"
        assert [e.to_status for e in c.events if e.action != "escalated"][-1] == c.status
        assert c.session_id is not None and sessions[c.session_id].wrap_up_code == "complaint"
        assert sessions[c.session_id].customer_id == c.customer_id


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    """A migrated scratch SQLite database, for checks of the generator itself."""
    with scratch_database(None, "test") as url:
        engine = make_engine(url)
        try:
            migrations.upgrade(engine)
            yield engine
        finally:
            engine.dispose()


def test_the_mix_of_complaints_is_realistic() -> None:
    """Enough complaints (about 100) to see every status, overdue ones and repeats."""
    with sqlite_engine() as engine:
        seed_demo(engine, 300, 2_000, events_per_session=3, now=NOW)
        with Session(engine) as session:
            complaints = session.scalars(select(Complaint)).all()
    assert 60 <= len(complaints) <= 160
    assert {c.status for c in complaints} == set(COMPLAINT_FLOW)
    assert set(Counter(c.category for c in complaints)) >= {"product_quality", "repair"}
    open_ = {"received", "assigned", "in_progress"}
    now = NOW.replace(tzinfo=None)  # SQLite hands timestamps back without a zone
    overdue = [c for c in complaints if c.status in open_ and c.promised_reply_at < now]
    assert overdue and all(c.escalation_level > 0 for c in overdue)
    assert any(c.repeat_of_id is not None for c in complaints)


def test_seeding_twice_adds_the_same_amount_again(engine: Engine) -> None:
    first = seed_demo(engine, 40, 30)
    second = seed_demo(engine, 40, 30)
    assert second.agents == 0  # the demo agents are reused, not duplicated
    totals = table_counts(engine)
    for table, count in totals.items():
        assert count == first.counts()[table] + second.counts()[table], table
    assert totals["customers"] == 80 and totals["session_events"] == 600
    with Session(engine) as session:
        references = session.scalars(select(Complaint.reference)).all()
        assert len(set(references)) == len(references)
        names_1 = session.scalars(select(Customer.name).where(Customer.id <= 40)).all()
        names_2 = session.scalars(select(Customer.name).where(Customer.id > 40)).all()
        assert names_1 != names_2  # the second run is new people, not a copy
        # The database's own id sequences continue after the seeded ids.
        customer = Customer(name="新客户", address="", language="zh", tags=[], special_needs="")
        session.add(customer)
        session.add(SessionEvent(session_id=1, offset_ms=0, kind="ringing", payload={}))
        session.commit()
        assert customer.id == 81


def test_failure_leaves_nothing_behind(engine: Engine) -> None:
    def explode(table: str, done: int, total: int) -> None:
        if table == "session_events" and done > 0:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        seed_demo(engine, 20, 10, progress=explode)
    assert set(table_counts(engine).values()) == {0}


def test_progress_reports_every_table(engine: Engine) -> None:
    calls: list[tuple[str, int, int]] = []
    report = seed_demo(engine, 10, 5, progress=lambda *call: calls.append(call))
    finals = {table: (done, total) for table, done, total in calls}
    for table, (done, total) in finals.items():
        assert done == total == report.counts()[table]
    assert set(finals) == set(report.counts()) - {"agents"}
    assert len(calls) == len(set(calls))  # no step reported twice


def test_same_seed_same_rows() -> None:
    def dump() -> list[tuple[object, ...]]:
        with sqlite_engine() as engine:
            seed_demo(engine, 30, 20, now=NOW, seed=7)
            with engine.connect() as conn:
                rows = list(conn.execute(text("SELECT id, name, address FROM customers")))
                rows += list(conn.execute(text("SELECT id, kind, payload FROM session_events")))
                rows += list(conn.execute(text("SELECT reference, description FROM complaints")))
        return [tuple(r) for r in rows]

    assert dump() == dump()


def test_bench_seed_reports_one_figure() -> None:
    options = BenchOptions(db_url=None, repeat=2, customers=20, sessions=10)
    (result,) = list(seed_bench.run(options))
    assert result["bench"] == "seed" and result["unit"] == "ms" and result["n"] == 2
    assert result["figure"] == "seed-demo 20 customers / 100 events (sqlite)"
    assert result["p50"] > 0 and result["rows_per_s"] > 0
