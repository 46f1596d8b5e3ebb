"""The call flow at one desk: the call state machine, the calls waiting behind the active one,
and the agent state that follows them.

Clock-free on purpose: every method takes the moment it happened (`at`) and returns the domain
events it produced, so the window, the session recorder and the tests react to the same facts
in the same order, and a test can replay a whole shift in microseconds.

Rules, as an ACD applies them:
- One call is active at a time. A call offered while one is active (even one in wrap-up) waits
  in a first-in first-out queue and rings when the agent has finished the previous call; the
  caller may give up meanwhile (`ended_by_remote`), which drops it from the queue as missed.
- A call offered to an idle desk rings even when the agent is Not ready: the switch chose to
  send it, so the phone is ringing, and hiding it would only make the agent miss it.
- Ringing, talking and hold are On call; wrap-up is Wrap-up; when the call is done the agent
  returns to the availability they had or asked for during the call ("pending not ready").
- Wrap-up ends only with a code from the configured list. The code may be chosen while still
  talking (agents often know it by then), and when after-call work runs out the default code is
  set and marked as defaulted.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

from agent_desk.core.agent_state import AgentState, IllegalStateChange, change_by_agent

Direction = Literal["inbound", "outbound"]
EndedBy = Literal["agent", "caller"]

MAX_WRAP_UP_CODE_LENGTH = 40  # the sessions table's wrap_up_code column


class CallState(enum.StrEnum):
    OFFERED = "offered"  # reached the desk, waiting behind the active call
    RINGING = "ringing"
    TALKING = "talking"
    HOLD = "hold"
    WRAP_UP = "wrap_up"
    DONE = "done"

    @property
    def words(self) -> str:
        return _STATE_WORDS[self]


_STATE_WORDS = {
    CallState.OFFERED: "waiting in the queue",
    CallState.RINGING: "ringing",
    CallState.TALKING: "talking",
    CallState.HOLD: "on hold",
    CallState.WRAP_UP: "in wrap-up",
    CallState.DONE: "done",
}


class CallAction(enum.StrEnum):
    RING = "ring"
    ANSWER = "answer"
    HOLD = "hold"
    RESUME = "resume"
    END = "end"
    MISS = "miss"  # the caller gave up before anyone answered
    FINISH = "finish"  # wrap-up done, with a code

    @property
    def verb(self) -> str:
        return _VERBS[self]


_VERBS = {
    CallAction.RING: "ring",
    CallAction.ANSWER: "answer",
    CallAction.HOLD: "hold",
    CallAction.RESUME: "resume",
    CallAction.END: "end",
    CallAction.MISS: "mark as missed",
    CallAction.FINISH: "finish wrap-up of",
}

# The whole state machine; anything not listed is refused.
TRANSITIONS: Mapping[tuple[CallState, CallAction], CallState] = {
    (CallState.OFFERED, CallAction.RING): CallState.RINGING,
    (CallState.OFFERED, CallAction.MISS): CallState.DONE,
    (CallState.RINGING, CallAction.ANSWER): CallState.TALKING,
    (CallState.RINGING, CallAction.MISS): CallState.DONE,
    (CallState.TALKING, CallAction.HOLD): CallState.HOLD,
    (CallState.HOLD, CallAction.RESUME): CallState.TALKING,
    (CallState.TALKING, CallAction.END): CallState.WRAP_UP,
    (CallState.HOLD, CallAction.END): CallState.WRAP_UP,
    (CallState.WRAP_UP, CallAction.FINISH): CallState.DONE,
}

# A wrap-up code can be picked from the moment the agent is talking.
CODE_STATES = frozenset({CallState.TALKING, CallState.HOLD, CallState.WRAP_UP})


class CallFlowError(ValueError):
    """The desk refused an action; the message says why in the agent's terms."""


class IllegalCallTransition(CallFlowError):
    pass


class UnknownCall(CallFlowError):
    pass


class DuplicateCall(CallFlowError):
    pass


class WrapUpCodeError(CallFlowError):
    """No code chosen, or one that is not in the configured list."""


def _sources(action: CallAction) -> str:
    states = [state.words for state in CallState if (state, action) in TRANSITIONS]
    return " or ".join(states)


