"""Throw-away databases for tests and benchmarks: a fresh PostgreSQL database on a given
server (created and dropped), or a temporary SQLite file."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url


@contextmanager
def scratch_database(server_url: str | None, label: str = "scratch") -> Iterator[URL]:
    """Yield the URL of an empty database; it is dropped afterwards.

    `server_url` None or a sqlite URL gives a temporary SQLite file; a PostgreSQL URL names
    the server (and the maintenance database to connect to for CREATE/DROP DATABASE).
    """
    if server_url is None or make_url(server_url).get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"agent-desk-{label}-") as tmp:
            yield make_url(f"sqlite:///{Path(tmp) / 'desk.sqlite3'}")
        return
    server = make_url(server_url)
    name = f"agent_desk_{label}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
