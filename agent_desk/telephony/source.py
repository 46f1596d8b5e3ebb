"""What every call source hands the desk: a `CallEvent`, through one `deliver` callback.

The CTI bridge, the training simulator and (later) real PBX adapters all implement
`CallSource`, so the desk wires one callback and never cares where a call came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

EventName = Literal["ringing", "answered", "ended"]
EVENT_NAMES: tuple[EventName, ...] = ("ringing", "answered", "ended")

# The sessions table holds call ids of up to 64 characters.
MAX_CALL_ID_LENGTH = 64


@dataclass(frozen=True, slots=True)
class CallEvent:
    event: EventName
    call_id: str
    ani: str  # the caller's number as the switch sent it ("" when withheld)
    dnis: str  # the number the caller dialled (the hotline)
    received_at: dt.datetime  # UTC, when the source took the event
    agent: str | None = None  # the agent number the switch routed it to, if it says
    recording: str | None = None  # the switch's recording reference, if any


Deliver = Callable[[CallEvent], None]


class CallSource(Protocol):
    def start(self, deliver: Deliver) -> None:
        """Begin delivering events. `deliver` may be called from another thread: keep it
        quick and hand the event to the GUI thread (a queued Qt signal does)."""

    def stop(self) -> None:
        """Stop delivering; safe to call twice."""

    def describe(self) -> str:
        """One line for the status bar and the log, e.g. "CTI bridge on 127.0.0.1:47080"."""
