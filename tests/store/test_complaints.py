"""Complaints in the shared database, on SQLite and PostgreSQL: references from the database,
exactly-once submission, repeat faults, the workflow with its audit trail, optimistic locking
and the callbacks-due list."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core.complaints import (
    ComplaintDraft,
    EscalationRefused,
    IllegalTransition,
    InvalidComplaint,
    MissingReason,
)
from agent_desk.core.roles import Role
from agent_desk.store.agents import add_agent
from agent_desk.store.complaints import (
    ComplaintConflict,
    ComplaintNotFound,
    SubmitResult,
    callbacks_due,
    escalate_now,
    find_repeat,
    load_complaint,
    submit_complaint,
    transition,
    update_fields,
)
from agent_desk.store.models import CallSession, Complaint, ComplaintEvent, Customer, Purchase

T = TypeVar("T")
REFERENCE = re.compile(r"^TS-(\d{8})-(\d{6})$")


@dataclasses.dataclass(frozen=True)
class World:
    sessions: sessionmaker[Session]
    operator: int
    colleague: int
    lead: int
    customer: int
    other_customer: int
    aircon: int
    fridge: int

    def run(self, fn: Callable[[Session], T]) -> T:
        with self.sessions.begin() as session:
            return fn(session)

    def submit(self, d: ComplaintDraft, agent: int | None = None) -> SubmitResult:
        return self.run(lambda s: submit_complaint(s, d, agent or self.operator))


@pytest.fixture
def world(engine: Engine) -> World:
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as s:
        operator = add_agent(s, "1001", "王小燕", Role.OPERATOR).id
        colleague = add_agent(s, "1002", "赵明", Role.OPERATOR).id
        lead = add_agent(s, "2001", "张班长", Role.TEAM_LEAD).id
        customer, other = Customer(name="李建国", tags=[]), Customer(name="陈芳", tags=[])
        s.add_all([customer, other])
        s.flush()
        aircon = Purchase(customer_id=customer.id, product="空调", model="KFR-35GW")
        fridge = Purchase(customer_id=customer.id, product="冰箱", model="BCD-470")
        s.add_all([aircon, fridge])
        s.flush()
        return World(
            sessions, operator, colleague, lead, customer.id, other.id, aircon.id, fridge.id
        )


def promised(hours: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)


def draft(world: World, **changes: Any) -> ComplaintDraft:
    base = ComplaintDraft(
        customer_id=world.customer,
        purchase_id=world.aircon,
        category="repair",
        severity="high",
        description="空调不制冷，已经三天了",
        customer_wants="上门维修",
        promised_reply_at=promised(2),
        callback_number="138 0013 8000",
    )
    return dataclasses.replace(base, **changes)


def db_reference_date(engine: Engine) -> str:
    """Today in Beijing as the database sees it."""
    sql = (
        "SELECT to_char(now() AT TIME ZONE 'UTC' + interval '8 hours', 'YYYYMMDD')"
        if engine.dialect.name == "postgresql"
        else "SELECT strftime('%Y%m%d', 'now', '+8 hours')"
    )
    with engine.connect() as conn:
        return str(conn.execute(text(sql)).scalar_one())


# -- submit ---------------------------------------------------------------------------------------


def test_submit_gets_a_reference_from_the_database(world: World, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            CallSession.__table__.insert().values(
                call_id="call-42", number="+8613800138000", started_at=promised(-0.1)
            )
        )
    result = world.submit(draft(world, call_id="call-42"))
    assert result.created and result.escalation_level == 0 and result.repeat_of_reference is None
    match = REFERENCE.match(result.reference)
    assert match, result.reference
    assert match.group(1) == db_reference_date(engine)
    assert int(match.group(2)) == result.complaint_id % 1_000_000

    view = world.run(lambda s: load_complaint(s, result.complaint_id))
    assert view.reference == result.reference
    assert (view.status, view.version, view.escalation_level) == ("received", 1, 0)
    assert view.callback_number == "+8613800138000"  # normalised
    assert view.session_id is not None  # linked to the call it was taken on
    assert view.created_by_id == world.operator
    [created] = view.events
    assert (created.action, created.from_status, created.to_status) == (
        "created",
        None,
        "received",
    )
    assert (created.actor_id, created.actor, created.version) == (world.operator, "1001 王小燕", 1)
    assert created.payload["reference"] == result.reference
    assert created.payload["call_id"] == "call-42"


def test_references_are_unique_across_desks(world: World, engine: Engine) -> None:
    refs: list[str] = []
    lock = threading.Lock()

    def desk(agent: int) -> None:
        for i in range(8):
            r = world.submit(
                draft(world, description=f"第{i}台设备故障说明", purchase_id=None), agent
            )
            with lock:
                refs.append(r.reference)

    desks = [
        threading.Thread(target=desk, args=(a,))
        for a in (world.operator, world.colleague, world.lead)
    ]
    for t in desks:
        t.start()
    for t in desks:
        t.join()
    assert len(refs) == len(set(refs)) == 24
    with engine.connect() as conn:
        assert conn.execute(select(func.count(func.distinct(Complaint.reference)))).scalar() == 24


def test_text_is_stored_verbatim(world: World) -> None:
    tricky = '客户很生气 😡🙏 Robert\'); DROP TABLE complaints;-- 100% \\ "引号"\n第二行'
    result = world.submit(draft(world, description=tricky, customer_wants="退款 💰 ' OR 1=1 --"))
    view = world.run(lambda s: load_complaint(s, result.complaint_id))
    assert view.description == tricky
    assert view.customer_wants == "退款 💰 ' OR 1=1 --"


def test_an_invalid_draft_is_refused_before_the_database(world: World) -> None:
    with pytest.raises(InvalidComplaint) as info:
        world.submit(draft(world, description="坏", callback_number="12"))
    assert set(info.value.errors) == {"description", "callback_number"}


def test_resubmitting_a_key_returns_the_same_complaint(world: World, engine: Engine) -> None:
    d = draft(world)
    first = world.submit(d)
    again = world.submit(d)
    assert not again.created
    assert (again.complaint_id, again.reference) == (first.complaint_id, first.reference)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Complaint)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(ComplaintEvent)).scalar() == 1


def test_two_desks_racing_with_one_key_store_it_once(world: World, engine: Engine) -> None:
    """The second desk waits for the first's transaction and then finds its complaint."""
    d = draft(world)
    first_in = threading.Event()
    release = threading.Event()
    results: dict[str, SubmitResult] = {}

    def slow_desk() -> None:
        with world.sessions.begin() as s:
            results["first"] = submit_complaint(s, d, world.operator)
            first_in.set()
            release.wait(10)

    def second_desk() -> None:
        assert first_in.wait(10)
        results["second"] = world.submit(d, world.colleague)

    threads = [threading.Thread(target=slow_desk), threading.Thread(target=second_desk)]
    for t in threads:
        t.start()
    assert first_in.wait(10)
    threads[1].join(0.5)
    assert threads[1].is_alive(), "the second desk must wait for the first's commit"
    release.set()
    for t in threads:
        t.join(20)
    assert results["first"].created and not results["second"].created
    assert results["first"].complaint_id == results["second"].complaint_id
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Complaint)).scalar() == 1


