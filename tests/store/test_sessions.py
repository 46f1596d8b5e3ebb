"""Sessions and their events are written as they happen, survive a crash, and wait out a
database outage without losing anything."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core.roles import Role
from agent_desk.store.agents import add_agent
from agent_desk.store.models import CallSession, SessionEvent
from agent_desk.store.sessions import SessionRecorder, find_unfinished_session
from tests.conftest import url_text

T0 = dt.datetime(2026, 11, 23, 9, 0, 0, tzinfo=dt.UTC)


def at(ms: int) -> dt.datetime:
    return T0 + dt.timedelta(milliseconds=ms)


def make_agent(engine: Engine) -> int:
    with Session(engine) as session, session.begin():
        return add_agent(session, "1001", "王小燕", Role.OPERATOR).id


def test_a_call_is_recorded_in_order(engine: Engine) -> None:
    agent_id = make_agent(engine)
    recorder = SessionRecorder(sessionmaker(engine), agent_id)
    try:
        recorder.start_session("c-1", "+8613800138000", at(0))
        recorder.event("c-1", "ringing", at(0))
        recorder.event("c-1", "screen_pop", at(14), ms=14.2, customer_id=None)
        recorder.event("c-1", "answered", at(3000))
        recorder.save_notes("c-1", "客户反映空调不制冷", at(9000))
        recorder.event("c-1", "note_saved", at(9000), chars=9)
        recorder.finish(
            "c-1", at(20000), answered_at=at(3000), ended_at=at(18000), wrap_up_code="repair"
        )
        assert recorder.flush()
    finally:
        recorder.close()
    with Session(engine) as session:
        row = session.scalars(select(CallSession)).one()
        assert (row.number, row.agent_id, row.notes, row.wrap_up_code) == (
            "+8613800138000",
            agent_id,
            "客户反映空调不制冷",
            "repair",
        )
        events = session.execute(
            select(SessionEvent.offset_ms, SessionEvent.kind, SessionEvent.payload).order_by(
                SessionEvent.offset_ms, SessionEvent.id
            )
        ).all()
        assert [(e.offset_ms, e.kind) for e in events] == [
            (0, "ringing"),
            (14, "screen_pop"),
            (3000, "answered"),
            (9000, "note_saved"),
        ]
        assert events[1].payload == {"ms": 14.2, "customer_id": None}
        assert find_unfinished_session(session, agent_id, T0) is None  # wrapped up


def test_a_crash_mid_call_leaves_the_session_and_the_restart_finds_it(
    engine: Engine, db_url: URL
) -> None:
    agent_id = make_agent(engine)
    script = textwrap.dedent(f"""
        import datetime as dt, os
        from sqlalchemy.orm import sessionmaker
        from agent_desk.store.db import make_engine
        from agent_desk.store.sessions import SessionRecorder
        t0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
        rec = SessionRecorder(sessionmaker(make_engine({url_text(db_url)!r})), {agent_id})
        rec.start_session("c-crash", "+8613900139000", t0)
        rec.event("c-crash", "ringing", t0)
        rec.event("c-crash", "answered", t0 + dt.timedelta(seconds=2))
        rec.save_notes("c-crash", "已核对地址", t0 + dt.timedelta(seconds=5))
        rec.flush()
        os._exit(3)  # no clean-up of any kind: as if the desk crashed
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    with Session(engine) as session:
        found = find_unfinished_session(session, agent_id, T0 - dt.timedelta(hours=1))
    assert found is not None
    assert (found.call_id, found.number, found.notes) == ("c-crash", "+8613900139000", "已核对地址")
    assert found.answered and not found.ended
    assert found.events == ("ringing", "answered")


@pytest.mark.pg
def test_a_database_outage_loses_nothing(pg_server_url: str, engine: Engine, db_url: URL) -> None:
    if db_url.get_backend_name() != "postgresql":
        pytest.skip("a real outage needs the server: PostgreSQL only")
    agent_id = make_agent(engine)
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    statuses: list[str | None] = []
    recorder = SessionRecorder(sessionmaker(engine), agent_id, on_status=statuses.append)
    try:
        recorder.start_session("c-out", "+8613700137000", at(0))
        assert recorder.flush()
        with admin.connect() as conn:  # the database goes away under the desk
            conn.execute(text(f'ALTER DATABASE "{db_url.database}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": db_url.database},
            )
        for i in range(5):
            recorder.event("c-out", "hold" if i % 2 == 0 else "resumed", at(1000 + i))
        assert not recorder.flush(timeout=1.0)
        assert statuses and statuses[0] is not None and "retrying" in statuses[0]
        with admin.connect() as conn:  # and comes back
            conn.execute(text(f'ALTER DATABASE "{db_url.database}" ALLOW_CONNECTIONS true'))
        assert recorder.flush(timeout=30.0)
        assert statuses[-1] is None  # the warning is withdrawn
    finally:
        recorder.close()
        admin.dispose()
    with Session(engine) as session:
        kinds = session.scalars(select(SessionEvent.kind).order_by(SessionEvent.offset_ms)).all()
    assert kinds == ["hold", "resumed", "hold", "resumed", "hold"]