@dataclass(eq=False)
class Call:
    """One call at this desk. Only `CallFlow` changes it (through `advance`)."""

    call_id: str
    number: str  # as the switch sent it; the screen pop normalises it
    offered_at: dt.datetime
    direction: Direction = "inbound"
    state: CallState = CallState.OFFERED
    # Every state entered, with when: the offer first, then one entry per transition.
    history: list[tuple[CallState, dt.datetime]] = field(default_factory=list)
    wrap_up_code: str | None = None
    wrap_up_defaulted: bool = False
    queue_position: int | None = None  # 1 = next to ring; None when not waiting
    ended_by: EndedBy | None = None

    def __post_init__(self) -> None:
        if not self.history:
            self.history.append((self.state, self.offered_at))

    def check(self, action: CallAction) -> CallState:
        """The state `action` leads to, or IllegalCallTransition naming both states."""
        target = TRANSITIONS.get((self.state, action))
        if target is None:
            raise IllegalCallTransition(
                f"cannot {action.verb} call {self.call_id}: "
                f"it is {self.state.words}, not {_sources(action)}"
            )
        return target

    def advance(self, action: CallAction, at: dt.datetime) -> CallState:
        self.state = self.check(action)
        self.history.append((self.state, at))
        return self.state

    def entered(self, state: CallState) -> dt.datetime | None:
        """When the call first entered `state` (None if it never did)."""
        return next((at for seen, at in self.history if seen is state), None)

    @property
    def ringing_at(self) -> dt.datetime | None:
        return self.entered(CallState.RINGING)

    @property
    def answered_at(self) -> dt.datetime | None:
        return self.entered(CallState.TALKING)

    @property
    def ended_at(self) -> dt.datetime | None:
        """When the conversation ended (wrap-up began), or when a missed call was given up."""
        if self.answered_at is None:
            return self.entered(CallState.DONE)
        return self.entered(CallState.WRAP_UP)

    @property
    def done_at(self) -> dt.datetime | None:
        return self.entered(CallState.DONE)

    @property
    def missed(self) -> bool:
        return self.state is CallState.DONE and self.answered_at is None

    @property
    def held_seconds(self) -> float:
        total, since = 0.0, None
        for state, at in self.history:
            if state is CallState.HOLD:
                since = at
            elif since is not None:
                total += (at - since).total_seconds()
                since = None
        return total


DEFAULT_WRAP_UP_LABELS: Mapping[str, str] = {
    "enquiry": "咨询 · Enquiry",
    "repair": "报修 · Repair",
    "complaint": "投诉 · Complaint",
    "callback": "回访 · Callback",
    "other": "其他 · Other",
}


@dataclass(frozen=True)
class WrapUpPolicy:
    codes: tuple[str, ...] = tuple(DEFAULT_WRAP_UP_LABELS)
    default_code: str = "other"
    after_call_work_seconds: int = 60
    labels: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_WRAP_UP_LABELS), hash=False
    )

    def __post_init__(self) -> None:
        if not self.codes:
            raise ValueError("wrap-up policy needs at least one code")
        if len(set(self.codes)) != len(self.codes):
            raise ValueError(f"wrap-up codes repeat: {', '.join(self.codes)}")
        for code in self.codes:
            if not code.strip() or len(code) > MAX_WRAP_UP_CODE_LENGTH:
                raise ValueError(
                    f"wrap-up code {code!r} must be 1-{MAX_WRAP_UP_CODE_LENGTH} characters"
                )
        if self.default_code not in self.codes:
            raise ValueError(f"default wrap-up code {self.default_code!r} is not in the list")
        if self.after_call_work_seconds < 1:
            raise ValueError("after-call work must last at least one second")

    def label(self, code: str) -> str:
        return self.labels.get(code, code)


# -- events -----------------------------------------------------------------------------------
# `kind` is the name the session recorder stores; `event_payload` gives the rest as JSON.


