"""Replay and QA in the database: the team lead's session list, a session as the replay
shows it, its recording, and QA evaluations (saved as revisions, acknowledged by the agent).

An evaluation is never edited in place: every save adds a row with the next revision for
that session and evaluator, so what an agent acknowledged stays readable after the team
lead changes their mind. The one later write to a row is its acknowledgement (who, when),
which leaves the scores as they were.

Who sees what: team leads and administrators (the replay capability) see every evaluation;
everyone else sees only the evaluations of their own calls, and never calibration
scorecards (a second team lead scoring a call to compare with the first).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from agent_desk.core.qa import Evaluation, next_revision
from agent_desk.core.roles import ROLE_CAPABILITIES, Capability, Role
from agent_desk.core.timeline import RecordedEvent
from agent_desk.store.models import (
    Agent,
    CallSession,
    Complaint,
    Customer,
    QAEvaluation,
    SessionEvent,
)
from agent_desk.store.values import escape_like, utc, utc_or_none

QAStatus = Literal["not_scored", "scored", "acknowledged"]
QA_STATUSES: tuple[QAStatus, ...] = ("not_scored", "scored", "acknowledged")
COMPLAINT_EVENT_KINDS = ("complaint_submitted", "complaint_saved")
RECORDING_EVENT = "recording"
PAGE = 50
MAX_PAGE = 500


class QAStoreError(ValueError):
    """A QA or replay request that cannot be done; the message says why."""


class NotFound(QAStoreError):
    pass


class NotAllowed(QAStoreError):
    pass


# -- evaluations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationRecord:
    id: int
    session_id: int
    evaluator_id: int
    evaluator_no: str
    evaluator_name: str
    revision: int
    kind: str
    evaluation: Evaluation
    total: float | None
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by_id: int | None

    @property
    def failed_critical(self) -> tuple[str, ...]:
        return self.evaluation.failed_critical

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


def save_evaluation(
    session: Session, session_id: int, evaluator_id: int, evaluation: Evaluation
) -> EvaluationRecord:
    """Save `evaluation` as the evaluator's next revision for this session.

    Only a complete scorecard is saved (QAError names the items left), and only by someone
    who may replay sessions. The earlier revisions are left exactly as they were.
    """
    evaluation.ready_to_save()
    evaluator = session.get(Agent, evaluator_id)
    if evaluator is None or not evaluator.active:
        raise NotFound(f"no active agent with id {evaluator_id}")
    if Capability.REPLAY_SESSIONS not in ROLE_CAPABILITIES[Role(evaluator.role)]:
        raise NotAllowed(
            f"{evaluator.name} ({evaluator.agent_no}) is not a team lead: only team leads "
            "score calls"
        )
    # Locking the call's row makes two saves for it take turns (PostgreSQL), so each reads
    # the revision the other wrote; SQLite already lets one writer in at a time.
    if session.get(CallSession, session_id, with_for_update=True) is None:
        raise NotFound(f"no session with id {session_id}")
    revisions = session.scalars(
        select(QAEvaluation.revision).where(
            QAEvaluation.session_id == session_id, QAEvaluation.evaluator_id == evaluator_id
        )
    ).all()
    item_scores, comments = evaluation.to_record()
    row = QAEvaluation(
        session_id=session_id,
        evaluator_id=evaluator_id,
        revision=next_revision(revisions),
        kind=evaluation.kind,
        item_scores=item_scores,
        comments=comments,
        total=evaluation.total_percent,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise QAStoreError(
            "this evaluation was saved from another desk at the same moment; save it again"
        ) from None
    session.refresh(row)  # created_at, as the database set it
    return _record(row, evaluator)


def get_evaluation(session: Session, evaluation_id: int) -> EvaluationRecord:
    row = session.execute(
        select(QAEvaluation, Agent)
        .join(Agent, Agent.id == QAEvaluation.evaluator_id)
        .where(QAEvaluation.id == evaluation_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no evaluation with id {evaluation_id}")
    return _record(*row)


def list_revisions(
    session: Session, session_id: int, evaluator_id: int | None = None
) -> list[EvaluationRecord]:
    """Every revision for the session (of one evaluator, if given), oldest first."""
    where = [QAEvaluation.session_id == session_id]
    if evaluator_id is not None:
        where.append(QAEvaluation.evaluator_id == evaluator_id)
    return _records(session, where, (QAEvaluation.evaluator_id, QAEvaluation.revision))


def latest_evaluations(
    session: Session, session_id: int, kind: str | None = None
) -> list[EvaluationRecord]:
    """Each evaluator's latest revision for the session (calibration compares these)."""
    where = [QAEvaluation.session_id == session_id, _is_latest()]
    if kind is not None:
        where.append(QAEvaluation.kind == kind)
    return _records(session, where, (QAEvaluation.created_at, QAEvaluation.id))


