"""What each role may do at the desk; the window offers panels and actions from this."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    OPERATOR = "operator"
    TEAM_LEAD = "team_lead"
    TRAINER = "trainer"
    ADMIN = "admin"


class Capability(enum.StrEnum):
    TAKE_CALLS = "take_calls"  # customer, script and complaint panels, agent state
    REPLAY_SESSIONS = "replay_sessions"  # team leads score recorded sessions
    MANAGE_PACKS = "manage_packs"  # trainers write and publish script packs
    MANAGE_AGENTS = "manage_agents"


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.OPERATOR: frozenset({Capability.TAKE_CALLS}),
    Role.TEAM_LEAD: frozenset({Capability.TAKE_CALLS, Capability.REPLAY_SESSIONS}),
    Role.TRAINER: frozenset({Capability.MANAGE_PACKS}),
    Role.ADMIN: frozenset(Capability),
}

ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.OPERATOR: ("话务员", "Operator"),
    Role.TEAM_LEAD: ("班组长", "Team lead"),
    Role.TRAINER: ("培训师", "Trainer"),
    Role.ADMIN: ("管理员", "Administrator"),
}


@dataclass(frozen=True)
class AgentIdentity:
    """Who the desk runs as: a plain value, safe to hand to any thread or widget."""

    agent_no: str
    name: str
    role: Role
    agent_id: int | None = None  # the database row, once the desk has found the agent

    def can(self, capability: Capability) -> bool:
        return capability in ROLE_CAPABILITIES[self.role]

    def label(self) -> str:
        zh, en = ROLE_LABELS[self.role]
        return f"{self.name} · 工号 {self.agent_no} · {zh} {en}"
