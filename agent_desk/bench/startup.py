"""`bench startup`: process start to main window painted, and to database connected.

Each run is a new Python process (the cost an operator pays at the start of a shift),
timed from just before it is spawned; the first run, which creates the database, is not
counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from agent_desk.bench import BenchOptions, figure
from agent_desk.store.agents import ensure_demo_agents
from agent_desk.store.db import make_engine
from agent_desk.store.migrations import upgrade
from agent_desk.store.scratch import scratch_database

DEFAULT_RUNS = 15


def _one_run(env: dict[str, str], db_url: str | None) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "agent_desk.bench.startup_probe"]
    if db_url:
        cmd += ["--db", db_url]
    started = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"desk did not start: {done.stderr.strip() or done.stdout.strip()}")
    # The desk prints its CTI bridge first; the probe's figures are its last line.
    fields = done.stdout.strip().splitlines()[-1].split()
    shown, connected = float(fields[1]), float(fields[3])
    return (shown - started) * 1000, (connected - started) * 1000


def ensure_agents(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        ensure_demo_agents(session)


def run(options: BenchOptions) -> Iterator[dict[str, Any]]:
    runs = options.repeat or DEFAULT_RUNS
    with (
        tempfile.TemporaryDirectory(prefix="agent-desk-bench-startup-") as home,
        scratch_database(options.db_url, "startup") as url,
    ):
        env = {**os.environ, "AGENT_DESK_HOME": home}
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        db_url = url.render_as_string(hide_password=False)
        if url.get_backend_name() != "sqlite":
            engine = make_engine(url)
            upgrade(engine)
            ensure_agents(engine)
            engine.dispose()
        _one_run(env, db_url)  # creates the embedded database: not a start-up
        shown, connected = zip(*(_one_run(env, db_url) for _ in range(runs)), strict=True)
    where = url.get_backend_name()
    yield figure("startup", f"process start to main window shown ({where})", shown)
    yield figure("startup", f"process start to database connected ({where})", connected)