# -- repeat faults --------------------------------------------------------------------------------


def test_a_repeat_fault_is_linked_and_escalated(world: World) -> None:
    first = world.submit(draft(world))
    finding = world.run(lambda s: find_repeat(s, world.customer, world.aircon, "repair"))
    assert finding is not None
    assert finding.earlier_id == first.complaint_id and finding.escalation_level == 1
    assert first.reference in finding.explanation  # what the operator reads before submitting

    second = world.submit(draft(world, description="空调又不制冷了，第二次报修"))
    assert second.repeat_of_reference == first.reference
    assert second.escalation_level == 1
    third = world.submit(draft(world, description="第三次了，还是不制冷"))
    assert (third.repeat_of_reference, third.escalation_level) == (second.reference, 2)
    view = world.run(lambda s: load_complaint(s, third.complaint_id))
    assert view.repeat_of_id == second.complaint_id
    assert view.repeat_of_reference == second.reference
    assert view.events[0].payload["repeat_of"] == second.reference


@pytest.mark.parametrize(
    "differs",
    ["category", "product", "customer", "no product"],
)
def test_not_a_repeat(world: World, differs: str) -> None:
    world.submit(draft(world))
    changes: dict[str, Any] = {
        "category": {"category": "billing"},
        "product": {"purchase_id": world.fridge},
        "customer": {"customer_id": world.other_customer, "purchase_id": None},
        "no product": {"purchase_id": None},
    }[differs]
    result = world.submit(draft(world, description="另一件事情的描述", **changes))
    assert result.repeat_of_reference is None and result.escalation_level == 0


