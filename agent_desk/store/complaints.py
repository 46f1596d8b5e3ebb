"""Complaints in the shared database: submit exactly once, move through the workflow with an
audit trail, and never let two desks overwrite each other.

Every function takes a Session and runs inside the caller's transaction (one short
transaction per user action). Writes go through Core statements on the session's connection:
a submit is two or three round trips, which is what lets fifty desks write at once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Integer,
    RowMapping,
    Select,
    String,
    Table,
    TextualSelect,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

from agent_desk.core.complaints import (
    ACTION_ESCALATED,
    ACTION_UPDATED,
    AWAITING_REPLY_STATUSES,
    EVENT_ACTIONS,
    REFERENCE_DIGITS,
    REFERENCE_PREFIX,
    REFERENCE_UTC_OFFSET,
    REPEAT_WINDOW_DAYS,
    ComplaintDraft,
    ComplaintStatus,
    EarlierComplaint,
    InvalidComplaint,
    NewComplaint,
    RepeatFinding,
    check_reason,
    check_transition,
    describe_event,
    next_escalation_level,
    repeat_of,
    validate_changes,
    validate_draft,
)
from agent_desk.store.models import Agent, Complaint, ComplaintEvent, Customer, Timestamp
from agent_desk.store.values import utc, utc_or_none

COMPLAINTS = cast(Table, Complaint.__table__)
EVENTS = cast(Table, ComplaintEvent.__table__)
# The newest few complaints about one product in one category are all the rule needs.
REPEAT_CANDIDATES = 10
DUE_SOON = dt.timedelta(hours=2)


class ComplaintNotFound(LookupError):
    pass


@dataclass(frozen=True)
class SubmitResult:
    complaint_id: int
    reference: str
    escalation_level: int
    repeat_of_reference: str | None
    created: bool  # False: this idempotency key was delivered before; that complaint is returned


@dataclass(frozen=True)
class ComplaintEventView:
    id: int
    at: dt.datetime
    actor_id: int | None
    actor: str  # "1001 王小燕", or "—" for the system
    action: str
    from_status: str | None
    to_status: str | None
    reason: str
    payload: Mapping[str, Any]
    version: int | None

    @property
    def text(self) -> str:
        return describe_event(
            self.at.astimezone(),
            self.actor,
            self.action,
            self.from_status,
            self.to_status,
            self.reason,
            self.payload,
        )


@dataclass(frozen=True)
class ComplaintView:
    id: int
    reference: str
    customer_id: int
    purchase_id: int | None
    session_id: int | None
    category: str
    severity: str
    description: str
    customer_wants: str
    promised_reply_at: dt.datetime
    department: str
    assignee: str
    callback_number: str
    status: str
    escalation_level: int
    repeat_of_id: int | None
    repeat_of_reference: str | None
    notes: str
    escalated_at: dt.datetime | None
    escalation_reason: str
    created_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    events: tuple[ComplaintEventView, ...]


class ComplaintConflict(Exception):
    """Another desk changed the complaint since this one read it (optimistic locking).

    `current` is the complaint as it is now, `changes` what happened since the caller's
    version, one line each, so the operator can look and choose again.
    """

    def __init__(self, current: ComplaintView, changes: list[str], expected_version: int) -> None:
        super().__init__(
            f"{current.reference} was changed by someone else "
            f"(version {expected_version} → {current.version}): " + "; ".join(changes)
        )
        self.current = current
        self.changes = changes
        self.expected_version = expected_version


@dataclass(frozen=True)
class CallbackDue:
    complaint_id: int
    reference: str
    customer_id: int
    customer_name: str
    callback_number: str
    category: str
    severity: str
    status: str
    promised_reply_at: dt.datetime
    overdue: bool
    escalation_level: int
    created_by_id: int | None
    department: str
    assignee: str


# -- submit ---------------------------------------------------------------------------------------


def submit_complaint(session: Session, draft: ComplaintDraft, agent_id: int | None) -> SubmitResult:
    """Store the complaint once: a key seen before returns that complaint (created False).

    The reference is made by the database from the new row's id and the database's own date
    in the same statement, so every desk gets a distinct one whatever its clock says. Two
    desks racing with one key meet at the unique key (INSERT … ON CONFLICT DO NOTHING: the
    second waits for the first to commit, then finds its row) instead of failing.

    On PostgreSQL the complaint and its first audit event are written by one statement, so a
    submit is atomic even on an autocommit connection (the throughput bench uses that).
    """
    errors = validate_draft(draft, None, categories=None)
    if errors:
        raise InvalidComplaint(errors)
    draft = draft.normalised()
    conn = session.connection()
    finding, repeat_ref = _repeat_finding(
        conn, draft.customer_id, draft.purchase_id, draft.category, draft.repeat_window_days
    )
    level = finding.escalation_level if finding else 0
    params: dict[str, Any] = {
        "idempotency_key": draft.idempotency_key,
        "customer_id": draft.customer_id,
        "purchase_id": draft.purchase_id,
        "call_id": draft.call_id,
        "category": draft.category,
        "severity": draft.severity,
        "description": draft.description,
        "customer_wants": draft.customer_wants,
        "promised_reply_at": utc_or_none(draft.promised_reply_at),
        "department": draft.department,
        "assignee": draft.assignee,
        "callback_number": draft.callback_number,
        "status": ComplaintStatus.RECEIVED.value,
        "escalation_level": level,
        "repeat_of_id": finding.earlier_id if finding else None,
        "repeat_of_reference": repeat_ref,
        "created_by_id": agent_id,
        "created_action": EVENT_ACTIONS[ComplaintStatus.RECEIVED],
    }
    if _is_postgresql(conn):
        rows = _pg_rows(conn, _PG_INSERT, params)
    else:
        rows = [tuple(r) for r in conn.execute(_sqlite_insert(), params)]
    if not rows:  # the key was there already: delivered before, exactly once
        return _existing(conn, draft.idempotency_key)
    complaint_id, ref, created_at = int(rows[0][0]), str(rows[0][1]), rows[0][2]
    if not _is_postgresql(conn):  # PostgreSQL wrote the first event in the same statement
        conn.execute(
            insert(EVENTS).values(
                complaint_id=complaint_id,
                at=created_at,
                actor_id=agent_id,
                action=params["created_action"],
                from_status=None,
                to_status=params["status"],
                reason="",
                # The call id stays in the trail even when the session row is written after
                # the complaint (each waits out an outage on its own), so the link is kept.
                payload={"reference": ref, "call_id": draft.call_id, "repeat_of": repeat_ref},
                version=1,
            )
        )
    return SubmitResult(complaint_id, ref, level, repeat_ref, True)


def _is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _pg_rows(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run `sql` on the psycopg connection under the session's transaction.

    The submit is the one path fifty desks run at once on a two-core server: SQLAlchemy's
    statement machinery cost three times the client CPU of the statements themselves there.
    Errors are translated exactly as SQLAlchemy would (OperationalError on a lost server,
    with the pooled connection invalidated), so callers see no difference.
    """
    import psycopg  # only a PostgreSQL desk gets here, and it has loaded psycopg already

    driver = conn.connection.driver_connection
    assert driver is not None, "the session's connection is open"
    try:
        return list(driver.execute(sql, params).fetchall())
    except psycopg.Error as exc:
        lost = conn.dialect.is_disconnect(cast(Any, exc), driver, None)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql, dict(params), exc, psycopg.Error, connection_invalidated=lost, dialect=conn.dialect
        ) from exc


