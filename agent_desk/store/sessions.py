"""Every call is a session in the database, written as it happens.

The recorder takes each fact (ringing, screen pop, hold, notes, wrap-up…) from the GUI
thread, and one worker thread writes them in order, each in its own short transaction, so a
crash mid-call leaves everything up to that moment in the database. When the database is
unreachable the worker keeps the facts and retries (nothing the operator did is dropped);
`pending` says how many wait.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.store.models import CallSession, SessionEvent
from agent_desk.store.values import utc

log = logging.getLogger(__name__)

RETRY_FIRST_S, RETRY_MAX_S = 0.5, 30.0


@dataclass(frozen=True)
class _Op:
    kind: str  # "start" | "event" | "customer" | "notes" | "finish"
    call_id: str
    at: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)


class SessionRecorder:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        agent_id: int | None,
        on_status: Callable[[str | None], None] | None = None,
    ) -> None:
        self._sessions, self._agent_id = sessions, agent_id
        self._on_status = on_status or (lambda _msg: None)
        self._queue: queue.Queue[_Op | None] = queue.Queue()
        self._ids: dict[str, tuple[int, dt.datetime]] = {}  # call id -> (row id, start)
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="session-recorder", daemon=True)
        self._thread.start()

    # -- called from the GUI thread ----------------------------------------------------------

    def start_session(
        self, call_id: str, number: str, at: dt.datetime, direction: str = "inbound"
    ) -> None:
        self._put(_Op("start", call_id, at, {"number": number, "direction": direction}))

    def event(self, call_id: str, kind: str, at: dt.datetime, **payload: Any) -> None:
        self._put(_Op("event", call_id, at, {"kind": kind, "payload": payload}))

    def set_customer(self, call_id: str, customer_id: int | None, at: dt.datetime) -> None:
        self._put(_Op("customer", call_id, at, {"customer_id": customer_id}))

    def save_notes(self, call_id: str, notes: str, at: dt.datetime) -> None:
        self._put(_Op("notes", call_id, at, {"notes": notes}))

    def finish(
        self,
        call_id: str,
        at: dt.datetime,
        *,
        answered_at: dt.datetime | None = None,
        ended_at: dt.datetime | None = None,
        wrap_up_code: str | None = None,
        defaulted: bool = False,
    ) -> None:
        self._put(
            _Op(
                "finish",
                call_id,
                at,
                {
                    "answered_at": answered_at,
                    "ended_at": ended_at or at,
                    "wrap_up_code": wrap_up_code,
                    "defaulted": defaulted,
                },
            )
        )

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything handed over so far is in the database."""
        return self._idle.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout)

    def _put(self, op: _Op) -> None:
        self._idle.clear()
        self._queue.put(op)

    # -- worker thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            op = self._queue.get()
            if op is None:
                return
            delay = RETRY_FIRST_S
            while True:
                try:
                    with self._sessions.begin() as session:
                        self._apply(session, op)
                except (OperationalError, InterfaceError) as exc:  # the connection: retry
                    message = f"session not saved yet, retrying: {str(exc).splitlines()[0]}"
                    log.warning("%s (%s for call %s)", message, op.kind, op.call_id)
                    self._on_status(message)
                    if self._stop.wait(delay):
                        return
                    delay = min(delay * 2, RETRY_MAX_S)
                    continue
                except SQLAlchemyError:  # retrying would fail the same way: say so, go on
                    log.exception("cannot record %s for call %s", op.kind, op.call_id)
                    self._on_status(f"could not record {op.kind} for call {op.call_id}")
                if delay != RETRY_FIRST_S:
                    self._on_status(None)
                break
            if self._queue.empty():
                self._idle.set()

    def _apply(self, session: Session, op: _Op) -> None:
        if op.kind == "start":
            row = session.scalar(select(CallSession).where(CallSession.call_id == op.call_id))
            if row is None:
                row = CallSession(
                    call_id=op.call_id,
                    number=op.data["number"],
                    direction=op.data["direction"],
                    agent_id=self._agent_id,
                    started_at=op.at,
                )
                session.add(row)
                session.flush()
            self._ids[op.call_id] = (row.id, row.started_at)
            return
        session_id, started = self._session_of(session, op.call_id)
        if op.kind == "event":
            offset = max(0, int((op.at - utc(started)).total_seconds() * 1000))
            session.add(
                SessionEvent(
                    session_id=session_id,
                    offset_ms=offset,
                    kind=op.data["kind"],
                    payload=op.data["payload"],
                )
            )
        elif op.kind == "customer":
            session.execute(
                update(CallSession)
                .where(CallSession.id == session_id)
                .values(customer_id=op.data["customer_id"])
            )
        elif op.kind == "notes":
            session.execute(
                update(CallSession)
                .where(CallSession.id == session_id)
                .values(notes=op.data["notes"])
            )
        elif op.kind == "finish":
            values = {
                "ended_at": op.data["ended_at"],
                "wrap_up_code": op.data["wrap_up_code"],
                "wrap_up_defaulted": op.data["defaulted"],
            }
            if op.data["answered_at"] is not None:
                values["answered_at"] = op.data["answered_at"]
            session.execute(
                update(CallSession).where(CallSession.id == session_id).values(**values)
            )

    def _session_of(self, session: Session, call_id: str) -> tuple[int, dt.datetime]:
        known = self._ids.get(call_id)
        if known is None:  # a session started before a restart: look it up once
            row = session.execute(
                select(CallSession.id, CallSession.started_at).where(CallSession.call_id == call_id)
            ).one()
            known = self._ids[call_id] = (row.id, row.started_at)
        return known


@dataclass(frozen=True)
class UnfinishedSession:
    """A call the desk was on when it stopped: shown again after a restart."""

    call_id: str
    number: str
    customer_id: int | None
    notes: str
    started_at: dt.datetime
    answered: bool
    ended: bool
    events: tuple[str, ...]


def find_unfinished_session(
    session: Session, agent_id: int, since: dt.datetime
) -> UnfinishedSession | None:
    """The agent's newest session without a wrap-up, started after `since`."""
    row = session.scalar(
        select(CallSession)
        .where(
            CallSession.agent_id == agent_id,
            CallSession.wrap_up_code.is_(None),
            CallSession.started_at >= since,
        )
        .order_by(CallSession.started_at.desc())
        .limit(1)
    )
    if row is None:
        return None
    kinds = session.scalars(
        select(SessionEvent.kind)
        .where(SessionEvent.session_id == row.id)
        .order_by(SessionEvent.offset_ms, SessionEvent.id)
    ).all()
    if "missed" in kinds:
        return None
    return UnfinishedSession(
        row.call_id,
        row.number,
        row.customer_id,
        row.notes,
        utc(row.started_at),
        row.answered_at is not None or "answered" in kinds,
        row.ended_at is not None,
        tuple(kinds),
    )