def test_the_window_is_measured_on_the_database_clock(world: World, engine: Engine) -> None:
    old = world.submit(draft(world))
    with engine.begin() as conn:
        created = conn.execute(select(Complaint.created_at)).scalar_one()
        conn.execute(
            update(Complaint).values(created_at=created - dt.timedelta(days=91, minutes=1))
        )
    assert world.run(lambda s: find_repeat(s, world.customer, world.aircon, "repair")) is None
    assert world.run(
        lambda s: find_repeat(s, world.customer, world.aircon, "repair", window_days=120)
    )
    assert world.submit(draft(world, description="很久以前修过一次")).repeat_of_reference is None
    wide = world.submit(draft(world, description="这次按一百二十天算", repeat_window_days=120))
    assert wide.repeat_of_reference is not None  # the newest match: the one just submitted
    assert old.reference != wide.reference


# -- workflow ------------------------------------------------------------------------------------


FLOW = [
    ("assigned", "派给售后服务部"),
    ("in_progress", ""),
    ("customer_informed", "已电话告知客户处理进度"),
    ("resolved", "更换压缩机"),
    ("closed", "客户确认满意"),
    ("reopened", "客户反映一周后又不制冷"),
    ("in_progress", ""),
]


def test_the_workflow_with_its_audit_trail(world: World) -> None:
    cid = world.submit(draft(world)).complaint_id
    version, status = 1, "received"
    for target, reason in FLOW:
        if target == "reopened":  # undoing "closed" needs a reason on the record
            with pytest.raises(MissingReason):
                world.run(lambda s, v=version: transition(s, cid, v, "reopened", world.lead))
        actor = world.lead if target in ("assigned", "closed") else world.operator
        view = world.run(
            lambda s, t=target, r=reason, v=version, a=actor: transition(s, cid, v, t, a, r)
        )
        assert (view.status, view.version) == (target, version + 1)
        last = view.events[-1]
        assert (last.from_status, last.to_status, last.reason, last.actor_id, last.version) == (
            status,
            target,
            reason,
            actor,
            version + 1,
        )
        version, status = view.version, target
    actions = [e.action for e in world.run(lambda s: load_complaint(s, cid)).events]
    assert actions == [
        "created",
        "assigned",
        "work_started",
        "customer_informed",
        "resolved",
        "closed",
        "reopened",
        "work_started",
    ]


def test_an_illegal_transition_changes_nothing(world: World) -> None:
    cid = world.submit(draft(world)).complaint_id
    with pytest.raises(IllegalTransition, match=r"已受理 · received.*已解决 · resolved"):
        world.run(lambda s: transition(s, cid, 1, "resolved", world.operator))
    view = world.run(lambda s: load_complaint(s, cid))
    assert (view.status, view.version, len(view.events)) == ("received", 1, 1)


