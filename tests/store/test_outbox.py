"""The local outbox: a put is on disk when it returns (even if the desk is killed at once),
drains deliver exactly once, and failures keep the item for later."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core.complaints import ComplaintDraft, InvalidComplaint
from agent_desk.core.roles import Role
from agent_desk.paths import UserPaths
from agent_desk.store.agents import add_agent
from agent_desk.store.complaints import submit_complaint
from agent_desk.store.db import make_engine
from agent_desk.store.models import Complaint, ComplaintEvent, Customer
from agent_desk.store.outbox import Outbox, OutboxSender, OutboxStatus, submit_or_queue

# Nothing listens on port 1: connecting fails at once, like a database that is away.
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/agent_desk"


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def ids(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions.begin() as s:
        agent = add_agent(s, "1001", "王小燕", Role.OPERATOR).id
        customer = Customer(name="李建国", tags=[])
        s.add(customer)
        s.flush()
        return agent, customer.id


@pytest.fixture
def box(desk_home: UserPaths) -> Iterator[Outbox]:
    with Outbox() as outbox:  # the desk's own: under AGENT_DESK_HOME
        yield outbox


@pytest.fixture
def away() -> Iterator[sessionmaker[Session]]:
    engine = make_engine(UNREACHABLE)
    yield sessionmaker(engine)
    engine.dispose()


def draft(customer_id: int, n: int = 0, **changes: object) -> ComplaintDraft:
    base = ComplaintDraft(
        customer_id=customer_id,
        category="delivery",
        severity="normal",
        description=f"配送延误第{n}单 😤",
        customer_wants="尽快送达",
        promised_reply_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2),
        callback_number="13800138000",
        idempotency_key=f"desk-1001-{n}",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def rows(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(Complaint)).scalar_one(),
            conn.execute(select(func.count(func.distinct(Complaint.idempotency_key)))).scalar_one(),
            conn.execute(select(func.count()).select_from(ComplaintEvent)).scalar_one(),
        )


def test_the_outbox_lives_under_the_desk_home(desk_home: UserPaths, box: Outbox) -> None:
    assert box.path.parent == desk_home.outbox_dir
    assert box.pending() == 0


def test_a_put_survives_the_desk_being_killed_right_after(desk_home: UserPaths) -> None:
    """The child puts three complaints and SIGKILLs itself the moment the last put returns."""
    drafts = [draft(7, n).to_dict() for n in range(3)]
    child = textwrap.dedent(
        """
        import json, os, signal, sys
        from agent_desk.core.complaints import ComplaintDraft
        from agent_desk.store.outbox import Outbox

        box = Outbox()
        for data in json.loads(sys.argv[1]):
            box.put(ComplaintDraft.from_dict(data), agent_id=1)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child, json.dumps(drafts)],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    with Outbox() as box:
        items = box.items()
    assert [i.key for i in items] == ["desk-1001-0", "desk-1001-1", "desk-1001-2"]
    assert [i.draft.to_dict() for i in items] == drafts
    assert all(i.agent_id == 1 and i.attempts == 0 for i in items)


