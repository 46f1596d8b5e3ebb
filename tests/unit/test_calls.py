"""The call state machine and the desk's call flow: every transition, every refusal, the queue,
pending not-ready, after-call work, and random shifts that must never lose a call."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from agent_desk.core.agent_state import AgentState, IllegalStateChange
from agent_desk.core.calls import (
    AgentStateChanged,
    Call,
    CallAction,
    CallAnswered,
    CallEnded,
    CallFlow,
    CallFlowError,
    CallFlowEvent,
    CallMissed,
    CallOnHold,
    CallQueued,
    CallResumed,
    CallRinging,
    CallState,
    DuplicateCall,
    IllegalCallTransition,
    NotReadyPending,
    UnknownCall,
    WrapUpCodeChosen,
    WrapUpCodeError,
    WrapUpDone,
    WrapUpPolicy,
    WrapUpStarted,
    event_payload,
)

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
S, R, T, H, W, D = (  # offered (waiting), ringing, talking, hold, wrap-up, done
    CallState.OFFERED,
    CallState.RINGING,
    CallState.TALKING,
    CallState.HOLD,
    CallState.WRAP_UP,
    CallState.DONE,
)
READY, NOT_READY = AgentState.READY, AgentState.NOT_READY
ON_CALL, WRAP_UP = AgentState.ON_CALL, AgentState.WRAP_UP


def t(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def ready_flow(**policy: object) -> CallFlow:
    flow = CallFlow(WrapUpPolicy(**policy) if policy else None)  # type: ignore[arg-type]
    flow.request_agent_state(READY, at=t(0))
    return flow


# -- the state machine itself ----------------------------------------------------------------

# Written out by hand (not derived from calls.TRANSITIONS) so the test is a second opinion.
LEGAL = {
    (S, CallAction.RING): R,
    (S, CallAction.MISS): D,
    (R, CallAction.ANSWER): T,
    (R, CallAction.MISS): D,
    (T, CallAction.HOLD): H,
    (T, CallAction.END): W,
    (H, CallAction.RESUME): T,
    (H, CallAction.END): W,
    (W, CallAction.FINISH): D,
}
PATH_TO = {
    S: [],
    R: [CallAction.RING],
    T: [CallAction.RING, CallAction.ANSWER],
    H: [CallAction.RING, CallAction.ANSWER, CallAction.HOLD],
    W: [CallAction.RING, CallAction.ANSWER, CallAction.END],
    D: [CallAction.RING, CallAction.ANSWER, CallAction.END, CallAction.FINISH],
}


def call_in(state: CallState) -> Call:
    call = Call("c1", "13800138000", t(0))
    for i, action in enumerate(PATH_TO[state], start=1):
        call.advance(action, t(i))
    assert call.state is state
    return call


@pytest.mark.parametrize("action", list(CallAction))
@pytest.mark.parametrize("state", list(CallState))
def test_every_state_and_action(state: CallState, action: CallAction) -> None:
    call = call_in(state)
    history = list(call.history)
    if (state, action) in LEGAL:
        assert call.advance(action, t(100)) is LEGAL[(state, action)]
        assert call.history == [*history, (LEGAL[(state, action)], t(100))]
        return
    with pytest.raises(IllegalCallTransition) as refused:
        call.advance(action, t(100))
    message = str(refused.value)
    assert f"call c1: it is {state.words}, not " in message
    assert all(s.words in message for s in CallState if (s, action) in LEGAL)
    assert call.state is state and call.history == history


def test_refusal_names_both_states() -> None:
    with pytest.raises(IllegalCallTransition, match="cannot hold call c1: it is ringing, not talk"):
        call_in(R).advance(CallAction.HOLD, t(9))
    with pytest.raises(IllegalCallTransition, match="it is ringing, not talking or on hold"):
        call_in(R).advance(CallAction.END, t(9))


def test_call_keeps_a_time_for_every_transition() -> None:
    call = Call("c1", "+86 138 0013 8000", t(0))
    for at, action in enumerate(
        [
            CallAction.RING,
            CallAction.ANSWER,
            CallAction.HOLD,
            CallAction.RESUME,
            CallAction.HOLD,
            CallAction.RESUME,
            CallAction.END,
            CallAction.FINISH,
        ],
        start=1,
    ):
        call.advance(action, t(at * 10))
    assert call.number == "+86 138 0013 8000"  # as received: the screen pop normalises
    assert (call.ringing_at, call.answered_at, call.ended_at, call.done_at) == (
        t(10),
        t(20),
        t(70),
        t(80),
    )
    assert call.held_seconds == 20.0
    assert not call.missed
    assert [state for state, _ in call.history] == [S, R, T, H, T, H, T, W, D]


# -- the desk: a call from ring to ready -----------------------------------------------------


def test_a_whole_call() -> None:
    flow = ready_flow()
    assert flow.offer("c1", "13800138000", at=t(1)) == [
        CallRinging("c1", "13800138000", False, t(1)),
        AgentStateChanged(READY, ON_CALL, "c1", t(1)),
    ]
    assert flow.answer(at=t(3)) == [CallAnswered("c1", t(3))]
    assert flow.hold(at=t(10)) == [CallOnHold("c1", t(10))]
    assert flow.resume(at=t(20)) == [CallResumed("c1", t(20))]
    assert flow.agent_state is ON_CALL
    assert flow.end(at=t(30)) == [
        CallEnded("c1", "agent", t(30)),
        WrapUpStarted("c1", t(90), t(30)),
        AgentStateChanged(ON_CALL, WRAP_UP, "c1", t(30)),
    ]
    assert flow.after_call_work_deadline == t(90)
    assert flow.choose_wrap_up("repair", at=t(35)) == [WrapUpCodeChosen("c1", "repair", t(35))]
    call = flow.active
    assert call is not None
    assert flow.finish_wrap_up(at=t(40)) == [
        WrapUpDone("c1", "repair", False, t(40)),
        AgentStateChanged(WRAP_UP, READY, "c1", t(40)),
    ]
    assert flow.active is None and flow.agent_state is READY
    assert (call.state, call.wrap_up_code, call.wrap_up_defaulted) == (D, "repair", False)
    assert call.ended_by == "agent"


def test_caller_hangs_up_during_the_conversation() -> None:
    flow = ready_flow()
    flow.offer("c1", "110", at=t(1))
    flow.answer("c1", at=t(2))
    flow.hold(at=t(3))
    assert flow.ended_by_remote("c1", at=t(4)) == [
        CallEnded("c1", "caller", t(4)),
        WrapUpStarted("c1", t(64), t(4)),
        AgentStateChanged(ON_CALL, WRAP_UP, "c1", t(4)),
    ]
    # The switch repeating it while the agent wraps up changes nothing.
    assert flow.ended_by_remote("c1", at=t(5)) == []
    assert flow.agent_state is WRAP_UP


def test_caller_gives_up_while_ringing_is_a_missed_call() -> None:
    flow = ready_flow()
    flow.offer("c1", "110", at=t(1))
    call = flow.active
    assert flow.ended_by_remote("c1", at=t(9)) == [
        CallMissed("c1", "110", False, t(9)),
        AgentStateChanged(ON_CALL, READY, "c1", t(9)),
    ]
    assert call is not None and call.missed and call.wrap_up_code is None
    assert call.ended_at == t(9)
    assert flow.active is None and not flow.has_call("c1")


def test_actions_without_a_call_are_refused() -> None:
    flow = ready_flow()
    for action in (
        flow.answer,
        flow.hold,
        flow.resume,
        flow.end,
        flow.finish_wrap_up,
        flow.after_call_work_expired,
    ):
        with pytest.raises(IllegalCallTransition, match="there is no call at the desk"):
            action(at=t(1))
    with pytest.raises(IllegalCallTransition, match="no call"):
        flow.choose_wrap_up("other", at=t(1))
    with pytest.raises(UnknownCall, match="unknown call id 'nope'"):
        flow.ended_by_remote("nope", at=t(1))


def test_the_same_call_cannot_be_offered_twice() -> None:
    flow = ready_flow()
    flow.offer("c1", "110", at=t(1))
    with pytest.raises(DuplicateCall, match="call c1 is already ringing"):
        flow.offer("c1", "110", at=t(2))
    with pytest.raises(CallFlowError, match="needs a call id"):
        flow.offer("", "110", at=t(2))


# -- every desk action in every state of a call, refusals change nothing ----------------------

Act = Callable[[CallFlow], list[CallFlowEvent]]
DESK_ACTIONS: dict[str, Act] = {
    "answer": lambda f: f.answer("c1", at=t(50)),
    "hold": lambda f: f.hold("c1", at=t(50)),
    "resume": lambda f: f.resume("c1", at=t(50)),
    "end": lambda f: f.end("c1", at=t(50)),
    "choose_wrap_up": lambda f: f.choose_wrap_up("enquiry", "c1", at=t(50)),
    "finish_wrap_up": lambda f: f.finish_wrap_up("c1", at=t(50)),
    "after_call_work_expired": lambda f: f.after_call_work_expired("c1", at=t(50)),
    "ended_by_remote": lambda f: f.ended_by_remote("c1", at=t(50)),
}
# (state of c1, action) -> state after; finish_wrap_up needs a code, which none has here.
DESK_LEGAL = {
    (S, "ended_by_remote"): D,
    (R, "answer"): T,
    (R, "ended_by_remote"): D,
    (T, "hold"): H,
    (T, "end"): W,
    (T, "choose_wrap_up"): T,
    (T, "ended_by_remote"): W,
    (H, "resume"): T,
    (H, "end"): W,
    (H, "choose_wrap_up"): H,
    (H, "ended_by_remote"): W,
    (W, "choose_wrap_up"): W,
    (W, "after_call_work_expired"): D,
    (W, "ended_by_remote"): W,
}


def flow_with_c1_in(state: CallState) -> CallFlow:
    """c1 in `state` at a desk whose Ready agent also has c0 (when c1 waits) and c9 queued."""
    flow = ready_flow()
    if state is S:
        flow.offer("c0", "100", at=t(1))
    flow.offer("c1", "101", at=t(2))
    if state in (T, H, W):
        flow.answer("c1", at=t(3))
    if state is H:
        flow.hold(at=t(4))
    if state is W:
        flow.end(at=t(5))
    flow.offer("c9", "109", at=t(6))
    assert flow.call("c1").state is state
    return flow


def snapshot(flow: CallFlow) -> tuple[object, ...]:
    call = flow.call("c1") if flow.has_call("c1") else None
    return (
        flow.agent_state,
        flow.pending_not_ready,
        flow.active.call_id if flow.active else None,
        [(c.call_id, c.queue_position) for c in flow.queue],
        call and (call.state, list(call.history), call.wrap_up_code, call.ended_by),
    )


@pytest.mark.parametrize("action", list(DESK_ACTIONS))
@pytest.mark.parametrize("state", [S, R, T, H, W])
def test_every_desk_action_in_every_state(state: CallState, action: str) -> None:
    flow = flow_with_c1_in(state)
    call = flow.call("c1")
    before = snapshot(flow)
    if (state, action) in DESK_LEGAL:
        DESK_ACTIONS[action](flow)
        assert call.state is DESK_LEGAL[(state, action)]
        return
    with pytest.raises(CallFlowError) as refused:
        DESK_ACTIONS[action](flow)
    if action == "finish_wrap_up" and state is W:
        assert isinstance(refused.value, WrapUpCodeError)
    else:
        assert isinstance(refused.value, IllegalCallTransition)
        assert state.words in str(refused.value)
    assert snapshot(flow) == before


@pytest.mark.parametrize("action", list(DESK_ACTIONS))
def test_a_finished_call_is_unknown_to_the_desk(action: str) -> None:
    flow = ready_flow()
    flow.offer("c1", "101", at=t(1))
    flow.ended_by_remote("c1", at=t(2))
    with pytest.raises(UnknownCall, match="unknown call id 'c1'"):
        DESK_ACTIONS[action](flow)
    assert flow.agent_state is READY and flow.active is None


# -- the queue ---------------------------------------------------------------------------------


def test_second_and_third_calls_wait_in_order_and_ring_in_turn() -> None:
    flow = ready_flow()
    flow.offer("c1", "101", at=t(1))
    flow.answer(at=t(2))
    assert flow.offer("c2", "102", at=t(3)) == [CallQueued("c2", "102", 1, t(3))]
    assert flow.offer("c3", "103", at=t(4)) == [CallQueued("c3", "103", 2, t(4))]
    assert [(c.call_id, c.state, c.queue_position) for c in flow.queue] == [
        ("c2", S, 1),
        ("c3", S, 2),
    ]
    assert flow.active is not None and flow.active.call_id == "c1"
    # Waiting calls cannot be answered past the active one.
    with pytest.raises(IllegalCallTransition, match="call c2: it is waiting in the queue"):
        flow.answer("c2", at=t(5))
    flow.end(at=t(6))
    flow.choose_wrap_up("enquiry", at=t(7))
    assert flow.finish_wrap_up(at=t(8)) == [
        WrapUpDone("c1", "enquiry", False, t(8)),
        AgentStateChanged(WRAP_UP, READY, "c1", t(8)),
        CallRinging("c2", "102", True, t(8)),
        AgentStateChanged(READY, ON_CALL, "c2", t(8)),
    ]
    assert [(c.call_id, c.queue_position) for c in flow.queue] == [("c3", 1)]
    c2 = flow.call("c2")
    assert c2.queue_position is None and c2.offered_at == t(3) and c2.ringing_at == t(8)
    flow.answer(at=t(9))
    flow.end(at=t(10))
    flow.after_call_work_expired(at=t(70))
    assert flow.active is not None and flow.active.call_id == "c3"
    assert flow.active.state is R and flow.queue == ()


def test_a_call_offered_during_wrap_up_waits_for_it() -> None:
    flow = ready_flow()
    flow.offer("c1", "101", at=t(1))
    flow.answer(at=t(2))
    flow.end(at=t(3))
    assert flow.offer("c2", "102", at=t(4)) == [CallQueued("c2", "102", 1, t(4))]
    assert flow.agent_state is WRAP_UP


def test_a_waiting_caller_who_hangs_up_leaves_the_queue() -> None:
    flow = ready_flow()
    for i in (1, 2, 3, 4):
        flow.offer(f"c{i}", f"10{i}", at=t(i))
    assert flow.ended_by_remote("c3", at=t(9)) == [CallMissed("c3", "103", True, t(9))]
    assert [(c.call_id, c.queue_position) for c in flow.queue] == [("c2", 1), ("c4", 2)]
    assert flow.agent_state is ON_CALL
    # The ringing call given up: the next one rings at once.
    events = flow.ended_by_remote("c1", at=t(10))
    assert events[0] == CallMissed("c1", "101", False, t(10))
    assert CallRinging("c2", "102", True, t(10)) in events
    assert flow.agent_state is ON_CALL


# -- the agent state -------------------------------------------------------------------------


def test_not_ready_during_a_call_waits_for_the_call_to_finish() -> None:
    flow = ready_flow()
    flow.offer("c1", "101", at=t(1))
    flow.answer(at=t(2))
    assert flow.request_agent_state(NOT_READY, at=t(3)) == [NotReadyPending("c1", True, t(3))]
    assert flow.request_agent_state(NOT_READY, at=t(3)) == []
    assert flow.agent_state is ON_CALL and flow.pending_not_ready
    flow.end(at=t(4))
    flow.choose_wrap_up("other", at=t(5))
    events = flow.finish_wrap_up(at=t(6))
    assert events[-1] == AgentStateChanged(WRAP_UP, NOT_READY, "c1", t(6))
    assert flow.agent_state is NOT_READY and not flow.pending_not_ready


def test_ready_again_during_the_call_cancels_pending_not_ready() -> None:
    flow = ready_flow()
    flow.offer("c1", "101", at=t(1))
    flow.request_agent_state(NOT_READY, at=t(2))
    assert flow.request_agent_state(READY, at=t(3)) == [NotReadyPending("c1", False, t(3))]
    flow.ended_by_remote("c1", at=t(4))
    assert flow.agent_state is READY


def test_a_not_ready_agent_still_sees_a_call_the_switch_sends_and_stays_not_ready() -> None:
    flow = CallFlow()
    assert flow.agent_state is NOT_READY
    assert flow.offer("c1", "101", at=t(1))[-1] == AgentStateChanged(NOT_READY, ON_CALL, "c1", t(1))
    assert flow.pending_not_ready
    flow.answer(at=t(2))
    flow.end(at=t(3))
    flow.after_call_work_expired(at=t(63))
    assert flow.agent_state is NOT_READY


def test_pending_not_ready_holds_while_queued_calls_still_ring() -> None:
    flow = ready_flow()
    flow.offer("c1", "101", at=t(1))
    flow.offer("c2", "102", at=t(2))
    flow.request_agent_state(NOT_READY, at=t(3))
    events = flow.ended_by_remote("c1", at=t(4))
    assert AgentStateChanged(ON_CALL, NOT_READY, "c1", t(4)) in events
    assert AgentStateChanged(NOT_READY, ON_CALL, "c2", t(4)) in events
    assert flow.pending_not_ready  # c2 was routed before the agent went Not ready


@pytest.mark.parametrize("wanted", [ON_CALL, WRAP_UP])
def test_call_states_cannot_be_chosen_by_hand(wanted: AgentState) -> None:
    flow = ready_flow()
    with pytest.raises(IllegalStateChange):
        flow.request_agent_state(wanted, at=t(1))
    flow.offer("c1", "101", at=t(1))
    with pytest.raises(IllegalStateChange):
        flow.request_agent_state(wanted, at=t(2))
    assert flow.agent_state is ON_CALL


def test_idle_agent_toggles_ready() -> None:
    flow = CallFlow()
    assert flow.request_agent_state(READY, at=t(1)) == [
        AgentStateChanged(NOT_READY, READY, None, t(1))
    ]
    assert flow.request_agent_state(READY, at=t(2)) == []
    with pytest.raises(ValueError, match="starts Ready or Not ready"):
        CallFlow(agent_state=ON_CALL)


# -- wrap-up ---------------------------------------------------------------------------------


def in_wrap_up(**policy: object) -> CallFlow:
    flow = ready_flow(**policy)
    flow.offer("c1", "101", at=t(0))
    flow.answer(at=t(1))
    flow.end(at=t(10))
    return flow


def test_after_call_work_runs_out_with_the_default_code() -> None:
    flow = in_wrap_up(codes=("a", "b"), default_code="b", after_call_work_seconds=30)
    assert flow.after_call_work_deadline == t(40)
    call = flow.active
    assert flow.after_call_work_expired(at=t(40))[0] == WrapUpDone("c1", "b", True, t(40))
    assert call is not None and call.wrap_up_code == "b" and call.wrap_up_defaulted
    assert flow.agent_state is READY and flow.after_call_work_deadline is None


def test_after_call_work_keeps_a_code_the_agent_chose() -> None:
    flow = in_wrap_up()
    flow.choose_wrap_up("complaint", at=t(11))
    assert flow.after_call_work_expired(at=t(70))[0] == WrapUpDone("c1", "complaint", False, t(70))


def test_ready_needs_a_code_from_the_list() -> None:
    flow = in_wrap_up()
    with pytest.raises(WrapUpCodeError, match="choose a wrap-up code for call c1 first"):
        flow.finish_wrap_up(at=t(11))
    with pytest.raises(WrapUpCodeError, match="unknown wrap-up code 'fun'"):
        flow.choose_wrap_up("fun", at=t(11))
    assert flow.agent_state is WRAP_UP and flow.active is not None
    assert flow.active.wrap_up_code is None


def test_code_chosen_while_talking_carries_into_wrap_up() -> None:
    flow = ready_flow()
    flow.offer("c1", "101", at=t(0))
    flow.answer(at=t(1))
    flow.choose_wrap_up("repair", at=t(2))
    assert flow.choose_wrap_up("repair", at=t(3)) == []  # nothing new
    flow.end(at=t(4))
    assert flow.finish_wrap_up(at=t(5))[0] == WrapUpDone("c1", "repair", False, t(5))


def test_default_policy_is_a_call_centres() -> None:
    policy = WrapUpPolicy()
    assert policy.codes == ("enquiry", "repair", "complaint", "callback", "other")
    assert policy.default_code == "other" and policy.after_call_work_seconds == 60
    assert policy.label("repair") == "报修 · Repair" and policy.label("x") == "x"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codes": ()}, "at least one code"),
        ({"codes": ("a", "a"), "default_code": "a"}, "repeat"),
        ({"codes": ("a", " "), "default_code": "a"}, "1-40 characters"),
        ({"codes": ("a" * 41,), "default_code": "a" * 41}, "1-40 characters"),
        ({"codes": ("a",), "default_code": "b"}, "not in the list"),
        ({"after_call_work_seconds": 0}, "at least one second"),
    ],
)
def test_bad_policies_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WrapUpPolicy(**kwargs)  # type: ignore[arg-type]


# -- switch events and the recorder's view ---------------------------------------------------


def test_switch_events_map_onto_the_flow() -> None:
    flow = ready_flow()
    assert flow.apply_switch_event("ringing", "c1", "101", at=t(1))[0] == CallRinging(
        "c1", "101", False, t(1)
    )
    assert flow.apply_switch_event("answered", "c1", at=t(2)) == [CallAnswered("c1", t(2))]
    # The agent answered at the desk first: the switch's answered confirms it.
    assert flow.apply_switch_event("answered", "c1", at=t(3)) == []
    assert flow.apply_switch_event("ended", "c1", at=t(4))[0] == CallEnded("c1", "caller", t(4))
    with pytest.raises(CallFlowError, match="unknown switch event 'transfer'"):
        flow.apply_switch_event("transfer", "c1", at=t(5))
    with pytest.raises(UnknownCall):
        flow.apply_switch_event("answered", "c7", at=t(5))


def test_every_event_has_a_kind_and_a_json_payload() -> None:
    flow = ready_flow()
    events: list[CallFlowEvent] = []
    events += flow.offer("c1", "101", at=t(1))
    events += flow.offer("c2", "102", at=t(1))
    events += flow.answer(at=t(2))
    events += flow.hold(at=t(3))
    events += flow.resume(at=t(4))
    events += flow.request_agent_state(NOT_READY, at=t(4))
    events += flow.choose_wrap_up("other", at=t(5))
    events += flow.end(at=t(6))
    events += flow.finish_wrap_up(at=t(7))
    events += flow.ended_by_remote("c2", at=t(8))
    assert len({type(e) for e in events}) == 12
    for event in events:
        assert event.kind and event.at
        json.dumps(event_payload(event))
    assert event_payload(WrapUpStarted("c1", t(60), t(0))) == {"deadline": t(60).isoformat()}
    assert event_payload(AgentStateChanged(READY, ON_CALL, "c1", t(0))) == {
        "old": "ready",
        "new": "on_call",
    }


# -- random shifts -----------------------------------------------------------------------------

CODES = WrapUpPolicy().codes
_AGENT_FOR = {R: ON_CALL, T: ON_CALL, H: ON_CALL, W: WRAP_UP}


class Shift(RuleBasedStateMachine):
    """Any sequence of switch events and agent actions, legal or not: no call is ever lost or
    finished twice, the queue stays first-in first-out, and the agent state follows the call."""

    def __init__(self) -> None:
        super().__init__()
        self.flow = CallFlow()
        self.clock = 0
        self.serial = 0
        self.waiting: list[str] = []  # the model's queue, in order
        self.offered: set[str] = set()
        self.finished: list[str] = []

    def now(self) -> dt.datetime:
        self.clock += 1
        return t(self.clock)

    def apply(self, action: Callable[[], list[CallFlowEvent]]) -> None:
        before = snapshot_all(self.flow)
        try:
            events = action()
        except (CallFlowError, IllegalStateChange):
            assert snapshot_all(self.flow) == before, "a refused action changed the desk"
            return
        for event in events:
            if isinstance(event, WrapUpDone | CallMissed):
                self.finished.append(event.call_id)
            if isinstance(event, CallMissed) and event.was_queued:
                self.waiting.remove(event.call_id)
            if isinstance(event, CallQueued):
                self.waiting.append(event.call_id)
                assert event.position == len(self.waiting)
            if isinstance(event, CallRinging) and event.was_queued:
                assert self.waiting.pop(0) == event.call_id, "the queue is not first-in first-out"
            if isinstance(event, AgentStateChanged):
                assert event.old is not event.new

    def some_call(self, pick: int) -> str:
        known = sorted(self.offered) or ["nobody"]
        return known[pick % len(known)]

    @rule(number=st.sampled_from(["13800138000", "010-12345678", ""]))
    def new_call(self, number: str) -> None:
        self.serial += 1
        call_id = f"c{self.serial}"
        self.offered.add(call_id)
        self.apply(lambda: self.flow.offer(call_id, number, at=self.now()))

    @precondition(lambda self: set(self.offered) - set(self.finished))
    @rule(pick=st.integers(0, 50))
    def offer_a_live_call_again(self, pick: int) -> None:
        live = sorted(set(self.offered) - set(self.finished))
        call_id = live[pick % len(live)]
        self.apply(lambda: self.flow.offer(call_id, "1", at=self.now()))

    @rule(pick=st.integers(0, 50), explicit=st.booleans())
    def answer(self, pick: int, explicit: bool) -> None:
        call_id = self.some_call(pick) if explicit else None
        self.apply(lambda: self.flow.answer(call_id, at=self.now()))

    @rule()
    def hold(self) -> None:
        self.apply(lambda: self.flow.hold(at=self.now()))

    @rule()
    def resume(self) -> None:
        self.apply(lambda: self.flow.resume(at=self.now()))

    @rule()
    def end(self) -> None:
        self.apply(lambda: self.flow.end(at=self.now()))

    @rule(code=st.sampled_from([*CODES, "bogus"]))
    def choose(self, code: str) -> None:
        self.apply(lambda: self.flow.choose_wrap_up(code, at=self.now()))

    @rule()
    def finish(self) -> None:
        self.apply(lambda: self.flow.finish_wrap_up(at=self.now()))

    @rule()
    def acw_expires(self) -> None:
        self.apply(lambda: self.flow.after_call_work_expired(at=self.now()))

    @rule(pick=st.integers(0, 50))
    def caller_hangs_up(self, pick: int) -> None:
        call_id = self.some_call(pick)
        self.apply(lambda: self.flow.ended_by_remote(call_id, at=self.now()))

    @rule(wanted=st.sampled_from(list(AgentState)))
    def agent_asks(self, wanted: AgentState) -> None:
        self.apply(lambda: self.flow.request_agent_state(wanted, at=self.now()))

    @precondition(lambda self: self.flow.active is not None)
    @rule()
    def switch_confirms_answer(self) -> None:
        active = self.flow.active
        assert active is not None
        self.apply(lambda: self.flow.apply_switch_event("answered", active.call_id, at=self.now()))

    @invariant()
    def no_call_is_lost_or_finished_twice(self) -> None:
        live = [c.call_id for c in self.flow.queue]
        if self.flow.active is not None:
            live.append(self.flow.active.call_id)
        assert len(self.finished) == len(set(self.finished))
        assert sorted(live + self.finished) == sorted(self.offered)

    @invariant()
    def queue_matches_the_model(self) -> None:
        assert [c.call_id for c in self.flow.queue] == self.waiting
        assert [c.queue_position for c in self.flow.queue] == list(range(1, len(self.waiting) + 1))
        assert all(c.state is S for c in self.flow.queue)

    @invariant()
    def agent_state_follows_the_call(self) -> None:
        active = self.flow.active
        if active is None:
            assert not self.flow.queue, "calls wait although the desk is free"
            assert self.flow.agent_state in (READY, NOT_READY)
        else:
            assert self.flow.agent_state is _AGENT_FOR[active.state]


def snapshot_all(flow: CallFlow) -> tuple[object, ...]:
    active = flow.active
    return (
        flow.agent_state,
        flow.pending_not_ready,
        active and (active.call_id, active.state, len(active.history), active.wrap_up_code),
        [(c.call_id, c.queue_position, c.state) for c in flow.queue],
    )


Shift.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_shifts_never_lose_a_call = Shift.TestCase