def acknowledge(
    session: Session,
    evaluation_id: int,
    operator_agent_id: int,
    at: dt.datetime | None = None,
) -> EvaluationRecord:
    """The agent whose call was scored confirms they have seen the evaluation.

    Only that agent may, only for the latest revision, and only an evaluation (not a
    calibration scorecard). Acknowledging twice keeps the first time.
    """
    found = session.execute(
        select(QAEvaluation, Agent, CallSession.agent_id)
        .join(Agent, Agent.id == QAEvaluation.evaluator_id)
        .join(CallSession, CallSession.id == QAEvaluation.session_id)
        .where(QAEvaluation.id == evaluation_id)
        .with_for_update(of=QAEvaluation)
    ).one_or_none()
    if found is None:
        raise NotFound(f"no evaluation with id {evaluation_id}")
    row, evaluator, call_agent_id = found
    if call_agent_id != operator_agent_id:
        raise NotAllowed(
            f"evaluation {evaluation_id} is of another agent's call: only the agent who took "
            "the call can acknowledge it"
        )
    if row.kind != "evaluation":
        raise NotAllowed("a calibration scorecard is not the agent's to acknowledge")
    newest = session.scalar(
        select(func.max(QAEvaluation.revision)).where(
            QAEvaluation.session_id == row.session_id,
            QAEvaluation.evaluator_id == row.evaluator_id,
        )
    )
    if newest is not None and newest > row.revision:
        raise NotAllowed(
            f"revision {row.revision} was replaced by revision {newest}: acknowledge the latest"
        )
    if row.acknowledged_at is None:
        row.acknowledged_at = at or dt.datetime.now(dt.UTC)
        row.acknowledged_by_id = operator_agent_id
        session.flush()
    return _record(row, evaluator)


def evaluations_visible_to(
    session: Session, agent_id: int, role: Role | str, session_id: int | None = None
) -> list[EvaluationRecord]:
    """The latest revisions this agent may see, newest first (one session's, if given)."""
    where = [_is_latest()]
    if Capability.REPLAY_SESSIONS not in ROLE_CAPABILITIES[Role(role)]:
        own_calls = select(CallSession.id).where(CallSession.agent_id == agent_id)
        where += [QAEvaluation.kind == "evaluation", QAEvaluation.session_id.in_(own_calls)]
    if session_id is not None:
        where.append(QAEvaluation.session_id == session_id)
    return _records(session, where, (QAEvaluation.created_at.desc(), QAEvaluation.id.desc()))


def _records(
    session: Session, where: list[ColumnElement[bool]], order: tuple[Any, ...]
) -> list[EvaluationRecord]:
    query = (
        select(QAEvaluation, Agent)
        .join(Agent, Agent.id == QAEvaluation.evaluator_id)
        .where(*where)
        .order_by(*order)
    )
    return [_record(e, a) for e, a in session.execute(query)]