def test_a_put_survives_sigkill_from_outside(desk_home: UserPaths, tmp_path: Path) -> None:
    child = textwrap.dedent(
        """
        import json, sys, time
        from agent_desk.core.complaints import ComplaintDraft
        from agent_desk.store.outbox import Outbox

        Outbox().put(ComplaintDraft.from_dict(json.loads(sys.argv[1])))
        print("put", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child, json.dumps(draft(7, 9).to_dict())],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "put"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    with Outbox() as box:
        assert [i.key for i in box.items()] == ["desk-1001-9"]


def test_putting_one_key_twice_keeps_one(box: Outbox) -> None:
    assert box.put(draft(7, 1)) == box.put(draft(7, 1)) == "desk-1001-1"
    assert box.pending() == 1


def test_drain_delivers_exactly_once(
    engine: Engine, sessions: sessionmaker[Session], ids: tuple[int, int], box: Outbox
) -> None:
    agent, customer = ids
    for n in range(5):
        box.put(draft(customer, n), agent)
    # The desk died after the database committed one of them but before removing it.
    with sessions.begin() as s:
        first = submit_complaint(s, box.items(1)[0].draft, agent)
    report = box.drain(sessions, agent_id=None, batch=2)
    assert report.sent == 5 and report.remaining == 0 and report.error is None
    by_key = dict(report.delivered)
    assert not by_key["desk-1001-0"].created  # found, not written again
    assert by_key["desk-1001-0"].reference == first.reference
    assert all(by_key[f"desk-1001-{n}"].created for n in range(1, 5))
    assert box.drain(sessions, agent_id=None).sent == 0
    assert rows(engine) == (5, 5, 5)
    with engine.connect() as conn:  # the operator who took them owns them, not the drainer
        assert set(conn.execute(select(Complaint.created_by_id)).scalars()) == {agent}


def test_a_failed_drain_keeps_the_items(
    engine: Engine,
    sessions: sessionmaker[Session],
    away: sessionmaker[Session],
    ids: tuple[int, int],
    box: Outbox,
) -> None:
    agent, customer = ids
    for n in range(3):
        box.put(draft(customer, n), agent)
    report = box.drain(away, agent)
    assert report.sent == 0 and report.remaining == 3
    assert report.error is not None and "OperationalError" in report.error
    assert all(i.attempts == 1 and i.last_error == report.error for i in box.items())
    assert box.last_error() == report.error
    assert box.drain(sessions, agent).sent == 3
    assert box.pending() == 0
    assert rows(engine) == (3, 3, 3)


def test_a_refused_item_stays_and_the_rest_go(
    engine: Engine, sessions: sessionmaker[Session], ids: tuple[int, int], box: Outbox
) -> None:
    agent, customer = ids
    box.put(draft(customer, 0), agent)
    box.put(draft(customer + 1000, 1), agent)  # no such customer: the database refuses it
    box.put(draft(customer, 2), agent)
    report = box.drain(sessions, agent)
    assert sorted(key for key, _r in report.delivered) == ["desk-1001-0", "desk-1001-2"]
    assert list(report.failed) == ["desk-1001-1"]
    assert "foreign key" in report.failed["desk-1001-1"].lower()
    [kept] = box.items()
    assert kept.key == "desk-1001-1" and kept.attempts == 1
    assert rows(engine) == (2, 2, 2)


def test_submit_or_queue(
    engine: Engine,
    sessions: sessionmaker[Session],
    away: sessionmaker[Session],
    ids: tuple[int, int],
    box: Outbox,
) -> None:
    agent, customer = ids
    sent = submit_or_queue(sessions, box, draft(customer, 0), agent)
    assert sent.sent is not None and sent.queued_key is None
    assert sent.message.endswith(sent.sent.reference)
    assert box.pending() == 0

    queued = submit_or_queue(away, box, draft(customer, 1), agent)
    assert queued.sent is None and queued.queued_key == "desk-1001-1"
    assert queued.message.startswith("saved locally, will send")
    assert box.pending() == 1

    with pytest.raises(InvalidComplaint):
        submit_or_queue(sessions, box, draft(customer, 2, description="坏"), agent)
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        submit_or_queue(sessions, box, draft(customer + 1000, 3), agent)
    assert [i.key for i in box.items()] == ["desk-1001-1"]  # refused ones are not kept
    assert box.drain(sessions, agent).sent == 1
    assert rows(engine) == (2, 2, 2)


def test_the_sender_delivers_in_the_background(
    engine: Engine, sessions: sessionmaker[Session], ids: tuple[int, int], box: Outbox
) -> None:
    agent, customer = ids
    for n in range(4):
        box.put(draft(customer, n), agent)
    statuses: list[OutboxStatus] = []
    emptied = threading.Event()

    def on_status(status: OutboxStatus) -> None:
        statuses.append(status)
        if status.pending == 0:
            emptied.set()

    sender = OutboxSender(box, sessions, agent, on_status, interval=30)
    try:
        sender.wake()
        assert emptied.wait(20)
    finally:
        sender.close()
    assert sum(len(s.delivered) for s in statuses) == 4
    assert statuses[-1].last_error is None
    assert rows(engine) == (4, 4, 4)


def test_the_sender_reports_the_outage(away: sessionmaker[Session], box: Outbox) -> None:
    box.put(draft(7, 0))
    seen = threading.Event()
    statuses: list[OutboxStatus] = []

    def on_status(status: OutboxStatus) -> None:
        statuses.append(status)
        seen.set()

    sender = OutboxSender(box, away, None, on_status, interval=30)
    try:
        assert seen.wait(20)
    finally:
        sender.close()
    assert statuses[0].pending == 1 and statuses[0].last_error is not None
