"""The durable local outbox: a complaint the operator submitted is never lost to an outage.

Every submit is written here first (an SQLite file under the user's outbox dir, WAL with
synchronous=FULL, so a put that returned is on disk and survives `kill -9` or a power cut),
then sent to the database, then removed. When the database cannot be reached the item stays
and `OutboxSender` delivers it later. Delivery is exactly once because every item carries the
complaint's idempotency key: an item sent but not yet removed when the desk died is sent
again after the restart and the database returns the complaint it already has.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core.complaints import (
    ComplaintDraft,
    ComplaintRuleError,
    InvalidComplaint,
    validate_draft,
)
from agent_desk.paths import user_paths
from agent_desk.store.complaints import SubmitResult, submit_complaint

log = logging.getLogger(__name__)

OUTBOX_FILE = "complaints-outbox.sqlite3"
FORMAT_VERSION = 1
DIRECT_TIMEOUT_MS = 5000  # the operator is waiting: past this the complaint waits in the outbox
SEND_INTERVAL_S = 5.0
MAX_SEND_INTERVAL_S = 60.0
# Connection trouble (the database is away or too busy): the item waits. Anything else is
# about the item itself and is reported; the rest of the outbox still goes.
CONNECTION_ERRORS = (OperationalError, InterfaceError, PoolTimeout)
# What the database or the rules say about one complaint.
REFUSALS = (SQLAlchemyError, ComplaintRuleError)


def is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, CONNECTION_ERRORS):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY,
    draft TEXT NOT NULL,
    agent_id INTEGER,
    queued_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_at TEXT
)"""


@dataclass(frozen=True)
class OutboxItem:
    key: str
    draft: ComplaintDraft
    agent_id: int | None
    queued_at: dt.datetime
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class DrainReport:
    delivered: tuple[tuple[str, SubmitResult], ...] = ()
    failed: dict[str, str] = field(default_factory=dict)  # key → why (kept for a later try)
    remaining: int = 0
    error: str | None = None  # the connection error that stopped this drain, if any

    @property
    def sent(self) -> int:
        return len(self.delivered)


@dataclass(frozen=True)
class SubmitOutcome:
    sent: SubmitResult | None
    queued_key: str | None
    error: str | None = None  # why it was queued

    @property
    def message(self) -> str:
        if self.sent is not None:
            return f"submitted · 已提交 {self.sent.reference}"
        return "saved locally, will send · 已保存在本机，恢复连接后自动发送"


