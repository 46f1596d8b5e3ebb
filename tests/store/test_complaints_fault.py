"""The fault test (issue 6): the PostgreSQL server dies in the middle of 200 submissions from 20
desks, comes back, and every complaint arrives exactly once.

A throwaway cluster is started with the server binaries in a temporary directory, so the test
can kill it with `pg_ctl stop -m immediate` (no shutdown checkpoint, connections cut mid
transaction) without touching the shared server. Each writer is a separate process with its own
outbox, submitting through `submit_or_queue` exactly as a desk does, then draining its outbox.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from agent_desk.store import migrations
from agent_desk.store.db import make_engine
from agent_desk.store.models import Complaint, ComplaintEvent

pytestmark = pytest.mark.pg

WRITERS = 20
PER_WRITER = 10
PACE_S = 0.15  # between one writer's submits: ~1.5 s of submitting, so the outage lands inside
OUTAGE_S = 2.0
STOP_AFTER = 50  # complaints in the database when the server is killed

WRITER = textwrap.dedent(
    """
    import datetime as dt, json, os, sys, time
    from sqlalchemy.orm import sessionmaker
    from agent_desk.core.complaints import ComplaintDraft
    from agent_desk.store.db import make_engine
    from agent_desk.store.outbox import Outbox, submit_or_queue

    url, index, count, pace, go = sys.argv[1:6]
    index, count, pace = int(index), int(count), float(pace)
    customer, purchase, agent = json.loads(sys.argv[6])
    engine = make_engine(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    box = Outbox()  # under this writer's own AGENT_DESK_HOME
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.01)
    direct = queued = 0
    for n in range(count):
        draft = ComplaintDraft(
            customer_id=customer,
            purchase_id=purchase if n % 3 == 0 else None,
            category=("repair", "delivery", "billing")[n % 3],
            severity="normal",
            description=f"第{index}号坐席的第{n}条投诉 😟",
            customer_wants="尽快处理",
            promised_reply_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2),
            callback_number="13800138000",
            idempotency_key=f"fault-{index}-{n}",
        )
        outcome = submit_or_queue(sessions, box, draft, agent)
        direct += outcome.sent is not None
        queued += outcome.queued_key is not None
        time.sleep(pace)
    drained = again = 0
    deadline = time.monotonic() + 40
    while box.pending() and time.monotonic() < deadline:
        report = box.drain(sessions, agent)
        drained += report.sent
        again += sum(not result.created for _key, result in report.delivered)
        if box.pending():
            time.sleep(0.2)
    print(json.dumps({"direct": direct, "queued": queued, "drained": drained,
                      "found_again": again, "pending": box.pending()}), flush=True)
    box.close()
    engine.dispose()
    """
)


def _bindir() -> Path:
    candidates = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
    candidates.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in reversed(candidates):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    pytest.fail("AGENT_DESK_TEST_PG_URL is set but no PostgreSQL server binaries (initdb, pg_ctl)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A private PostgreSQL cluster. initdb refuses to run as root, so as root it runs as the
    `postgres` system user in a directory that user owns."""

    def __init__(self, root: Path) -> None:
        self.bindir = _bindir()
        self.root, self.data, self.port = root, root / "data", _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root and there is no 'postgres' user to run initdb as")
            self.user = owner.pw_name
            os.chown(root, owner.pw_uid, owner.pw_gid)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.root,
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{tail}")

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=60 -c shared_buffers=32MB -c fsync=on"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def kill(self) -> None:
        """No shutdown checkpoint, every connection cut: what a crash looks like to clients."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop_quietly(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.kill()


@pytest.fixture
def cluster(pg_server_url: str) -> Iterator[Cluster]:
    # pg_server_url: skipped without AGENT_DESK_TEST_PG_URL, required (run) with it.
    root = Path(tempfile.mkdtemp(prefix="agent-desk-pgfault-"))
    cluster = Cluster(root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop_quietly()
        shutil.rmtree(root, ignore_errors=True)


def _count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Complaint)).scalar_one())
    finally:
        engine.dispose()


def _prepare(url: str) -> list[int]:
    engine = make_engine(url)
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            agent = conn.execute(
                text(
                    "INSERT INTO agents (agent_no, name, role) "
                    "VALUES ('1001', '王小燕', 'operator') RETURNING id"
                )
            ).scalar_one()
            customer = conn.execute(
                text("INSERT INTO customers (name, tags) VALUES ('李建国', '[]') RETURNING id")
            ).scalar_one()
            purchase = conn.execute(
                text(
                    "INSERT INTO purchases (customer_id, product) VALUES (:c, '空调') RETURNING id"
                ),
                {"c": customer},
            ).scalar_one()
        return [customer, purchase, agent]
    finally:
        engine.dispose()


def test_a_server_crash_mid_run_loses_and_duplicates_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    started = time.monotonic()
    ids = _prepare(cluster.url)
    go = tmp_path / "go"
    writers: list[subprocess.Popen[str]] = []
    try:
        for index in range(WRITERS):
            env = {**os.environ, "AGENT_DESK_HOME": str(tmp_path / f"desk-{index}")}
            args = [cluster.url, str(index), str(PER_WRITER), str(PACE_S), str(go)]
            writers.append(
                subprocess.Popen(
                    [sys.executable, "-c", WRITER, *args, json.dumps(ids)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,  # each queued complaint logs a warning
                    text=True,
                )
            )
        for w in writers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        go.touch()

        # Kill the server once part of the run is in, while the writers are still going.
        deadline = time.monotonic() + 20
        while (before := _count(cluster.url)) < STOP_AFTER and time.monotonic() < deadline:
            time.sleep(0.02)
        cluster.kill()
        time.sleep(OUTAGE_S)
        cluster.start()

        reports: list[dict[str, Any]] = []
        for w in writers:
            out, err = w.communicate(timeout=90)
            assert w.returncode == 0, out + err[-3000:]
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
            for stream in (w.stdout, w.stderr):
                if stream is not None:
                    stream.close()

    summary = {
        k: sum(r[k] for r in reports) for k in ("direct", "queued", "drained", "found_again")
    }
    print(f"in before the crash: {before}; {summary}; {time.monotonic() - started:.1f} s")
    assert STOP_AFTER <= before < WRITERS * PER_WRITER, "the outage must fall mid-run"
    assert all(r["pending"] == 0 for r in reports), reports
    assert sum(r["direct"] + r["queued"] for r in reports) == WRITERS * PER_WRITER
    assert sum(r["queued"] for r in reports) > 0, "some submissions must have met the outage"

    expected = {f"fault-{w}-{n}" for w in range(WRITERS) for n in range(PER_WRITER)}
    engine = make_engine(cluster.url)
    try:
        with engine.connect() as conn:
            keys = list(conn.execute(select(Complaint.idempotency_key)).scalars())
            references = set(conn.execute(select(Complaint.reference)).scalars())
            created_events = conn.execute(
                select(func.count()).where(ComplaintEvent.action == "created")
            ).scalar_one()
    finally:
        engine.dispose()
    assert len(keys) == len(set(keys)) == WRITERS * PER_WRITER
    assert set(keys) == expected
    assert len(references) == WRITERS * PER_WRITER
    assert created_events == WRITERS * PER_WRITER  # one audit "created" each, no more
    assert time.monotonic() - started < 90