@dataclass(frozen=True, slots=True)
class CallQueued:
    kind: ClassVar[str] = "queued"
    call_id: str
    number: str
    position: int
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class CallRinging:
    kind: ClassVar[str] = "ringing"
    call_id: str
    number: str
    was_queued: bool
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class CallAnswered:
    kind: ClassVar[str] = "answered"
    call_id: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class CallOnHold:
    kind: ClassVar[str] = "hold"
    call_id: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class CallResumed:
    kind: ClassVar[str] = "resumed"
    call_id: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class CallEnded:
    kind: ClassVar[str] = "ended"
    call_id: str
    by: EndedBy
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class WrapUpStarted:
    kind: ClassVar[str] = "wrap_up_started"
    call_id: str
    deadline: dt.datetime  # when after-call work runs out and the default code is set
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class WrapUpCodeChosen:
    kind: ClassVar[str] = "wrap_up_code"
    call_id: str
    code: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class WrapUpDone:
    kind: ClassVar[str] = "wrap_up"
    call_id: str
    code: str
    defaulted: bool
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class CallMissed:
    kind: ClassVar[str] = "missed"
    call_id: str
    number: str
    was_queued: bool
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    kind: ClassVar[str] = "agent_state"
    old: AgentState
    new: AgentState
    call_id: str | None  # the call that caused it; None when the agent chose it
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class NotReadyPending:
    kind: ClassVar[str] = "not_ready_pending"
    call_id: str
    pending: bool  # True: Not ready once this call is done; False: asked back to Ready
    at: dt.datetime


CallFlowEvent = (
    CallQueued
    | CallRinging
    | CallAnswered
    | CallOnHold
    | CallResumed
    | CallEnded
    | WrapUpStarted
    | WrapUpCodeChosen
    | WrapUpDone
    | CallMissed
    | AgentStateChanged
    | NotReadyPending
)