_OFFSET_HOURS = int(REFERENCE_UTC_OFFSET.total_seconds() // 3600)
_MODULUS = 10**REFERENCE_DIGITS
_COLUMNS = (
    "id, reference, idempotency_key, customer_id, purchase_id, session_id, category, severity, "
    "description, customer_wants, promised_reply_at, department, assignee, callback_number, "
    "status, escalation_level, repeat_of_id, created_by_id"
)
# One round trip: the id from the sequence, the reference from it and the server's date, the
# complaint and its first audit event.
_PG_INSERT = f"""
WITH n AS MATERIALIZED (SELECT nextval('complaints_id_seq') AS id),
c AS (
    INSERT INTO complaints ({_COLUMNS})
    VALUES (
        (SELECT id FROM n),
        '{REFERENCE_PREFIX}-'
            || to_char(now() AT TIME ZONE 'UTC' + interval '{_OFFSET_HOURS} hours', 'YYYYMMDD')
            || '-' || lpad(mod((SELECT id FROM n), {_MODULUS})::text, {REFERENCE_DIGITS}, '0'),
        %(idempotency_key)s, %(customer_id)s, %(purchase_id)s,
        (SELECT s.id FROM call_sessions s WHERE s.call_id = %(call_id)s),
        %(category)s, %(severity)s, %(description)s, %(customer_wants)s,
        %(promised_reply_at)s, %(department)s, %(assignee)s, %(callback_number)s, %(status)s,
        %(escalation_level)s, %(repeat_of_id)s, %(created_by_id)s
    )
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, reference, created_at
),
e AS (
    INSERT INTO complaint_events
        (complaint_id, at, actor_id, action, from_status, to_status, reason, payload, version)
    SELECT c.id, c.created_at, %(created_by_id)s::integer, %(created_action)s::text, NULL,
           %(status)s::text, '',
           jsonb_build_object('reference', c.reference, 'call_id', %(call_id)s::text,
                              'repeat_of', %(repeat_of_reference)s::text),
           1
    FROM c
)
SELECT id, reference, created_at FROM c"""
# The database's now(): the window is measured on the clock the rows were stamped with.
_PG_REPEAT = f"""
SELECT id, reference, created_at, escalation_level, now() FROM complaints
WHERE customer_id = %(customer_id)s AND purchase_id = %(purchase_id)s
  AND category = %(category)s
ORDER BY created_at DESC, id DESC
LIMIT {REPEAT_CANDIDATES}"""


@cache
def _sqlite_insert() -> TextualSelect:
    # SQLite has one writer at a time, so the next id is max + 1 (what it would pick itself).
    sql = f"""
INSERT INTO complaints ({_COLUMNS})
SELECT n.id,
       '{REFERENCE_PREFIX}-' || strftime('%Y%m%d', 'now', '+{_OFFSET_HOURS} hours')
           || '-' || substr('{"0" * REFERENCE_DIGITS}' || (n.id % {_MODULUS}), -{REFERENCE_DIGITS}),
       :idempotency_key, :customer_id, :purchase_id,
       (SELECT s.id FROM call_sessions s WHERE s.call_id = :call_id),
       :category, :severity, :description, :customer_wants, :promised_reply_at,
       :department, :assignee, :callback_number, :status, :escalation_level,
       :repeat_of_id, :created_by_id
FROM (SELECT coalesce(max(id), 0) + 1 AS id FROM complaints) AS n
WHERE true
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id, reference, created_at"""
    return (
        text(sql)
        .bindparams(bindparam("promised_reply_at", type_=Timestamp))
        .columns(id=Integer, reference=String, created_at=Timestamp)
    )


@cache
def _sqlite_repeat() -> Select[tuple[int, str, dt.datetime, int, dt.datetime]]:
    c = COMPLAINTS.c
    return (
        select(c.id, c.reference, c.created_at, c.escalation_level, func.now(type_=Timestamp))
        .where(
            c.customer_id == bindparam("customer_id"),
            c.purchase_id == bindparam("purchase_id"),
            c.category == bindparam("category"),
        )
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(REPEAT_CANDIDATES)
    )


def _existing(conn: Connection, key: str) -> SubmitResult:
    earlier = aliased(Complaint)
    row = conn.execute(
        select(Complaint.id, Complaint.reference, Complaint.escalation_level, earlier.reference)
        .outerjoin(earlier, earlier.id == Complaint.repeat_of_id)
        .where(Complaint.idempotency_key == key)
    ).one()
    return SubmitResult(row[0], row[1], row[2], row[3], False)


# -- repeat faults --------------------------------------------------------------------------------


def find_repeat(
    session: Session,
    customer_id: int,
    purchase_id: int | None,
    category: str,
    window_days: int = REPEAT_WINDOW_DAYS,
) -> RepeatFinding | None:
    """What submitting now would link to, for the operator to read before submitting."""
    finding, _ref = _repeat_finding(
        session.connection(), customer_id, purchase_id, category, window_days
    )
    return finding


def _repeat_finding(
    conn: Connection,
    customer_id: int,
    purchase_id: int | None,
    category: str,
    window_days: int,
) -> tuple[RepeatFinding | None, str | None]:
    if purchase_id is None:
        return None, None
    params = {"customer_id": customer_id, "purchase_id": purchase_id, "category": category}
    if _is_postgresql(conn):
        rows = _pg_rows(conn, _PG_REPEAT, params)
    else:
        rows = [tuple(r) for r in conn.execute(_sqlite_repeat(), params)]
    if not rows:
        return None, None
    now = utc(rows[0][4])
    earlier = [
        EarlierComplaint(cid, ref, customer_id, purchase_id, category, utc(at), level)
        for cid, ref, at, level, _now in rows
    ]
    finding = repeat_of(NewComplaint(customer_id, purchase_id, category, now), earlier, window_days)
    if finding is None:
        return None, None
    return finding, next(e.reference for e in earlier if e.id == finding.earlier_id)


# -- changes with optimistic locking -------------------------------------------------------------


def transition(
    session: Session,
    complaint_id: int,
    expected_version: int,
    target: str,
    actor_id: int | None,
    reason: str = "",
) -> ComplaintView:
    """Move the complaint to `target` (IllegalTransition, MissingReason, ComplaintConflict)."""
    conn = session.connection()
    status, _level = _state(conn, complaint_id, expected_version)
    check_transition(status, target)
    check_reason(target, reason)
    _change(
        conn,
        complaint_id,
        expected_version,
        {"status": target},
        actor_id,
        EVENT_ACTIONS[ComplaintStatus(target)],
        status,
        target,
        reason,
        {},
    )
    return load_complaint(session, complaint_id)


def update_fields(
    session: Session,
    complaint_id: int,
    expected_version: int,
    actor_id: int | None,
    *,
    assignee: str | None = None,
    department: str | None = None,
    promised_reply_at: dt.datetime | None = None,
    notes: str | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> ComplaintView:
    """Change the handler, department, promised reply time or notes; None leaves a field.

    A new reply time must lie in the future of `now` when it is given (the desk's clock is
    good enough for "not in the past"; the promise itself is what the customer was told).
    """
    wanted: dict[str, Any] = {
        name: value
        for name, value in (
            ("assignee", assignee),
            ("department", department),
            ("promised_reply_at", promised_reply_at),
            ("notes", notes),
        )
        if value is not None
    }
    errors = validate_changes(wanted, now)
    if errors:
        raise InvalidComplaint(errors)
    conn = session.connection()
    status, _level = _state(conn, complaint_id, expected_version)
    current = conn.execute(
        select(*(COMPLAINTS.c[name] for name in wanted)).where(COMPLAINTS.c.id == complaint_id)
    ).one()
    changes: dict[str, list[Any]] = {}
    values: dict[str, Any] = {}
    for name, old in zip(wanted, current, strict=True):
        new = wanted[name]
        if name == "promised_reply_at":
            old, new = utc(old), new.astimezone(dt.UTC)
            if old == new:
                continue
            changes[name] = [old.isoformat(), new.isoformat()]
        elif old == new:
            continue
        else:
            changes[name] = [old, new]
        values[name] = new
    if not values:
        return load_complaint(session, complaint_id)
    _change(
        conn,
        complaint_id,
        expected_version,
        values,
        actor_id,
        ACTION_UPDATED,
        status,
        status,
        reason,
        {"changes": changes},
    )
    return load_complaint(session, complaint_id)


def escalate_now(
    session: Session, complaint_id: int, expected_version: int, actor_id: int | None, reason: str
) -> ComplaintView:
    """Supervisor hand-off: one level up, with the reason on the record (MissingReason,
    EscalationRefused, ComplaintConflict)."""
    conn = session.connection()
    status, level = _state(conn, complaint_id, expected_version)
    new_level = next_escalation_level(status, level, reason)
    _change(
        conn,
        complaint_id,
        expected_version,
        {
            "escalation_level": new_level,
            "escalated_at": func.now(),
            "escalated_by_id": actor_id,
            "escalation_reason": reason,
        },
        actor_id,
        ACTION_ESCALATED,
        status,
        status,
        reason,
        {"level": new_level, "from_level": level},
    )
    return load_complaint(session, complaint_id)


def _state(conn: Connection, complaint_id: int, expected_version: int) -> tuple[str, int]:
    """The status and level, after checking the caller still holds the current version."""
    row = conn.execute(
        select(COMPLAINTS.c.status, COMPLAINTS.c.escalation_level, COMPLAINTS.c.version).where(
            COMPLAINTS.c.id == complaint_id
        )
    ).one_or_none()
    if row is None:
        raise ComplaintNotFound(f"no complaint {complaint_id}")
    if row.version != expected_version:
        raise _conflict(conn, complaint_id, expected_version)
    return str(row.status), int(row.escalation_level)


def _change(
    conn: Connection,
    complaint_id: int,
    expected_version: int,
    values: Mapping[str, Any],
    actor_id: int | None,
    action: str,
    from_status: str | None,
    to_status: str | None,
    reason: str,
    payload: Mapping[str, Any],
) -> None:
    # The version in the WHERE clause is the lock: a desk that changed the row in between
    # (even after our read) makes this match nothing, and we report a conflict.
    result = conn.execute(
        update(COMPLAINTS)
        .where(COMPLAINTS.c.id == complaint_id, COMPLAINTS.c.version == expected_version)
        .values(**values, version=COMPLAINTS.c.version + 1, updated_at=func.now())
    )
    if result.rowcount != 1:
        raise _conflict(conn, complaint_id, expected_version)
    conn.execute(
        insert(EVENTS).values(
            complaint_id=complaint_id,
            actor_id=actor_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            payload=dict(payload),
            version=expected_version + 1,
        )
    )


def _conflict(conn: Connection, complaint_id: int, expected_version: int) -> ComplaintConflict:
    current = _load(conn, complaint_id)
    missed = [e for e in current.events if e.version is not None and e.version > expected_version]
    changes = [e.text for e in missed] or [
        f"changed elsewhere (version {expected_version} → {current.version})"
    ]
    return ComplaintConflict(current, changes, expected_version)


# -- reading --------------------------------------------------------------------------------------


def load_complaint(session: Session, complaint_id: int) -> ComplaintView:
    """The complaint with its whole audit trail, oldest event first."""
    return _load(session.connection(), complaint_id)


def _load(conn: Connection, complaint_id: int) -> ComplaintView:
    earlier = aliased(Complaint)
    row = conn.execute(
        select(COMPLAINTS, earlier.reference.label("repeat_of_reference"))
        .outerjoin(earlier, earlier.id == COMPLAINTS.c.repeat_of_id)
        .where(COMPLAINTS.c.id == complaint_id)
    ).one_or_none()
    if row is None:
        raise ComplaintNotFound(f"no complaint {complaint_id}")
    events = conn.execute(
        select(EVENTS, Agent.agent_no, Agent.name)
        .outerjoin(Agent, Agent.id == EVENTS.c.actor_id)
        .where(EVENTS.c.complaint_id == complaint_id)
        .order_by(EVENTS.c.id)
    ).all()
    m = row._mapping
    return ComplaintView(
        id=m["id"],
        reference=m["reference"],
        customer_id=m["customer_id"],
        purchase_id=m["purchase_id"],
        session_id=m["session_id"],
        category=m["category"],
        severity=m["severity"],
        description=m["description"],
        customer_wants=m["customer_wants"],
        promised_reply_at=utc(m["promised_reply_at"]),
        department=m["department"],
        assignee=m["assignee"],
        callback_number=m["callback_number"],
        status=m["status"],
        escalation_level=m["escalation_level"],
        repeat_of_id=m["repeat_of_id"],
        repeat_of_reference=m["repeat_of_reference"],
        notes=m["notes"],
        escalated_at=utc(m["escalated_at"]) if m["escalated_at"] else None,
        escalation_reason=m["escalation_reason"],
        created_by_id=m["created_by_id"],
        created_at=utc(m["created_at"]),
        updated_at=utc(m["updated_at"]),
        version=m["version"],
        events=tuple(_event_view(e._mapping) for e in events),
    )


def _event_view(m: RowMapping) -> ComplaintEventView:
    actor = f"{m['agent_no']} {m['name']}" if m["agent_no"] else "—"
    payload = m["payload"]
    if isinstance(payload, str):  # written as text by an older tool
        payload = json.loads(payload)
    return ComplaintEventView(
        id=m["id"],
        at=utc(m["at"]),
        actor_id=m["actor_id"],
        actor=actor,
        action=m["action"],
        from_status=m["from_status"],
        to_status=m["to_status"],
        reason=m["reason"],
        payload=payload or {},
        version=m["version"],
    )


def callbacks_due(
    session: Session,
    agent_id: int | None,
    now: dt.datetime,
    limit: int = 50,
    within: dt.timedelta = DUE_SOON,
) -> list[CallbackDue]:
    """Complaints whose promised reply is overdue or due within `within`, overdue first.

    `agent_id` gives one operator's own (first-contact responsibility, R25: whoever took the
    call owns the promise); None gives everyone's, for the team lead.
    """
    c = COMPLAINTS.c
    query = (
        select(
            c.id,
            c.reference,
            c.customer_id,
            Customer.name,
            c.callback_number,
            c.category,
            c.severity,
            c.status,
            c.promised_reply_at,
            c.escalation_level,
            c.created_by_id,
            c.department,
            c.assignee,
        )
        .join(Customer, Customer.id == c.customer_id)
        .where(
            c.status.in_(AWAITING_REPLY_STATUSES),
            c.promised_reply_at <= utc(now + within),
        )
        .order_by(c.promised_reply_at, c.id)
        .limit(limit)
    )
    if agent_id is not None:
        query = query.where(c.created_by_id == agent_id)
    out = []
    for row in session.execute(query):
        promised = utc(row.promised_reply_at)
        out.append(
            CallbackDue(
                complaint_id=row.id,
                reference=row.reference,
                customer_id=row.customer_id,
                customer_name=row.name,
                callback_number=row.callback_number,
                category=row.category,
                severity=row.severity,
                status=row.status,
                promised_reply_at=promised,
                overdue=promised < now,
                escalation_level=row.escalation_level,
                created_by_id=row.created_by_id,
                department=row.department,
                assignee=row.assignee,
            )
        )
    return out


def complaints_by_keys(session: Session, keys: Sequence[str]) -> dict[str, str]:
    """Idempotency key → reference, for the keys that have arrived (outbox status, tests)."""
    rows = session.execute(
        select(Complaint.idempotency_key, Complaint.reference).where(
            Complaint.idempotency_key.in_(list(keys))
        )
    )
    return {key: ref for key, ref in rows}


# -- time -----------------------------------------------------------------------------------------
