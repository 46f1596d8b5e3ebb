"""Simulated calls for demos and training, delivered exactly as the CTI bridge delivers them.

Events are delivered on the caller's thread (the GUI thread, from a menu action), and go
through the same order rules as the bridge, so a trainer meets the same refusals as a PBX.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

from agent_desk.telephony.call_order import MAX_LIVE_CALLS, CallOrder, OrderError
from agent_desk.telephony.source import MAX_CALL_ID_LENGTH, CallEvent, Deliver, EventName

DEFAULT_DNIS = "4008008000"  # the demo hotline


class SimulatorError(Exception):
    pass


def new_call_id(prefix: str, now: dt.datetime, suffix: str) -> str:
    """Like sim-20261123-153012-0001: readable, and unique across restarts of the desk, since
    the sessions table keeps every call id for good."""
    return f"{prefix}-{now.astimezone():%Y%m%d-%H%M%S}-{suffix}"


class CallSimulator:
    """CallSource the trainer drives: ring, answer, hang up."""

    def __init__(
        self,
        *,
        dnis: str = DEFAULT_DNIS,
        agent: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.dnis, self.agent = dnis, agent
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._order = CallOrder()
        self._numbers: dict[str, str] = {}
        self._serial = itertools.count(1)
        self._deliver: Deliver | None = None

    @property
    def running(self) -> bool:
        return self._deliver is not None

    def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def stop(self) -> None:
        self._deliver = None

    def describe(self) -> str:
        return "call simulator" if self.running else "call simulator (stopped)"

    def ring(self, number: str, call_id: str | None = None) -> str:
        """A call from `number` rings; returns its call id (generated when not given)."""
        if call_id is None:
            call_id = new_call_id("sim", self._clock(), f"{next(self._serial):04d}")
        self._send("ringing", call_id, number)
        return call_id

    def answer(self, call_id: str) -> None:
        self._send("answered", call_id, self._numbers.get(call_id, ""))

    def hang_up(self, call_id: str) -> None:
        self._send("ended", call_id, self._numbers.get(call_id, ""))

    def open_calls(self) -> list[str]:
        """Calls rung and not yet hung up, oldest first."""
        return self._order.open_calls()

    def _send(self, event: EventName, call_id: str, number: str) -> None:
        deliver = self._deliver
        if deliver is None:
            raise SimulatorError("the call simulator is not running")
        if not call_id.strip() or len(call_id) > MAX_CALL_ID_LENGTH:
            raise SimulatorError(f"a call id has 1-{MAX_CALL_ID_LENGTH} characters")
        try:
            self._order.check(event, call_id)
        except OrderError as exc:
            raise SimulatorError(str(exc)) from None
        deliver(CallEvent(event, call_id, number, self.dnis, self._clock(), self.agent))
        self._order.accept(event, call_id)
        if event == "ringing":
            self._numbers[call_id] = number
            if len(self._numbers) > MAX_LIVE_CALLS:  # calls the trainer never hung up
                still_open = set(self._order.open_calls())
                self._numbers = {k: v for k, v in self._numbers.items() if k in still_open}
        elif event == "ended":
            self._numbers.pop(call_id, None)