class Outbox:
    """Thread-safe: the GUI thread puts while the sender thread drains. One connection, used
    under a lock: opening one per call would make every close a WAL checkpoint (three extra
    fsyncs a complaint). `close()` it when the desk stops (or use it as a context manager).
    """

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            path = user_paths().ensure().outbox_dir / OUTBOX_FILE
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._in_flight: set[str] = set()  # being sent directly by submit_or_queue
        self._lock = threading.RLock()
        # Autocommit: each statement is its own transaction, committed (fsynced) on return.
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=15, isolation_level=None, check_same_thread=False
        )
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise sqlite3.ProgrammingError(f"outbox {self.path} is closed")
            yield self._conn

    def put(self, draft: ComplaintDraft, agent_id: int | None = None) -> str:
        """Keep `draft` on disk; returns its idempotency key. Putting one key twice keeps one."""
        data = json.dumps({"v": FORMAT_VERSION, "draft": draft.to_dict()}, ensure_ascii=False)
        with self._db() as db:
            db.execute(
                "INSERT INTO outbox (key, draft, agent_id, queued_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING",
                (draft.idempotency_key, data, agent_id, _now()),
            )
        return draft.idempotency_key

    def pending(self) -> int:
        with self._db() as db:
            return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def items(self, limit: int = 1000, exclude: Sequence[str] = ()) -> list[OutboxItem]:
        """The oldest items first (the order the operator saved them)."""
        skip = set(exclude) | self._in_flight_keys()
        with self._db() as db:
            rows = db.execute(
                "SELECT key, draft, agent_id, queued_at, attempts, last_error FROM outbox "
                "ORDER BY rowid LIMIT ?",
                (limit + len(skip),),
            ).fetchall()
        out = []
        for key, data, agent_id, queued_at, attempts, last_error in rows:
            if key in skip:
                continue
            try:
                draft = ComplaintDraft.from_dict(json.loads(data)["draft"])
            except (ValueError, KeyError, TypeError) as exc:
                # Never dropped: it stays on disk, counted as pending, with the reason.
                log.error("outbox item %s cannot be read: %s", key, exc)
                self.note_failure([key], f"unreadable outbox item: {exc}")
                continue
            out.append(
                OutboxItem(
                    key, draft, agent_id, dt.datetime.fromisoformat(queued_at), attempts, last_error
                )
            )
        return out[:limit]

    def last_error(self) -> str | None:
        with self._db() as db:
            row = db.execute(
                "SELECT last_error FROM outbox WHERE last_error IS NOT NULL "
                "ORDER BY last_attempt_at DESC LIMIT 1"
            ).fetchone()
        return None if row is None else str(row[0])

    def remove(self, keys: Sequence[str]) -> None:
        """Forget delivered items: one transaction (one fsync) for a whole batch."""
        if keys:
            with self._transaction() as db:
                db.executemany("DELETE FROM outbox WHERE key = ?", [(k,) for k in keys])

    def note_failure(self, keys: Sequence[str], error: str) -> None:
        if keys:
            with self._transaction() as db:
                db.executemany(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                    "last_attempt_at = ? WHERE key = ?",
                    [(error, _now(), k) for k in keys],
                )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _in_flight_keys(self) -> set[str]:
        with self._lock:
            return set(self._in_flight)

    @contextmanager
    def _sending(self, key: str) -> Iterator[None]:
        with self._lock:
            self._in_flight.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight.discard(key)

    def drain(
        self,
        sessions: sessionmaker[Session],
        agent_id: int | None,
        batch: int = 100,
        stop: threading.Event | None = None,
    ) -> DrainReport:
        """Deliver everything waiting; stop at the first connection error (retry later).

        Each batch goes in one database transaction and is removed from the outbox only after
        that transaction committed. A batch with a bad item is redone one item per
        transaction, so the bad item stays (with its error) and the others go.
        """
        delivered: list[tuple[str, SubmitResult]] = []
        failed: dict[str, str] = {}
        error: str | None = None
        while stop is None or not stop.is_set():
            items = self.items(batch, exclude=list(failed))
            if not items:
                break
            try:
                results = _deliver(sessions, items, agent_id)
            except REFUSALS as exc:  # only connection errors come out of _deliver
                error = explain(exc)
                self.note_failure([i.key for i in items], error)
                break
            sent = [(key, r) for key, r in results if isinstance(r, SubmitResult)]
            self.remove([key for key, _r in sent])
            delivered.extend(sent)
            for key, r in results:
                if isinstance(r, str):
                    failed[key] = r
                    self.note_failure([key], r)
        return DrainReport(tuple(delivered), failed, self.pending(), error)


def _deliver(
    sessions: sessionmaker[Session], items: Sequence[OutboxItem], agent_id: int | None
) -> list[tuple[str, SubmitResult | str]]:
    try:
        with sessions.begin() as session:
            return [(i.key, submit_complaint(session, i.draft, _agent(i, agent_id))) for i in items]
    except REFUSALS as exc:
        if is_connection_error(exc):
            raise
    # One of them is refused: find out which, one transaction each.
    return [(i.key, _one(sessions, i, agent_id)) for i in items]


def _one(
    sessions: sessionmaker[Session], item: OutboxItem, agent_id: int | None
) -> SubmitResult | str:
    try:
        with sessions.begin() as session:
            return submit_complaint(session, item.draft, _agent(item, agent_id))
    except REFUSALS as exc:
        if is_connection_error(exc):
            raise
        log.warning("outbox item %s not accepted: %s", item.key, explain(exc))
        return explain(exc)