def _is_latest() -> ColumnElement[bool]:
    newer = aliased(QAEvaluation)
    return ~exists().where(
        newer.session_id == QAEvaluation.session_id,
        newer.evaluator_id == QAEvaluation.evaluator_id,
        newer.revision > QAEvaluation.revision,
    )


def _record(row: QAEvaluation, evaluator: Agent) -> EvaluationRecord:
    return EvaluationRecord(
        id=row.id,
        session_id=row.session_id,
        evaluator_id=row.evaluator_id,
        evaluator_no=evaluator.agent_no,
        evaluator_name=evaluator.name,
        revision=row.revision,
        kind=row.kind,
        evaluation=Evaluation.from_record(row.item_scores, row.comments),
        total=row.total,
        created_at=utc(row.created_at),
        acknowledged_at=utc_or_none(row.acknowledged_at),
        acknowledged_by_id=row.acknowledged_by_id,
    )


# -- the session list --------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionFilters:
    """What the team lead narrows the list by; None / "" means any.

    Times are instants (aware datetimes): the window turns the dates picked in the
    centre's time zone into them, so a day means the centre's day.
    """

    agent_id: int | None = None
    started_from: dt.datetime | None = None  # inclusive
    started_before: dt.datetime | None = None  # exclusive
    customer: str = ""  # part of the customer's name
    wrap_up_code: str | None = None
    complaint_raised: bool | None = None
    qa_status: QAStatus | None = None
    with_recording: bool | None = None


@dataclass(frozen=True)
class SessionCursor:
    """Where a page ended: pass it back for the next page (newest first)."""

    started_at: dt.datetime
    session_id: int


@dataclass(frozen=True)
class SessionRow:
    id: int
    call_id: str
    direction: str
    number: str
    started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    agent_id: int | None
    agent_no: str
    agent_name: str
    customer_id: int | None
    customer_name: str
    wrap_up_code: str | None
    complaint_raised: bool
    qa_status: QAStatus
    has_recording: bool

    @property
    def talk_ms(self) -> int | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0, int((self.ended_at - self.answered_at).total_seconds() * 1000))

    @property
    def cursor(self) -> SessionCursor:
        return SessionCursor(self.started_at, self.id)


@dataclass(frozen=True)
class SessionPage:
    rows: tuple[SessionRow, ...]
    next_cursor: SessionCursor | None  # None: this was the last page


