"""The agent's availability, as the ACD sees it.

Ready and Not ready are the agent's own choice; On call and Wrap-up are entered by the
call flow (the call state machine drives them), never by hand.
"""

from __future__ import annotations

import enum


class AgentState(enum.StrEnum):
    NOT_READY = "not_ready"
    READY = "ready"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    AgentState.READY: "Ready · 就绪",
    AgentState.NOT_READY: "Not ready · 未就绪",
    AgentState.ON_CALL: "On call · 通话中",
    AgentState.WRAP_UP: "Wrap-up · 话后处理",
}

# Transitions an agent may make by hand; the call flow makes the others.
MANUAL_TRANSITIONS: dict[AgentState, frozenset[AgentState]] = {
    AgentState.NOT_READY: frozenset({AgentState.READY}),
    AgentState.READY: frozenset({AgentState.NOT_READY}),
    AgentState.ON_CALL: frozenset(),
    AgentState.WRAP_UP: frozenset(),
}


class IllegalStateChange(ValueError):
    pass


def change_by_agent(current: AgentState, wanted: AgentState) -> AgentState:
    if wanted == current:
        return current
    if wanted not in MANUAL_TRANSITIONS[current]:
        raise IllegalStateChange(
            f"cannot go from {current.label} to {wanted.label} by hand: "
            "finish the call and its wrap-up first"
        )
    return wanted