def test_fields_change_with_an_audit_event(world: World) -> None:
    cid = world.submit(draft(world)).complaint_id
    later = promised(26)
    now = dt.datetime.now(dt.UTC)
    view = world.run(
        lambda s: update_fields(
            s,
            cid,
            1,
            world.lead,
            assignee="李师傅",
            department="售后服务部",
            promised_reply_at=later,
            notes="已联系厂家备件",
            reason="派单",
            now=now,
        )
    )
    assert (view.assignee, view.department, view.notes, view.version) == (
        "李师傅",
        "售后服务部",
        "已联系厂家备件",
        2,
    )
    assert abs(view.promised_reply_at - later) < dt.timedelta(milliseconds=1)
    last = view.events[-1]
    assert last.action == "updated" and last.reason == "派单"
    assert last.payload["changes"]["assignee"] == ["", "李师傅"]
    assert "李师傅" in last.text
    # Nothing actually changed: no new version, no event.
    same = world.run(lambda s: update_fields(s, cid, 2, world.lead, assignee="李师傅"))
    assert (same.version, len(same.events)) == (2, 2)
    with pytest.raises(InvalidComplaint) as info:
        world.run(
            lambda s: update_fields(
                s, cid, 2, world.lead, promised_reply_at=now - dt.timedelta(hours=1), now=now
            )
        )
    assert "promised_reply_at" in info.value.errors


def test_supervisor_hand_off(world: World) -> None:
    cid = world.submit(draft(world)).complaint_id
    view = world.run(lambda s: escalate_now(s, cid, 1, world.operator, "客户要求主管处理"))
    assert (view.escalation_level, view.version, view.escalation_reason) == (
        1,
        2,
        "客户要求主管处理",
    )
    assert view.escalated_at is not None
    last = view.events[-1]
    assert (last.action, last.payload["level"], last.payload["from_level"]) == ("escalated", 1, 0)
    with pytest.raises(MissingReason):
        world.run(lambda s: escalate_now(s, cid, 2, world.operator, " "))
    for version in (2, 3):
        world.run(lambda s, v=version: escalate_now(s, cid, v, world.lead, "仍未解决"))
    with pytest.raises(EscalationRefused, match="highest level"):
        world.run(lambda s: escalate_now(s, cid, 4, world.lead, "再升级"))


def test_unknown_complaint(world: World) -> None:
    with pytest.raises(ComplaintNotFound):
        world.run(lambda s: load_complaint(s, 999_999))
    with pytest.raises(ComplaintNotFound):
        world.run(lambda s: transition(s, 999_999, 1, "assigned", world.lead))


# -- optimistic locking ---------------------------------------------------------------------------


def test_a_stale_desk_sees_what_changed_and_chooses_again(world: World) -> None:
    cid = world.submit(draft(world)).complaint_id
    # Desk B opened the complaint at version 1; desk A then assigned it and set the handler.
    world.run(lambda s: transition(s, cid, 1, "assigned", world.lead, "派给售后"))
    world.run(lambda s: update_fields(s, cid, 2, world.lead, assignee="李师傅"))
    with pytest.raises(ComplaintConflict) as info:
        world.run(lambda s: update_fields(s, cid, 1, world.colleague, assignee="王师傅"))
    conflict = info.value
    assert conflict.current.version == 3 and conflict.current.assignee == "李师傅"
    assert len(conflict.changes) == 2
    assert "2001 张班长" in conflict.changes[0] and "已派单 · assigned" in conflict.changes[0]
    assert "李师傅" in conflict.changes[1]
    view = world.run(lambda s: load_complaint(s, cid))
    assert (view.version, view.assignee, len(view.events)) == (3, "李师傅", 3)
    # Having seen it, desk B chooses to overwrite on purpose, from the current version.
    view = world.run(lambda s: update_fields(s, cid, 3, world.colleague, assignee="王师傅"))
    assert (view.version, view.assignee) == (4, "王师傅")


