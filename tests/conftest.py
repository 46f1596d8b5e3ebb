"""Fixtures every test shares: a fresh per-user home, and the databases to test against.

AGENT_DESK_TEST_PG_URL makes the PostgreSQL tests run and required: an unreachable server
fails them instead of skipping them. Each test gets its own scratch database.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL

from agent_desk.paths import UserPaths, user_paths
from agent_desk.store import migrations
from agent_desk.store.db import make_engine
from agent_desk.store.scratch import scratch_database

PG_ENV = "AGENT_DESK_TEST_PG_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


@pytest.fixture(autouse=True)
def desk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UserPaths]:
    """No test sees another's config, data or logs (or the developer's own)."""
    monkeypatch.setenv("AGENT_DESK_HOME", str(tmp_path / "home"))
    for name in ("AGENT_DESK_DB_URL", "AGENT_DESK_DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    yield user_paths().ensure()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_agent_desk", False)]:
        root.removeHandler(handler)
        handler.close()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(f"{PG_ENV}={url} is set but the server cannot be reached: {exc}")
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest) -> Iterator[URL]:
    """A fresh, empty database on each backend."""
    server = None if request.param == "sqlite" else request.getfixturevalue("pg_server_url")
    with scratch_database(server, "test") as url:
        yield url


@pytest.fixture
def db_url(empty_db_url: URL) -> URL:
    """A fresh database migrated to the code's schema."""
    engine = make_engine(empty_db_url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()
    return empty_db_url


@pytest.fixture
def engine(db_url: URL) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


# A real, private Secret Service (dbus-daemon + gnome-keyring) for keyring tests.
from tests.keyring_service import (  # noqa: E402, F401
    fail_keyring,
    secret_service_daemon,
    secret_service_keyring,
)

# A real, private PulseAudio server with a virtual microphone for the recording tests.
from tests.sound_server import sound_server_daemon  # noqa: E402, F401
