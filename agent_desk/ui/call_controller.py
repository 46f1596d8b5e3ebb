"""The desk's call handling: call sources in, the core CallFlow deciding, the session
recorder writing, views told to refresh. No widget here; panels read `flow` and listen."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from agent_desk.core.agent_state import AgentState, IllegalStateChange
from agent_desk.core.calls import (
    Call,
    CallFlow,
    CallFlowError,
    CallFlowEvent,
    CallMissed,
    CallQueued,
    CallRinging,
    CallState,
    WrapUpDone,
    WrapUpPolicy,
    WrapUpStarted,
    event_payload,
)
from agent_desk.store.db import Database
from agent_desk.store.sessions import SessionRecorder, UnfinishedSession
from agent_desk.telephony.source import CallEvent

log = logging.getLogger(__name__)

HANDED_ON_KEPT = 50  # finished calls remembered: a capture closes within seconds of its call


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CallController(QObject):
    changed = Signal()  # anything about calls or the agent state: views re-read `flow`
    ringing = Signal(str, str, float)  # call id, number, perf_counter() when it reached us
    callFinished = Signal(str)  # call id: wrap-up done or missed
    problem = Signal(str)  # an action the rules refused, in words for the operator
    recordingProblem = Signal(str)  # "" once the database takes the session again
    recordingReady = Signal(str, str)  # call id, audio file: the call is done, store it
    flowEvent = Signal(object)  # every CallFlowEvent, after the flow has moved
    _arrived = Signal(object, float)  # from source threads to the GUI thread

    def __init__(self, policy: WrapUpPolicy | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.flow = CallFlow(policy)
        self.recorder: SessionRecorder | None = None
        self._recordings: dict[str, str] = {}  # call id -> its recording (phone system's first)
        # Finished calls whose recording went to be stored (a late capture is not needed).
        self._handed_on: dict[str, None] = {}
        self._calls: dict[str, Call] = {}  # until recorded as finished: the flow lets go first
        self._arrived.connect(self._on_arrived)
        self._acw_timer = QTimer(self)
        self._acw_timer.setSingleShot(True)
        self._acw_timer.timeout.connect(self._after_call_work_expired)

    # -- wiring ----------------------------------------------------------------------------

    def attach(self, database: Database | None, agent_id: int | None) -> None:
        """Record sessions in this database (None: stop recording, e.g. on reconnect)."""
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        if database is not None and database.writable:
            self.recorder = SessionRecorder(
                database.sessions,
                agent_id,
                on_status=lambda msg: self.recordingProblem.emit(msg or ""),
            )

    def deliver(self, event: CallEvent) -> None:
        """A call source's callback: any thread, returns at once."""
        self._arrived.emit(event, time.perf_counter())

    def shutdown(self) -> None:
        self._acw_timer.stop()
        if self.recorder is not None:
            self.recorder.flush(timeout=5.0)
            self.recorder.close()
            self.recorder = None

    # -- what the operator does -------------------------------------------------------------

    def answer(self) -> None:
        self._do(lambda at: self.flow.answer(at=at))

    def toggle_hold(self) -> None:
        call = self.flow.active
        if call is not None and call.state is CallState.HOLD:
            self._do(lambda at: self.flow.resume(at=at))
        else:
            self._do(lambda at: self.flow.hold(at=at))

    def end(self) -> None:
        self._do(lambda at: self.flow.end(at=at))

    def choose_wrap_up(self, code: str) -> None:
        self._do(lambda at: self.flow.choose_wrap_up(code, at=at))

    def finish_wrap_up(self) -> None:
        call = self.flow.active
        if call is not None and call.state is CallState.WRAP_UP and call.wrap_up_code is None:
            self.problem.emit(self.tr("Choose a wrap-up code first · 请先选择话后小结"))
            return
        self._do(lambda at: self.flow.finish_wrap_up(at=at))

    def ready(self) -> None:
        """F9: during wrap-up it finishes the wrap-up; otherwise the agent takes calls."""
        call = self.flow.active
        if call is not None and call.state is CallState.WRAP_UP:
            self.finish_wrap_up()
        else:
            self._do(lambda at: self.flow.request_agent_state(AgentState.READY, at=at))

    def not_ready(self) -> None:
        self._do(lambda at: self.flow.request_agent_state(AgentState.NOT_READY, at=at))

    # -- facts other panels add to the session ----------------------------------------------

    def record(self, call_id: str, kind: str, **payload: Any) -> None:
        self.record_at(call_id, kind, now(), **payload)

    def record_at(self, call_id: str, kind: str, at: dt.datetime, **payload: Any) -> None:
        """A fact that happened a moment ago (`at`), e.g. the capture's first sound."""
        if self.recorder is not None:
            self.recorder.event(call_id, kind, at, **payload)

    def save_notes(self, call_id: str, notes: str) -> None:
        if self.recorder is not None:
            at = now()
            self.recorder.save_notes(call_id, notes, at)
            self.recorder.event(call_id, "note_saved", at, chars=len(notes))

    def set_customer(self, call_id: str, customer_id: int | None) -> None:
        if self.recorder is not None:
            self.recorder.set_customer(call_id, customer_id, now())

    def set_recording(self, call_id: str, path: str) -> bool:
        """The desk's own capture of a call: stored once the call is done, unless the phone
        system sent its recording, which is the better copy (then False: not needed)."""
        if self.flow.has_call(call_id):
            return self._recordings.setdefault(call_id, path) == path
        if call_id in self._handed_on:  # done, and the phone system's recording went on
            return False
        self._hand_on(call_id, path)
        return True

    def close_abandoned(self, call_id: str) -> None:
        """A call that rang while the desk stopped: recorded as missed, not shown again."""
        if self.recorder is not None:
            at = now()
            self.recorder.event(call_id, "missed", at, reason="desk restarted")
            self.recorder.finish(call_id, at)

    def restore(self, unfinished: UnfinishedSession) -> None:
        """Put the call the desk was on before a crash back on screen (not re-recorded)."""
        at = unfinished.started_at
        events = self.flow.offer(unfinished.call_id, unfinished.number, at=at)
        if unfinished.answered:
            events += self.flow.answer(at=at)
            if unfinished.ended:
                events += self.flow.end(at=now())
        self._after(events, record=False)
        self.ringing.emit(unfinished.call_id, unfinished.number, time.perf_counter())

    # -- inside -------------------------------------------------------------------------------

    def _on_arrived(self, event: CallEvent, arrived: float) -> None:
        at = event.received_at
        if event.recording:  # usually with "ended": kept until the session is finished
            self._recordings[event.call_id] = event.recording
        try:
            events = self.flow.apply_switch_event(event.event, event.call_id, event.ani, at=at)
        except CallFlowError as exc:
            log.warning("CTI %s for %s not applied: %s", event.event, event.call_id, exc)
            self.problem.emit(str(exc))
            return
        self._after(events, record=True, arrived=arrived)

    def _do(self, action: Any) -> None:
        try:
            events = action(now())
        except (CallFlowError, IllegalStateChange) as exc:
            self.problem.emit(str(exc))
            return
        self._after(events, record=True)

    def _after(
        self, events: list[CallFlowEvent], *, record: bool, arrived: float | None = None
    ) -> None:
        for event in events:
            if record:
                self._record(event)
            self.flowEvent.emit(event)
            if isinstance(event, CallRinging) and arrived is not None:
                self.ringing.emit(event.call_id, event.number, arrived)
            elif isinstance(event, CallRinging):  # a queued call reaching the agent
                self.ringing.emit(event.call_id, event.number, time.perf_counter())
            elif isinstance(event, WrapUpStarted):
                delay_ms = max(0, int((event.deadline - now()).total_seconds() * 1000))
                self._acw_timer.start(delay_ms)
            elif isinstance(event, WrapUpDone | CallMissed):
                if isinstance(event, WrapUpDone):
                    self._acw_timer.stop()
                self.callFinished.emit(event.call_id)
        if events:
            self.changed.emit()

    def _record(self, event: CallFlowEvent) -> None:
        call_id = getattr(event, "call_id", None)
        if call_id is None:
            return
        if isinstance(event, CallQueued | CallRinging):
            self._calls.setdefault(call_id, self.flow.call(call_id))
        recorder = self.recorder
        if recorder is not None:
            if isinstance(event, CallQueued) or (
                isinstance(event, CallRinging) and not event.was_queued
            ):
                recorder.start_session(call_id, event.number, event.at)
            recorder.event(call_id, event.kind, event.at, **event_payload(event))
        if isinstance(event, WrapUpDone | CallMissed):
            call = self._calls.pop(call_id, None)
            recording = self._recordings.pop(call_id, None)
            if recording is not None:
                self._hand_on(call_id, recording)
            if recorder is not None:
                code = event.code if isinstance(event, WrapUpDone) else None
                defaulted = event.defaulted if isinstance(event, WrapUpDone) else False
                recorder.finish(
                    call_id,
                    event.at,
                    wrap_up_code=code,
                    defaulted=defaulted,
                    answered_at=call.answered_at if call else None,
                    ended_at=call.ended_at if call else None,
                )

    def _hand_on(self, call_id: str, recording: str) -> None:
        self._handed_on[call_id] = None
        while len(self._handed_on) > HANDED_ON_KEPT:
            self._handed_on.pop(next(iter(self._handed_on)))
        self.recordingReady.emit(call_id, recording)

    def _after_call_work_expired(self) -> None:
        if self.flow.after_call_work_deadline is not None:
            self._do(lambda at: self.flow.after_call_work_expired(at=at))