def session_list(
    session: Session,
    filters: SessionFilters | None = None,
    cursor: SessionCursor | None = None,
    limit: int = PAGE,
) -> SessionPage:
    """Sessions matching `filters`, newest first, a page at a time (keyset paging: sessions
    recorded meanwhile never shift a later page)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    f = filters or SessionFilters()
    if f.qa_status is not None and f.qa_status not in QA_STATUSES:
        raise ValueError(f"QA status {f.qa_status!r}: use {', '.join(QA_STATUSES)}")
    # A complaint on record for the call. (The replay also counts a complaint event whose
    # complaint row is not linked yet; checking every session's events here would make the
    # list slow, and the complaint store links the row to the call it was taken on.)
    raised = exists().where(Complaint.session_id == CallSession.id)
    scored = exists().where(
        QAEvaluation.session_id == CallSession.id, QAEvaluation.kind == "evaluation"
    )
    newer = aliased(QAEvaluation)
    awaiting = exists().where(
        QAEvaluation.session_id == CallSession.id,
        QAEvaluation.kind == "evaluation",
        QAEvaluation.acknowledged_at.is_(None),
        ~exists().where(
            newer.session_id == QAEvaluation.session_id,
            newer.evaluator_id == QAEvaluation.evaluator_id,
            newer.revision > QAEvaluation.revision,
        ),
    )
    has_recording = and_(CallSession.recording_ref.is_not(None), CallSession.recording_ref != "")
    # First the page's ids, then its columns: the per-row facts (complaint raised, QA status)
    # are worked out for the page only, not for every session the sort has to look at.
    ids = select(CallSession.id, CallSession.started_at)
    if f.agent_id is not None:
        ids = ids.where(CallSession.agent_id == f.agent_id)
    if f.started_from is not None:
        ids = ids.where(CallSession.started_at >= utc(f.started_from))
    if f.started_before is not None:
        ids = ids.where(CallSession.started_at < utc(f.started_before))
    if f.customer.strip():
        pattern = f"%{escape_like(f.customer.strip())}%"
        ids = ids.join(Customer, Customer.id == CallSession.customer_id).where(
            Customer.name.ilike(pattern, escape="\\")
        )
    if f.wrap_up_code:
        ids = ids.where(CallSession.wrap_up_code == f.wrap_up_code)
    if f.complaint_raised is not None:
        ids = ids.where(raised if f.complaint_raised else ~raised)
    if f.qa_status == "not_scored":
        ids = ids.where(~scored)
    elif f.qa_status == "scored":
        ids = ids.where(awaiting)
    elif f.qa_status == "acknowledged":
        ids = ids.where(scored, ~awaiting)
    if f.with_recording is not None:
        ids = ids.where(has_recording if f.with_recording else ~has_recording)
    if cursor is not None:
        at = utc(cursor.started_at)
        ids = ids.where(
            CallSession.started_at <= at,
            or_(
                CallSession.started_at < at,
                and_(CallSession.started_at == at, CallSession.id < cursor.session_id),
            ),
        )
    newest_first = (CallSession.started_at.desc(), CallSession.id.desc())
    page = ids.order_by(*newest_first).limit(limit + 1).subquery("page")
    query = (
        select(
            CallSession.id,
            CallSession.call_id,
            CallSession.direction,
            CallSession.number,
            CallSession.started_at,
            CallSession.answered_at,
            CallSession.ended_at,
            CallSession.agent_id,
            Agent.agent_no,
            Agent.name,
            CallSession.customer_id,
            Customer.name,
            CallSession.wrap_up_code,
            raised.label("raised"),
            scored.label("scored"),
            awaiting.label("awaiting"),
            has_recording.label("has_recording"),
        )
        .select_from(page)
        .join(CallSession, CallSession.id == page.c.id)
        .outerjoin(Agent, Agent.id == CallSession.agent_id)
        .outerjoin(Customer, Customer.id == CallSession.customer_id)
        .order_by(*newest_first)
    )
    rows = [_session_row(r) for r in session.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return SessionPage(tuple(rows), rows[-1].cursor if more and rows else None)


def _session_row(r: Any) -> SessionRow:
    status: QAStatus = "not_scored"
    if r.scored:
        status = "scored" if r.awaiting else "acknowledged"
    return SessionRow(
        id=r[0],
        call_id=r[1],
        direction=r[2],
        number=r[3],
        started_at=utc(r[4]),
        answered_at=utc_or_none(r[5]),
        ended_at=utc_or_none(r[6]),
        agent_id=r[7],
        agent_no=r[8] or "",
        agent_name=r[9] or "",
        customer_id=r[10],
        customer_name=r[11] or "",
        wrap_up_code=r[12],
        complaint_raised=bool(r.raised),
        qa_status=status,
        has_recording=bool(r.has_recording),
    )


def _complaint_raised(session_id: Any) -> ColumnElement[bool]:
    """A complaint row linked to the call, or the desk's own event of submitting one."""
    return or_(
        exists().where(Complaint.session_id == session_id),
        exists().where(
            SessionEvent.session_id == session_id, SessionEvent.kind.in_(COMPLAINT_EVENT_KINDS)
        ),
    )


# -- one session for the replay ----------------------------------------------------------------


