from __future__ import annotations

import pytest

from agent_desk.core.agent_state import AgentState, IllegalStateChange, change_by_agent
from agent_desk.core.roles import ROLE_CAPABILITIES, AgentIdentity, Capability, Role


def test_every_role_has_capabilities_and_a_label() -> None:
    assert set(ROLE_CAPABILITIES) == set(Role)
    for role in Role:
        assert AgentIdentity("1", "x", role).label().count("·") == 2


@pytest.mark.parametrize(
    ("role", "takes_calls", "replays", "packs"),
    [
        (Role.OPERATOR, True, False, False),
        (Role.TEAM_LEAD, True, True, False),
        (Role.TRAINER, False, False, True),
        (Role.ADMIN, True, True, True),
    ],
)
def test_role_decides_what_the_desk_offers(
    role: Role, takes_calls: bool, replays: bool, packs: bool
) -> None:
    who = AgentIdentity("1001", "王小燕", role)
    assert who.can(Capability.TAKE_CALLS) is takes_calls
    assert who.can(Capability.REPLAY_SESSIONS) is replays
    assert who.can(Capability.MANAGE_PACKS) is packs


def test_identity_label_shows_number_name_and_role_in_both_languages() -> None:
    label = AgentIdentity("1001", "王小燕", Role.OPERATOR).label()
    assert "1001" in label and "王小燕" in label and "话务员" in label and "Operator" in label


def test_agent_toggles_ready_and_not_ready() -> None:
    assert change_by_agent(AgentState.NOT_READY, AgentState.READY) is AgentState.READY
    assert change_by_agent(AgentState.READY, AgentState.NOT_READY) is AgentState.NOT_READY
    assert change_by_agent(AgentState.READY, AgentState.READY) is AgentState.READY


@pytest.mark.parametrize("current", [AgentState.ON_CALL, AgentState.WRAP_UP])
@pytest.mark.parametrize("wanted", [AgentState.READY, AgentState.NOT_READY])
def test_call_states_cannot_be_left_by_hand(current: AgentState, wanted: AgentState) -> None:
    with pytest.raises(IllegalStateChange, match="finish the call"):
        change_by_agent(current, wanted)


@pytest.mark.parametrize("wanted", [AgentState.ON_CALL, AgentState.WRAP_UP])
def test_call_states_cannot_be_entered_by_hand(wanted: AgentState) -> None:
    with pytest.raises(IllegalStateChange):
        change_by_agent(AgentState.READY, wanted)


def test_state_labels_are_bilingual() -> None:
    assert {s.label.split(" · ")[0] for s in AgentState} == {
        "Ready",
        "Not ready",
        "On call",
        "Wrap-up",
    }
