"""QA evaluations and the replay list on both databases: revisions never overwrite, only
the call's own agent acknowledges, operators see only their own, and the list filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core.qa import AutoScore, Comment, Evaluation, QAError
from agent_desk.core.roles import Role
from agent_desk.core.scripts import QAItem, Text
from agent_desk.core.timeline import build_timeline
from agent_desk.store.agents import add_agent
from agent_desk.store.models import CallSession, Complaint, Customer, QAEvaluation, SessionEvent
from agent_desk.store.qa import (
    NotAllowed,
    NotFound,
    SessionFilters,
    acknowledge,
    attach_recording,
    evaluations_visible_to,
    get_evaluation,
    latest_evaluations,
    list_revisions,
    load_session_for_replay,
    save_evaluation,
    session_list,
)

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
ITEMS = (
    QAItem("greet", Text("开场白", "Greeting"), 10, False, "greeting_used"),
    QAItem("forbidden", Text("禁忌语", "Forbidden"), 20, True, "no_forbidden_phrase"),
    QAItem("empathy", Text("共情", "Empathy"), 30),
)


@dataclass(frozen=True)
class World:
    op1: int  # operator 1001
    op2: int  # operator 1002
    lead: int  # team lead 2001
    lead2: int  # team lead 2002
    trainer: int
    calls: dict[str, int]  # name -> call session id


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield sessionmaker(engine, expire_on_commit=False)


def _call(
    session: Session,
    name: str,
    agent: int,
    hours: float,
    *,
    customer: Customer | None = None,
    code: str | None = "repair",
    recording: str | None = None,
) -> int:
    started = T0 + dt.timedelta(hours=hours)
    row = CallSession(
        call_id=name,
        number="+8613800138000",
        agent_id=agent,
        customer_id=customer.id if customer else None,
        started_at=started,
        answered_at=started + dt.timedelta(seconds=6),
        ended_at=started + dt.timedelta(minutes=5),
        wrap_up_code=code,
        notes=f"{name} 的备注",
        recording_ref=recording,
    )
    session.add(row)
    session.flush()
    return row.id


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with sessions.begin() as s:
        op1 = add_agent(s, "1001", "王小燕", Role.OPERATOR).id
        op2 = add_agent(s, "1002", "赵敏", Role.OPERATOR).id
        lead = add_agent(s, "2001", "李建国", Role.TEAM_LEAD).id
        lead2 = add_agent(s, "2002", "孙丽", Role.TEAM_LEAD).id
        trainer = add_agent(s, "3001", "陈老师", Role.TRAINER).id
        zhang = Customer(name="张伟")
        li = Customer(name="李娜 (VIP)")
        s.add_all([zhang, li])
        s.flush()
        calls = {
            "a": _call(s, "a", op1, 0, customer=zhang, recording="2026/11/23/a.ogg"),
            "b": _call(s, "b", op1, 1, customer=li, code="complaint"),
            "c": _call(s, "c", op2, 2, customer=zhang, code="enquiry"),
            "d": _call(s, "d", op2, 26, code=None),  # the next day, still open
            "e": _call(s, "e", op1, 27, customer=li, code="complaint"),
        }
        # b and e: a complaint row tied to the call; e also has the desk's event of it.
        for n, name in enumerate(("b", "e")):
            s.add(
                Complaint(
                    reference=f"TS-20261123-000{n}",
                    idempotency_key=f"k-{name}",
                    customer_id=li.id,
                    session_id=calls[name],
                    category="quality",
                    severity="normal",
                    description="空调不制冷",
                    promised_reply_at=T0 + dt.timedelta(days=1),
                )
            )
        s.add(
            SessionEvent(
                session_id=calls["e"],
                offset_ms=60_000,
                kind="complaint_submitted",
                payload={"reference": "TS-2", "promised_reply_at": "2026-11-25T09:00:00+08:00"},
            )
        )
    return World(op1, op2, lead, lead2, trainer, calls)


def scorecard(empathy: str = "pass", kind: str = "evaluation") -> Evaluation:
    autos = [AutoScore("greet", "pass", 8000, "开场白"), AutoScore("forbidden", "pass", None, "")]
    ev = Evaluation.start(ITEMS, autos, kind=kind, pack="service-etiquette@1.0.0")  # type: ignore[arg-type]
    return ev.with_result("empathy", empathy)  # type: ignore[arg-type]


def test_a_new_revision_never_overwrites_the_earlier_one(
    sessions: sessionmaker[Session], world: World
) -> None:
    call = world.calls["a"]
    with sessions.begin() as s:
        first = save_evaluation(s, call, world.lead, scorecard("pass"))
    with sessions.begin() as s:
        edited = scorecard("fail").with_comment(Comment(61_000, "应先道歉", "2001"))
        second = save_evaluation(s, call, world.lead, edited)
    assert (first.revision, second.revision) == (1, 2)
    assert first.total == 100.0 and second.total == pytest.approx(100 * 30 / 60)
    with sessions.begin() as s:
        revisions = list_revisions(s, call, world.lead)
        assert [r.revision for r in revisions] == [1, 2]
        assert revisions[0].evaluation == scorecard("pass")  # as it was saved
        assert revisions[1].evaluation == edited
        assert revisions[1].evaluation.comments[0].text == "应先道歉"
        assert get_evaluation(s, first.id).evaluation.score("empathy").result == "pass"
        assert s.scalar(select(func.count(QAEvaluation.id))) == 2
        (latest,) = latest_evaluations(s, call)
        assert (latest.id, latest.evaluator_name, latest.revision) == (second.id, "李建国", 2)
        assert latest.created_at.tzinfo is not None


def test_only_team_leads_save_and_only_complete_scorecards(
    sessions: sessionmaker[Session], world: World
) -> None:
    with sessions.begin() as s, pytest.raises(NotAllowed, match="only team leads"):
        save_evaluation(s, world.calls["a"], world.op2, scorecard())
    unfinished = Evaluation.start(ITEMS)
    with sessions.begin() as s, pytest.raises(QAError, match="3 items not scored"):
        save_evaluation(s, world.calls["a"], world.lead, unfinished)
    with sessions.begin() as s, pytest.raises(NotFound, match="no session"):
        save_evaluation(s, 999_999, world.lead, scorecard())
    with sessions.begin() as s:
        assert s.scalar(select(func.count(QAEvaluation.id))) == 0


def test_a_critical_failure_is_saved_as_a_zero_total(
    sessions: sessionmaker[Session], world: World
) -> None:
    failed = scorecard().with_result("forbidden", "fail", "说了“没办法”")
    with sessions.begin() as s:
        saved = save_evaluation(s, world.calls["a"], world.lead, failed)
    assert saved.total == 0.0 and saved.failed_critical == ("forbidden",)
    with sessions.begin() as s:
        row = s.get(QAEvaluation, saved.id)
        assert row is not None and row.item_scores["failed_critical"] == ["forbidden"]


def test_calibration_keeps_both_team_leads_scorecards(
    sessions: sessionmaker[Session], world: World
) -> None:
    from agent_desk.core.qa import compare_evaluations

    call = world.calls["c"]
    with sessions.begin() as s:
        save_evaluation(s, call, world.lead, scorecard("pass"))
        save_evaluation(s, call, world.lead2, scorecard("fail", kind="calibration"))
    with sessions.begin() as s:
        a, b = latest_evaluations(s, call)
        assert (a.kind, b.kind) == ("evaluation", "calibration")
        diff = compare_evaluations(a.evaluation, b.evaluation)
        assert [(d.item_id, d.a_result, d.b_result) for d in diff] == [("empathy", "pass", "fail")]
        assert [r.kind for r in latest_evaluations(s, call, kind="calibration")] == ["calibration"]


def test_only_the_calls_own_agent_acknowledges_the_latest_revision(
    sessions: sessionmaker[Session], world: World
) -> None:
    call = world.calls["a"]  # operator 1001's call
    with sessions.begin() as s:
        old = save_evaluation(s, call, world.lead, scorecard("pass"))
        new = save_evaluation(s, call, world.lead, scorecard("fail"))
        calibration = save_evaluation(s, call, world.lead2, scorecard(kind="calibration"))
    for who in (world.op2, world.lead):
        with sessions.begin() as s, pytest.raises(NotAllowed, match="another agent's call"):
            acknowledge(s, new.id, who)
    with sessions.begin() as s, pytest.raises(NotAllowed, match="replaced by revision 2"):
        acknowledge(s, old.id, world.op1)
    with sessions.begin() as s, pytest.raises(NotAllowed, match="calibration"):
        acknowledge(s, calibration.id, world.op1)
    with sessions.begin() as s, pytest.raises(NotFound):
        acknowledge(s, 999_999, world.op1)

    moment = T0 + dt.timedelta(days=2)
    with sessions.begin() as s:
        done = acknowledge(s, new.id, world.op1, at=moment)
    assert (done.acknowledged_at, done.acknowledged_by_id) == (moment, world.op1)
    with sessions.begin() as s:
        again = acknowledge(s, new.id, world.op1, at=moment + dt.timedelta(hours=1))
    assert again.acknowledged_at == moment  # the first acknowledgement stands
    with sessions.begin() as s:
        # Scores untouched by the acknowledgement; the old revision still unacknowledged.
        assert get_evaluation(s, new.id).evaluation == scorecard("fail")
        assert not get_evaluation(s, old.id).acknowledged


def test_operators_see_only_their_own_calls_evaluations(
    sessions: sessionmaker[Session], world: World
) -> None:
    with sessions.begin() as s:
        a1 = save_evaluation(s, world.calls["a"], world.lead, scorecard("pass"))
        a2 = save_evaluation(s, world.calls["a"], world.lead, scorecard("fail"))
        save_evaluation(s, world.calls["a"], world.lead2, scorecard(kind="calibration"))
        c1 = save_evaluation(s, world.calls["c"], world.lead, scorecard())
    with sessions.begin() as s:
        mine = evaluations_visible_to(s, world.op1, Role.OPERATOR)
        assert [r.id for r in mine] == [a2.id]  # the latest; no calibration; not op2's
        assert a1.id not in [r.id for r in mine]
        theirs = evaluations_visible_to(s, world.op2, "operator")
        assert [r.id for r in theirs] == [c1.id]
        assert evaluations_visible_to(s, world.op2, Role.OPERATOR, world.calls["a"]) == []
        assert evaluations_visible_to(s, world.trainer, Role.TRAINER) == []
        everything = evaluations_visible_to(s, world.lead2, Role.TEAM_LEAD)
        assert len(everything) == 3  # each evaluator's latest, calibration included
        one_call = evaluations_visible_to(s, world.lead, Role.TEAM_LEAD, world.calls["a"])
        assert {r.kind for r in one_call} == {"evaluation", "calibration"}


def ids(page_rows: tuple[object, ...]) -> list[str]:
    return [row.call_id for row in page_rows]  # type: ignore[attr-defined]


def test_session_list_filters(sessions: sessionmaker[Session], world: World) -> None:
    with sessions.begin() as s:
        ev = save_evaluation(s, world.calls["a"], world.lead, scorecard())
        save_evaluation(s, world.calls["c"], world.lead, scorecard())
        acknowledge(s, ev.id, world.op1)
        save_evaluation(s, world.calls["e"], world.lead2, scorecard(kind="calibration"))

    def listed(**filters: object) -> list[str]:
        with sessions.begin() as s:
            return ids(session_list(s, SessionFilters(**filters)).rows)  # type: ignore[arg-type]

    assert listed() == ["e", "d", "c", "b", "a"]  # newest first
    assert listed(agent_id=world.op1) == ["e", "b", "a"]
    day_one = {"started_from": T0, "started_before": T0 + dt.timedelta(days=1)}
    assert listed(**day_one) == ["c", "b", "a"]
    beijing = dt.timezone(dt.timedelta(hours=8))
    assert listed(started_from=dt.datetime(2026, 11, 24, 10, 0, tzinfo=beijing)) == ["e", "d"]
    assert listed(customer="张") == ["c", "a"]
    assert listed(customer="vip") == ["e", "b"]  # case-insensitive
    assert listed(customer="%") == []  # a literal percent sign, not a wildcard
    assert listed(wrap_up_code="complaint") == ["e", "b"]
    assert listed(complaint_raised=True) == ["e", "b"]
    assert listed(complaint_raised=False) == ["d", "c", "a"]
    # A calibration scorecard does not score the call for the agent.
    assert listed(qa_status="not_scored") == ["e", "d", "b"]
    assert listed(qa_status="scored") == ["c"]  # scored, not yet acknowledged
    assert listed(qa_status="acknowledged") == ["a"]
    assert listed(with_recording=True) == ["a"]
    assert listed(agent_id=world.op1, complaint_raised=True, customer="李") == ["e", "b"]

    with sessions.begin() as s:
        rows = {r.call_id: r for r in session_list(s).rows}
    a = rows["a"]
    assert (a.agent_no, a.agent_name, a.customer_name) == ("1001", "王小燕", "张伟")
    assert (a.qa_status, a.has_recording, a.complaint_raised) == ("acknowledged", True, False)
    assert a.talk_ms == (5 * 60 - 6) * 1000
    assert rows["c"].qa_status == "scored" and rows["e"].qa_status == "not_scored"
    assert rows["d"].customer_name == "" and rows["d"].wrap_up_code is None


def test_session_list_pages_cover_every_session_once(
    sessions: sessionmaker[Session], world: World
) -> None:
    with sessions.begin() as s:
        # Two more calls at the very same moment as "c": the page boundary falls among them.
        same = T0 + dt.timedelta(hours=2)
        for name in ("c2", "c3"):
            s.add(CallSession(call_id=name, number="1", agent_id=world.op2, started_at=same))
    seen: list[str] = []
    cursor = None
    with sessions.begin() as s:
        while True:
            page = session_list(s, None, cursor, limit=2)
            assert len(page.rows) <= 2
            seen += ids(page.rows)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen[:2] == ["e", "d"] and seen[-2:] == ["b", "a"]
    assert sorted(seen) == sorted(["a", "b", "c", "c2", "c3", "d", "e"])
    with sessions.begin() as s, pytest.raises(ValueError, match="limit"):
        session_list(s, limit=0)


def test_a_session_loads_for_replay_with_its_events_and_recording(
    sessions: sessionmaker[Session], world: World
) -> None:
    call = world.calls["e"]
    with sessions.begin() as s:
        for offset, kind, payload in (
            (0, "ringing", {"number": "+8613800138000"}),
            (6_000, "answered", {}),
            (6_000, "screen_pop", {"ms": 12, "customer_id": None}),
            (90_000, "coaching_warning", {"matched": "没办法"}),
        ):
            s.add(SessionEvent(session_id=call, offset_ms=offset, kind=kind, payload=payload))
        s.flush()
        attach_recording(
            s,
            call,
            "2026/11/24/e.ogg",
            checksum="ab" * 32,
            duration_ms=294_000,
            size=9,
            codec="opus",
        )
    with sessions.begin() as s:
        replay = load_session_for_replay(s, call)
    assert (replay.call_id, replay.agent_no, replay.customer_name) == ("e", "1001", "李娜 (VIP)")
    assert replay.notes == "e 的备注" and replay.wrap_up_code == "complaint"
    assert replay.complaint_raised
    assert replay.recording_ref == "2026/11/24/e.ogg"
    assert replay.recording_checksum == "ab" * 32
    # By default a recording starts at the answer (as the desk's and most PBXs' do).
    assert replay.audio_offset_ms == replay.answered_offset_ms == 6_000
    assert [(e.offset_ms, e.kind) for e in replay.events] == [
        (0, "ringing"),
        (6_000, "answered"),
        (6_000, "screen_pop"),  # same moment: stored order
        (6_000, "recording"),
        (60_000, "complaint_submitted"),
        (90_000, "coaching_warning"),
    ]
    timeline = build_timeline(replay.events, audio_offset_ms=replay.audio_offset_ms)
    assert timeline.at(84_000) == 5  # 84 s into the audio is 90 s into the call
    with sessions.begin() as s:
        # A session without audio replays its timeline alone.
        bare = load_session_for_replay(s, world.calls["d"])
        assert bare.recording_ref is None and bare.events == ()
        assert not bare.complaint_raised
        # The desk's event of a complaint counts before its row is linked to the call.
        s.add(SessionEvent(session_id=world.calls["d"], offset_ms=1, kind="complaint_submitted"))
        s.flush()
        assert load_session_for_replay(s, world.calls["d"]).complaint_raised
        with pytest.raises(NotFound):
            load_session_for_replay(s, 999_999)
        with pytest.raises(NotFound):
            attach_recording(s, 999_999, "x.ogg", checksum="", duration_ms=0, size=0, codec="")
