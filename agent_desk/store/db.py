"""One Engine and one sessionmaker per database, created once (SQLAlchemy's advice).

`open_database` connects, checks the schema against the code's migrations, upgrades the
embedded SQLite file itself, and otherwise opens a database with another schema read-only,
enforced by the database server itself, so a mismatched desk can never write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.store import credentials, migrations
from agent_desk.store.migrations import SchemaState, SchemaStatus

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; the message is for the operator."""


class ReadOnlyDatabase(RuntimeError):
    """A write was attempted on a database whose schema does not match this desk."""


@dataclass
class Database:
    url: URL
    engine: Engine
    sessions: sessionmaker[Session]
    status: SchemaStatus
    upgraded_from: str | None = None
    _closed: bool = field(default=False, repr=False)

    @property
    def writable(self) -> bool:
        return self.status.ok

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def describe(self) -> str:
        """What the status bar shows: never the password."""
        return describe_url(self.url)

    def require_writable(self) -> None:
        if not self.writable:
            raise ReadOnlyDatabase(self.status.explain())

    def close(self) -> None:
        if not self._closed:
            self.engine.dispose()
            self._closed = True


def describe_url(url: str | URL) -> str:
    u = make_url(url) if isinstance(url, str) else url
    if u.get_backend_name() == "sqlite":
        return f"SQLite {u.database or ':memory:'}"
    port = f":{u.port}" if u.port else ""
    user = f"{u.username}@" if u.username else ""
    return f"PostgreSQL {user}{u.host or 'localhost'}{port}/{u.database or ''}"


def _with_password(url: URL) -> URL:
    if url.get_backend_name() == "sqlite" or url.password:
        return url
    password = credentials.lookup_password(url)
    return url.set(password=password) if password else url


def make_engine(url: str | URL, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """An engine with our connection settings; `read_only` is enforced by the server."""
    u = _with_password(make_url(url) if isinstance(url, str) else url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, connect_args={"timeout": 15}, **kwargs)
        _sqlite_pragmas(engine, read_only)
        return engine
    connect_args: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT_S,
        "application_name": "agent-desk",
    }
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    return create_engine(u, connect_args=connect_args, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(engine: Engine, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        # WAL lets the desk read while a background import writes.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        if read_only:
            cur.execute("PRAGMA query_only=ON")
        cur.close()


def check_reachable(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        raise DatabaseUnavailable(_explain_connect_error(engine.url, exc)) from None


def _explain_connect_error(url: URL, exc: Exception) -> str:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()
    first = reason[0] if reason else type(exc).__name__
    where = describe_url(url)
    hint = ""
    if "password" in first.lower() and url.get_backend_name() != "sqlite":
        hint = (
            f" — store the password with 'agent-desk db login {url.render_as_string()}' "
            f"or set {credentials.PASSWORD_ENV}"
        )
    return f"cannot open {where}: {first}{hint}"


def open_database(url: str | URL, *, upgrade_embedded: bool = True) -> Database:
    """Connect, check (and for the embedded SQLite file, upgrade) the schema."""
    u = make_url(url) if isinstance(url, str) else url
    try:
        engine = make_engine(u)
    except Exception as exc:  # a bad driver name or URL: say which
        raise DatabaseUnavailable(f"cannot use database URL {describe_url(u)}: {exc}") from None
    check_reachable(engine)
    try:
        status = migrations.schema_status(engine)
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        raise DatabaseUnavailable(_explain_connect_error(u, exc)) from None
    upgraded_from = None
    if (
        upgrade_embedded
        and u.get_backend_name() == "sqlite"
        and status.state in (SchemaState.EMPTY, SchemaState.OLDER)
    ):
        upgraded_from = status.database_revision or "empty"
        status = migrations.upgrade(engine)
        log.info("upgraded embedded database from %s to %s", upgraded_from, status.code_revision)
    if not status.ok:
        log.warning("%s: %s", describe_url(u), status.explain())
        engine.dispose()
        engine = make_engine(u, read_only=True)
    return Database(u, engine, sessionmaker(engine, expire_on_commit=False), status, upgraded_from)
