"""Which events a call may receive next, as a call source sees them.

ringing → answered → ended, or ringing → ended (missed). Each source keeps its own small
registry so an out-of-order or repeated event is refused where it enters, with a reason the
sender can act on. Ended calls are remembered for a while so that a repeated "ended" is
reported as such rather than as an unknown call; both memories are bounded, so a switch that
never sends "ended" cannot make the desk grow.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal

from agent_desk.telephony.source import EventName

log = logging.getLogger(__name__)

MAX_LIVE_CALLS = 1_000
MAX_ENDED_CALLS = 1_000
ENDED_MEMORY_S = 600.0

LiveState = Literal["ringing", "answered"]


class OrderError(Exception):
    def __init__(self, message: str, *, unknown: bool = False) -> None:
        super().__init__(message)
        self.unknown = unknown  # the call id was never seen (or long forgotten)


class CallOrder:
    """Thread-safe: `lock` is held by `accept`, and callers may hold it across delivery so
    events reach the desk in the order they were accepted."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.lock = threading.RLock()
        self._clock = clock
        self._live: OrderedDict[str, LiveState] = OrderedDict()
        self._ended: OrderedDict[str, float] = OrderedDict()

    def check(self, event: EventName, call_id: str) -> None:
        """Raise OrderError unless `event` may come next for `call_id`."""
        with self.lock:
            self._forget_old()
            state = self._live.get(call_id)
            if call_id in self._ended:
                raise OrderError(f"call {call_id!r} has already ended")
            if event == "ringing":
                if state is not None:
                    raise OrderError(f"call {call_id!r} is already {state}")
                return
            if state is None:
                raise OrderError(f"unknown call id {call_id!r}", unknown=True)
            if event == "answered" and state == "answered":
                raise OrderError(f"call {call_id!r} is already answered")

    def accept(self, event: EventName, call_id: str) -> None:
        """Record `event` (after `check`)."""
        with self.lock:
            self.check(event, call_id)
            if event == "ended":
                self._live.pop(call_id, None)
                self._ended[call_id] = self._clock()
                while len(self._ended) > MAX_ENDED_CALLS:
                    self._ended.popitem(last=False)
                return
            self._live[call_id] = "ringing" if event == "ringing" else "answered"
            while len(self._live) > MAX_LIVE_CALLS:
                lost, _ = self._live.popitem(last=False)
                log.warning("forgot call %s: %d calls open and none ended", lost, MAX_LIVE_CALLS)

    def state(self, call_id: str) -> str | None:
        with self.lock:
            if call_id in self._ended:
                return "ended"
            return self._live.get(call_id)

    def open_calls(self) -> list[str]:
        with self.lock:
            return list(self._live)

    def _forget_old(self) -> None:
        horizon = self._clock() - ENDED_MEMORY_S
        while self._ended:
            call_id, ended = next(iter(self._ended.items()))
            if ended > horizon:
                break
            del self._ended[call_id]
