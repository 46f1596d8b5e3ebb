"""What a desk keeps in memory: a whole desk in its own process (as `bench replay` runs it)
opens a recorded session, and the libraries it has no use for stay unloaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from agent_desk.store import migrations
from agent_desk.store.db import make_engine
from agent_desk.store.migrations import CODE_HEAD, SchemaState
from tests.ui.test_replay import seed_session, speech  # noqa: F401  (the speech fixture)


def test_code_head_is_alembics_head() -> None:
    assert migrations.code_head() == CODE_HEAD


def test_a_database_at_another_revision_is_still_judged_by_alembic(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    try:
        migrations.upgrade(engine)
        assert migrations.schema_status(engine).state is SchemaState.CURRENT
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
        assert migrations.schema_status(engine).state is SchemaState.OLDER
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
        assert migrations.schema_status(engine).state is SchemaState.NEWER
    finally:
        engine.dispose()


def test_a_replaying_desk_loads_only_what_it_uses(tmp_path: Path, speech: Path) -> None:  # noqa: F811
    url = f"sqlite:///{tmp_path / 'desk.sqlite3'}"
    engine = make_engine(url)
    root = tmp_path / "recordings"
    try:
        migrations.upgrade(engine)
        session_id, _people = seed_session(engine, speech, root)
    finally:
        engine.dispose()
    env = {
        **os.environ,
        "AGENT_DESK_HOME": str(tmp_path / "home"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    done = subprocess.run(
        [sys.executable, "-m", "agent_desk.bench.replay_probe", url, str(root), str(session_id)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["buckets"] > 0  # the waveform came from the peaks cached at import
    # A current SQLite database, no password, cached peaks: none of these has work to do.
    for unused in ("alembic", "numpy", "psycopg", "keyring"):
        assert unused not in result["loaded"], f"{unused} was loaded"
    # PySide6's import hook no longer leaves every module's source in linecache.
    assert result["source_kb_kept"] < 500  # it was 6-10 MB of text