def test_a_stale_transition_is_a_conflict_not_an_illegal_move(world: World) -> None:
    cid = world.submit(draft(world)).complaint_id
    world.run(lambda s: transition(s, cid, 1, "assigned", world.lead))
    with pytest.raises(ComplaintConflict):
        world.run(lambda s: transition(s, cid, 1, "assigned", world.colleague))
    with pytest.raises(ComplaintConflict):
        world.run(lambda s: escalate_now(s, cid, 1, world.colleague, "客户再次来电"))


def test_two_desks_at_once_one_wins(world: World) -> None:
    """Both read version 1 and write at the same moment: the version check in the UPDATE
    lets exactly one through, the other is told."""
    cid = world.submit(draft(world)).complaint_id
    start = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def desk(name: str, agent: int, assignee: str) -> None:
        start.wait(5)
        try:
            world.run(lambda s: update_fields(s, cid, 1, agent, assignee=assignee))
            outcome[name] = "saved"
        except ComplaintConflict:
            outcome[name] = "conflict"

    threads = [
        threading.Thread(target=desk, args=("a", world.operator, "李师傅")),
        threading.Thread(target=desk, args=("b", world.colleague, "王师傅")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcome.values()) == ["conflict", "saved"]
    view = world.run(lambda s: load_complaint(s, cid))
    assert view.version == 2 and len(view.events) == 2


# -- callbacks due --------------------------------------------------------------------------------


def test_callbacks_due_overdue_first_then_soonest(world: World, engine: Engine) -> None:
    now = dt.datetime.now(dt.UTC)

    def add(hours: float, agent: int, status: str = "received", customer: int | None = None) -> str:
        d = draft(
            world,
            purchase_id=None,
            customer_id=customer or world.customer,
            promised_reply_at=now + dt.timedelta(hours=hours),
            description=f"承诺 {hours} 小时后回复",
        )
        result = world.submit(d, agent)
        if status != "received":
            with engine.begin() as conn:
                conn.execute(
                    update(Complaint)
                    .where(Complaint.id == result.complaint_id)
                    .values(status=status)
                )
        return result.reference

    soon = add(1, world.operator)
    overdue_3h = add(-3, world.operator)
    later = add(5, world.operator)  # not due yet
    colleague_overdue = add(-1, world.colleague, customer=world.other_customer)
    informed = add(-4, world.operator, "customer_informed")  # the reply was given
    closed = add(-6, world.operator, "closed")
    reopened = add(-2, world.operator, "reopened")

    mine = world.run(lambda s: callbacks_due(s, world.operator, now))
    assert [c.reference for c in mine] == [overdue_3h, reopened, soon]
    assert [c.overdue for c in mine] == [True, True, False]
    assert mine[0].customer_name == "李建国" and mine[0].callback_number == "+8613800138000"

    team = world.run(lambda s: callbacks_due(s, None, now))
    assert [c.reference for c in team] == [overdue_3h, reopened, colleague_overdue, soon]
    assert {informed, closed, later}.isdisjoint(c.reference for c in team)
    assert [c.reference for c in world.run(lambda s: callbacks_due(s, None, now, limit=2))] == [
        overdue_3h,
        reopened,
    ]
    wide = world.run(lambda s: callbacks_due(s, None, now, within=dt.timedelta(hours=6)))
    assert wide[-1].reference == later


@pytest.mark.pg
def test_a_connection_lost_mid_submit_is_an_operational_error(world: World, engine: Engine) -> None:
    """The submit talks to psycopg directly on PostgreSQL: a lost server must still surface as
    SQLAlchemy's OperationalError (what the outbox waits out), and the dead connection must
    not come back from the pool."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a lost server connection needs the server: PostgreSQL only")
    with pytest.raises(OperationalError), world.sessions.begin() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()
        submit_complaint(session, draft(world), world.operator)
    assert world.submit(draft(world)).created  # the next desk action gets a live connection