def event_payload(event: CallFlowEvent) -> dict[str, Any]:
    """The event's facts other than call id and time, as JSON-ready values."""
    payload: dict[str, Any] = {}
    for f in fields(event):
        if f.name in ("call_id", "at"):
            continue
        value = getattr(event, f.name)
        payload[f.name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return payload


# -- the flow ---------------------------------------------------------------------------------


class CallFlow:
    """The active call, the calls waiting behind it, and the agent state that follows them.

    Every method either does all it says and returns the events, or raises CallFlowError
    (or IllegalStateChange for a by-hand agent state) and changes nothing.
    """

    def __init__(
        self,
        policy: WrapUpPolicy | None = None,
        agent_state: AgentState = AgentState.NOT_READY,
    ) -> None:
        if agent_state not in (AgentState.READY, AgentState.NOT_READY):
            raise ValueError(f"a desk starts Ready or Not ready, not {agent_state.label}")
        self.policy = policy or WrapUpPolicy()
        self._agent_state: AgentState = agent_state
        # Where the agent returns when the active call is done: Ready or Not ready.
        self._after_call: AgentState = agent_state
        self._active: Call | None = None
        self._queue: deque[Call] = deque()

    # -- what the window shows ----------------------------------------------------------------

    @property
    def agent_state(self) -> AgentState:
        return self._agent_state

    @property
    def active(self) -> Call | None:
        return self._active

    @property
    def queue(self) -> tuple[Call, ...]:
        """Waiting calls, next to ring first."""
        return tuple(self._queue)

    @property
    def pending_not_ready(self) -> bool:
        return self._active is not None and self._after_call is AgentState.NOT_READY

    @property
    def after_call_work_deadline(self) -> dt.datetime | None:
        call = self._active
        if call is None or call.state is not CallState.WRAP_UP:
            return None
        return self._deadline(call)

    def call(self, call_id: str) -> Call:
        """A call the desk is handling (active or waiting)."""
        if self._active is not None and self._active.call_id == call_id:
            return self._active
        for call in self._queue:
            if call.call_id == call_id:
                return call
        raise UnknownCall(f"unknown call id {call_id!r}: the desk has no such call")

    def has_call(self, call_id: str) -> bool:
        try:
            self.call(call_id)
        except UnknownCall:
            return False
        return True

    # -- the switch -----------------------------------------------------------------------------

    def offer(
        self, call_id: str, number: str, *, at: dt.datetime, direction: Direction = "inbound"
    ) -> list[CallFlowEvent]:
        """A call reaches the desk: it rings now, or waits behind the active call."""
        if not call_id:
            raise CallFlowError("a call needs a call id")
        if self.has_call(call_id):
            raise DuplicateCall(f"call {call_id} is already {self.call(call_id).state.words}")
        call = Call(call_id, number, at, direction)
        if self._active is None:
            return self._ring(call, at, was_queued=False)
        self._queue.append(call)
        call.queue_position = len(self._queue)
        return [CallQueued(call_id, number, call.queue_position, at)]

    def ended_by_remote(self, call_id: str, *, at: dt.datetime) -> list[CallFlowEvent]:
        """The caller hung up (or the switch ended the call), whatever the desk was doing."""
        call = self.call(call_id)
        if call.state is CallState.OFFERED:
            call.advance(CallAction.MISS, at)
            self._queue.remove(call)
            self._renumber()
            return [CallMissed(call_id, call.number, True, at)]
        if call.state is CallState.RINGING:
            call.advance(CallAction.MISS, at)
            events: list[CallFlowEvent] = [CallMissed(call_id, call.number, False, at)]
            return events + self._release(call, at)
        if call.state in (CallState.TALKING, CallState.HOLD):
            return self._end(call, "caller", at)
        return []  # in wrap-up: the agent hung up first and the switch confirms it

    def apply_switch_event(
        self, kind: str, call_id: str, number: str = "", *, at: dt.datetime
    ) -> list[CallFlowEvent]:
        """A CTI event ("ringing" | "answered" | "ended") as the desk understands it.

        "answered" for a call the agent already answered at the desk is a confirmation, not
        an error; everything out of order is refused as usual.
        """
        if kind == "ringing":
            return self.offer(call_id, number, at=at)
        if kind == "answered":
            if self.call(call_id).state in (CallState.TALKING, CallState.HOLD):
                return []
            return self.answer(call_id, at=at)
        if kind == "ended":
            return self.ended_by_remote(call_id, at=at)
        raise CallFlowError(f"unknown switch event {kind!r}")

    # -- the agent ------------------------------------------------------------------------------

    def answer(self, call_id: str | None = None, *, at: dt.datetime) -> list[CallFlowEvent]:
        call = self._target(call_id, CallAction.ANSWER)
        call.advance(CallAction.ANSWER, at)
        return [CallAnswered(call.call_id, at)]

    def hold(self, call_id: str | None = None, *, at: dt.datetime) -> list[CallFlowEvent]:
        call = self._target(call_id, CallAction.HOLD)
        call.advance(CallAction.HOLD, at)
        return [CallOnHold(call.call_id, at)]

    def resume(self, call_id: str | None = None, *, at: dt.datetime) -> list[CallFlowEvent]:
        call = self._target(call_id, CallAction.RESUME)
        call.advance(CallAction.RESUME, at)
        return [CallResumed(call.call_id, at)]

    def end(self, call_id: str | None = None, *, at: dt.datetime) -> list[CallFlowEvent]:
        """The agent hangs up: wrap-up begins."""
        return self._end(self._target(call_id, CallAction.END), "agent", at)

    def choose_wrap_up(
        self, code: str, call_id: str | None = None, *, at: dt.datetime
    ) -> list[CallFlowEvent]:
        call = self._target(call_id, None)
        if call.state not in CODE_STATES:
            allowed = ", ".join(s.words for s in CallState if s in CODE_STATES)
            raise IllegalCallTransition(
                f"cannot choose a wrap-up code for call {call.call_id}: "
                f"it is {call.state.words}, not {allowed}"
            )
        if code not in self.policy.codes:
            raise WrapUpCodeError(
                f"unknown wrap-up code {code!r}: choose one of {', '.join(self.policy.codes)}"
            )
        if call.wrap_up_code == code:
            return []
        call.wrap_up_code = code
        return [WrapUpCodeChosen(call.call_id, code, at)]

    def finish_wrap_up(self, call_id: str | None = None, *, at: dt.datetime) -> list[CallFlowEvent]:
        """The agent is done with the call: Ready (or Not ready) again, next call rings."""
        call = self._target(call_id, CallAction.FINISH)
        call.check(CallAction.FINISH)
        if call.wrap_up_code is None:
            raise WrapUpCodeError(
                f"choose a wrap-up code for call {call.call_id} first "
                f"({', '.join(self.policy.label(c) for c in self.policy.codes)})"
            )
        return self._finish(call, call.wrap_up_code, False, at)

    def after_call_work_expired(
        self, call_id: str | None = None, *, at: dt.datetime
    ) -> list[CallFlowEvent]:
        """After-call work ran out: keep the agent's code if they chose one, else the default."""
        call = self._target(call_id, CallAction.FINISH)
        call.check(CallAction.FINISH)
        if call.wrap_up_code is not None:
            return self._finish(call, call.wrap_up_code, False, at)
        return self._finish(call, self.policy.default_code, True, at)

    def request_agent_state(self, wanted: AgentState, *, at: dt.datetime) -> list[CallFlowEvent]:
        """Ready / Not ready by hand. During a call it takes effect when the call is done."""
        if self._active is None:
            old = self._agent_state
            new = change_by_agent(old, wanted)  # refuses On call / Wrap-up by hand
            if new is old:
                return []
            self._agent_state = self._after_call = new
            return [AgentStateChanged(old, new, None, at)]
        if wanted not in (AgentState.READY, AgentState.NOT_READY):
            raise IllegalStateChange(f"cannot choose {wanted.label} by hand")
        if wanted is self._after_call:
            return []
        self._after_call = wanted
        return [NotReadyPending(self._active.call_id, wanted is AgentState.NOT_READY, at)]

    # -- inside ---------------------------------------------------------------------------------

    def _target(self, call_id: str | None, action: CallAction | None) -> Call:
        if call_id is not None:
            return self.call(call_id)
        if self._active is None:
            verb = action.verb if action else "choose a wrap-up code for"
            raise IllegalCallTransition(f"cannot {verb} a call: there is no call at the desk")
        return self._active

    def _deadline(self, call: Call) -> dt.datetime:
        ended = call.entered(CallState.WRAP_UP)
        assert ended is not None
        return ended + dt.timedelta(seconds=self.policy.after_call_work_seconds)

    def _set_agent(
        self, new: AgentState, call_id: str | None, at: dt.datetime
    ) -> list[CallFlowEvent]:
        old, self._agent_state = self._agent_state, new
        return [] if old is new else [AgentStateChanged(old, new, call_id, at)]

    def _ring(self, call: Call, at: dt.datetime, *, was_queued: bool) -> list[CallFlowEvent]:
        call.advance(CallAction.RING, at)
        call.queue_position = None
        self._active = call
        self._after_call = self._agent_state  # idle, so Ready or Not ready
        events: list[CallFlowEvent] = [CallRinging(call.call_id, call.number, was_queued, at)]
        return events + self._set_agent(AgentState.ON_CALL, call.call_id, at)

    def _end(self, call: Call, by: EndedBy, at: dt.datetime) -> list[CallFlowEvent]:
        call.advance(CallAction.END, at)
        call.ended_by = by
        events: list[CallFlowEvent] = [
            CallEnded(call.call_id, by, at),
            WrapUpStarted(call.call_id, self._deadline(call), at),
        ]
        return events + self._set_agent(AgentState.WRAP_UP, call.call_id, at)

    def _finish(
        self, call: Call, code: str, defaulted: bool, at: dt.datetime
    ) -> list[CallFlowEvent]:
        call.advance(CallAction.FINISH, at)
        call.wrap_up_code, call.wrap_up_defaulted = code, defaulted
        events: list[CallFlowEvent] = [WrapUpDone(call.call_id, code, defaulted, at)]
        return events + self._release(call, at)

    def _release(self, call: Call, at: dt.datetime) -> list[CallFlowEvent]:
        """The active call is done: the agent's own availability back, then the next call."""
        self._active = None
        events = self._set_agent(self._after_call, call.call_id, at)
        if self._queue:
            following = self._queue.popleft()
            self._renumber()
            events += self._ring(following, at, was_queued=True)
        return events

    def _renumber(self) -> None:
        for position, waiting in enumerate(self._queue, start=1):
            waiting.queue_position = position