def _agent(item: OutboxItem, fallback: int | None) -> int | None:
    # The operator who took the complaint owns it (R25), even if another one drains it.
    return item.agent_id if item.agent_id is not None else fallback


def explain(exc: BaseException) -> str:
    """The first line of the database's own message, without SQLAlchemy's SQL dump."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0] if lines else ''}".strip()


def submit_or_queue(
    sessions: sessionmaker[Session],
    outbox: Outbox,
    draft: ComplaintDraft,
    agent_id: int | None,
) -> SubmitOutcome:
    """The desk's submit: straight to the database, or kept in the outbox when it is away.

    The draft is written to the outbox first, so a desk killed during the attempt still has
    it after a restart. InvalidComplaint (nothing queued) and errors the database gives about
    the complaint itself are raised: the form keeps the text and shows why.
    Call it off the GUI thread.
    """
    errors = validate_draft(draft, None, categories=None)
    if errors:
        raise InvalidComplaint(errors)
    key = draft.idempotency_key
    # Marked in flight before it is queued, so the sender thread leaves it to this attempt.
    with outbox._sending(key):
        outbox.put(draft, agent_id)
        try:
            with sessions.begin() as session:
                _short_timeout(session)
                result = submit_complaint(session, draft, agent_id)
        except REFUSALS as exc:
            if not is_connection_error(exc):
                outbox.remove([key])  # refused for what it is: the form shows why
                raise
            error = explain(exc)
            log.warning("complaint %s kept in the outbox: %s", key, error)
            outbox.note_failure([key], error)
            return SubmitOutcome(None, key, error)
    # Anything else (the desk being stopped, say) leaves the item queued: a second delivery
    # is harmless, a lost one is not.
    try:
        outbox.remove([key])
    except sqlite3.Error:  # sent; if it stays, the next drain finds it delivered already
        log.exception("complaint %s sent but still in the outbox", key)
    return SubmitOutcome(result, None)


def _short_timeout(session: Session) -> None:
    # A server that accepts connections but does not answer must not hold the operator.
    if session.connection().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = {DIRECT_TIMEOUT_MS}"))


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    last_error: str | None
    delivered: tuple[tuple[str, SubmitResult], ...] = ()


class OutboxSender:
    """Drains the outbox in the background: every few seconds, and at once on `wake()`.

    `on_status` is called from the sender thread after every round (a Qt caller forwards it
    through a signal). While the database stays away the interval doubles up to a minute.
    """

    def __init__(
        self,
        outbox: Outbox,
        sessions: sessionmaker[Session],
        agent_id: int | None,
        on_status: Callable[[OutboxStatus], None] | None = None,
        interval: float = SEND_INTERVAL_S,
        max_interval: float = MAX_SEND_INTERVAL_S,
    ) -> None:
        self._outbox, self._sessions, self._agent_id = outbox, sessions, agent_id
        self._on_status = on_status or (lambda _status: None)
        self._interval, self._max_interval = interval, max_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Try now (the database came back, or something was just queued)."""
        self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        delay = self._interval
        while not self._stop.is_set():
            try:
                report = self._outbox.drain(self._sessions, self._agent_id, stop=self._stop)
                error = report.error or next(iter(report.failed.values()), None)
                status = OutboxStatus(report.remaining, error, report.delivered)
            except Exception as exc:  # a broken outbox file must not end the thread silently
                log.exception("outbox sender round failed")
                status = OutboxStatus(self._safe_pending(), explain(exc))
            self._on_status(status)
            failing = status.last_error is not None
            delay = min(delay * 2, self._max_interval) if failing else self._interval
            self._wake.wait(delay)
            self._wake.clear()

    def _safe_pending(self) -> int:
        try:
            return self._outbox.pending()
        except sqlite3.Error:
            return -1


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