@dataclass(frozen=True)
class ReplaySession:
    id: int
    call_id: str
    direction: str
    number: str
    agent_id: int | None
    agent_no: str
    agent_name: str
    customer_id: int | None
    customer_name: str
    started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    wrap_up_code: str | None
    wrap_up_defaulted: bool
    notes: str
    complaint_raised: bool
    events: tuple[RecordedEvent, ...]  # offset order (then stored order)
    recording_ref: str | None  # relative to the recordings root; None: timeline only
    recording_checksum: str | None  # from the recording event, when it was imported
    audio_offset_ms: int  # the session offset where the recording starts

    @property
    def answered_offset_ms(self) -> int | None:
        if self.answered_at is None:
            return None
        return max(0, int((self.answered_at - self.started_at).total_seconds() * 1000))


def load_session_for_replay(session: Session, session_id: int) -> ReplaySession:
    found = session.execute(
        select(CallSession, Agent.agent_no, Agent.name, Customer.name, _complaint_raised(
            CallSession.id
        ))
        .outerjoin(Agent, Agent.id == CallSession.agent_id)
        .outerjoin(Customer, Customer.id == CallSession.customer_id)
        .where(CallSession.id == session_id)
    ).one_or_none()  # fmt: skip
    if found is None:
        raise NotFound(f"no session with id {session_id}")
    row, agent_no, agent_name, customer_name, raised = found
    events = tuple(
        RecordedEvent(offset, kind, payload or {}, event_id)
        for event_id, offset, kind, payload in session.execute(
            select(SessionEvent.id, SessionEvent.offset_ms, SessionEvent.kind, SessionEvent.payload)
            .where(SessionEvent.session_id == session_id)
            .order_by(SessionEvent.offset_ms, SessionEvent.id)
        )
    )
    attached = [e for e in events if e.kind == RECORDING_EVENT]
    latest = attached[-1].payload if attached else {}
    started = utc(row.started_at)
    answered = utc_or_none(row.answered_at)
    default_offset = 0
    if answered is not None:
        default_offset = max(0, int((answered - started).total_seconds() * 1000))
    starts_at = latest.get("starts_at_ms")
    return ReplaySession(
        id=row.id,
        call_id=row.call_id,
        direction=row.direction,
        number=row.number,
        agent_id=row.agent_id,
        agent_no=agent_no or "",
        agent_name=agent_name or "",
        customer_id=row.customer_id,
        customer_name=customer_name or "",
        started_at=started,
        answered_at=answered,
        ended_at=utc_or_none(row.ended_at),
        wrap_up_code=row.wrap_up_code,
        wrap_up_defaulted=row.wrap_up_defaulted,
        notes=row.notes,
        complaint_raised=bool(raised),
        events=events,
        recording_ref=row.recording_ref or None,
        recording_checksum=latest.get("checksum"),
        audio_offset_ms=int(starts_at) if isinstance(starts_at, int) else default_offset,
    )


def attach_recording(
    session: Session,
    session_id: int,
    ref: str,
    *,
    checksum: str,
    duration_ms: int,
    size: int,
    codec: str,
    starts_at_ms: int | None = None,
) -> None:
    """Point the session at its stored recording, and note the facts as a session event.

    `starts_at_ms` is the session offset where the recording begins; default: the answer
    (where the desk's own capture and most PBX recordings begin).
    """
    row = session.get(CallSession, session_id)
    if row is None:
        raise NotFound(f"no session with id {session_id}")
    if starts_at_ms is None:
        starts_at_ms = 0
        if row.answered_at is not None:
            answered = utc(row.answered_at) - utc(row.started_at)
            starts_at_ms = max(0, int(answered.total_seconds() * 1000))
    row.recording_ref = ref
    session.add(
        SessionEvent(
            session_id=session_id,
            offset_ms=starts_at_ms,
            kind=RECORDING_EVENT,
            payload={
                "path": ref,
                "checksum": checksum,
                "duration_ms": duration_ms,
                "bytes": size,
                "codec": codec,
                "starts_at_ms": starts_at_ms,
                "attached_at": dt.datetime.now(dt.UTC).isoformat(),
            },
        )
    )
    session.flush()


# -- helpers -----------------------------------------------------------------------------------
