"""The same Alembic migrations on SQLite and PostgreSQL, and a desk that meets another
schema refuses to write (enforced by the database itself)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError

from agent_desk.core.roles import Role
from agent_desk.store import migrations
from agent_desk.store.agents import add_agent, list_agents
from agent_desk.store.db import DatabaseUnavailable, ReadOnlyDatabase, make_engine, open_database
from agent_desk.store.migrations import SchemaState
from agent_desk.store.models import Base

EXPECTED_TABLES = {
    "agents",
    "customers",
    "customer_phones",
    "purchases",
    "promises",
    "call_sessions",
    "session_events",
    "complaints",
    "complaint_events",
    "script_packs",
    "qa_evaluations",
}


def test_upgrade_creates_the_model_and_downgrade_removes_it(empty_db_url: URL) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert migrations.schema_status(engine).state is SchemaState.EMPTY
        status = migrations.upgrade(engine)
        assert status.ok and status.database_revision == migrations.code_head()
        tables = set(inspect(engine).get_table_names())
        assert tables >= EXPECTED_TABLES
        assert set(Base.metadata.tables) == EXPECTED_TABLES
        assert migrations.downgrade(engine, "base").state is SchemaState.EMPTY
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        assert migrations.upgrade(engine).ok  # and up again: downgrade left nothing behind
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_orm_model(db_url: URL) -> None:
    """Autogenerate finds nothing to do: models and migrations agree on this backend."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_embedded_sqlite_is_upgraded_at_open(tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = open_database(f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    try:
        assert database.upgraded_from == "empty"
        assert database.writable
    finally:
        database.close()


@pytest.mark.pg
def test_postgresql_is_never_upgraded_by_the_desk(pg_server_url: str) -> None:
    from agent_desk.store.scratch import scratch_database

    with scratch_database(pg_server_url, "test") as url:
        database = open_database(url)
        try:
            assert database.upgraded_from is None
            assert database.status.state is SchemaState.EMPTY
            assert not database.writable
            assert "agent-desk db upgrade" in database.status.explain()
        finally:
            database.close()


def _set_revision(url: URL, revision: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def _write_attempt(url: URL) -> None:
    database = open_database(url, upgrade_embedded=False)
    try:
        with database.sessions.begin() as session:
            add_agent(session, "4242", "写入测试", Role.OPERATOR)
    finally:
        database.close()


def test_newer_schema_is_explained_and_writes_are_refused(db_url: URL) -> None:
    _set_revision(db_url, "9999_from_the_future")
    database = open_database(db_url)
    try:
        assert database.status.state is SchemaState.NEWER
        assert "newer than this desk" in database.status.explain()
        assert not database.writable
        with pytest.raises(ReadOnlyDatabase, match="update Agent Desk"):
            database.require_writable()
        with database.sessions.begin() as session:  # reading still works
            assert list_agents(session) == []
    finally:
        database.close()
    # Not just a flag: the database itself refuses the write.
    with pytest.raises((OperationalError, DBAPIError), match=r"read-only|readonly"):
        _write_attempt(db_url)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM agents")) == 0
    engine.dispose()
    with pytest.raises(migrations.SchemaMismatch):
        engine = make_engine(db_url)
        try:
            migrations.upgrade(engine)
        finally:
            engine.dispose()


def test_shared_database_behind_the_code_asks_for_db_upgrade(db_url: URL) -> None:
    if db_url.get_backend_name() == "sqlite":
        pytest.skip("the embedded database upgrades itself: covered below")
    engine = make_engine(db_url)
    try:
        migrations.downgrade(engine, "base")
    finally:
        engine.dispose()
    database = open_database(db_url)
    try:
        assert database.status.state is SchemaState.EMPTY
        assert not database.writable
        assert "run 'agent-desk db upgrade'" in database.status.explain()
    finally:
        database.close()


def test_sqlite_with_an_older_revision_is_upgraded(db_url: URL) -> None:
    if db_url.get_backend_name() != "sqlite":
        pytest.skip("only the embedded database upgrades itself")
    engine = make_engine(db_url)
    migrations.downgrade(engine, "base")
    engine.dispose()
    database = open_database(db_url)
    try:
        assert database.writable
        with database.sessions.begin() as session:
            add_agent(session, "5", "升级后", Role.OPERATOR)
            assert [a.agent_no for a in list_agents(session)] == ["5"]
    finally:
        database.close()


def test_unreachable_postgresql_is_a_clear_error() -> None:
    with pytest.raises(DatabaseUnavailable, match=r"cannot open PostgreSQL .*127\.0\.0\.1:1/"):
        open_database("postgresql+psycopg://agent@127.0.0.1:1/centre")


def test_unknown_driver_is_a_clear_error() -> None:
    with pytest.raises(DatabaseUnavailable, match="cannot use database URL"):
        open_database("nosuchdb://x/y")


def test_session_events_keep_order_by_offset(engine) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from sqlalchemy.orm import Session

    from agent_desk.store.models import CallSession, SessionEvent

    with Session(engine) as session, session.begin():
        call = CallSession(
            call_id="c1", number="+8613800138000", started_at=dt.datetime.now(dt.UTC)
        )
        session.add(call)
        session.flush()
        for offset, kind in [(900, "wrap_up"), (0, "ringing"), (120, "screen_pop")]:
            session.add(
                SessionEvent(
                    session_id=call.id,
                    offset_ms=offset,
                    kind=kind,
                    payload={"ms": offset, "text": "您好"},
                )
            )
    with Session(engine) as session:
        loaded = session.scalars(select(CallSession)).one()
        assert [e.kind for e in loaded.events] == ["ringing", "screen_pop", "wrap_up"]
        assert loaded.events[1].payload == {"ms": 120, "text": "您好"}


def test_a_schema_one_revision_behind_is_older(db_url: URL) -> None:
    """A desk meeting last release's schema: SQLite upgrades itself, a shared database
    waits for 'agent-desk db upgrade' and is not written meanwhile."""
    engine = make_engine(db_url)
    try:
        migrations.downgrade(engine, "0002")
        assert migrations.schema_status(engine).state is SchemaState.OLDER
    finally:
        engine.dispose()
    database = open_database(db_url)
    try:
        if db_url.get_backend_name() == "sqlite":
            assert database.upgraded_from == "0002" and database.writable
        else:
            assert database.status.state is SchemaState.OLDER and not database.writable
            assert "is older than this desk needs" in database.status.explain()
    finally:
        database.close()
