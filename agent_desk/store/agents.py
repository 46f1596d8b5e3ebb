"""Agents and their roles."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent_desk.core.roles import AgentIdentity, Role
from agent_desk.store.models import Agent

AGENT_NO_PATTERN = re.compile(r"^[0-9A-Za-z-]{1,20}$")

# One agent of each role for the demo desk; the first is who the desk runs as on first start.
DEMO_AGENTS: tuple[tuple[str, str, Role], ...] = (
    ("1001", "王小燕", Role.OPERATOR),
    ("2001", "李建国", Role.TEAM_LEAD),
    ("3001", "陈老师", Role.TRAINER),
    ("9001", "系统管理员", Role.ADMIN),
)


class AgentError(ValueError):
    """Bad agent input: the message says which part and why."""


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        choices = "|".join(r.value for r in Role)
        raise AgentError(f"unknown role {value!r}: use {choices}") from None


def add_agent(session: Session, agent_no: str, name: str, role: Role) -> Agent:
    agent_no, name = agent_no.strip(), name.strip()
    if not AGENT_NO_PATTERN.match(agent_no):
        raise AgentError(f"agent number {agent_no!r} must be 1-20 letters, digits or '-'")
    if not name:
        raise AgentError("agent name must not be empty")
    if len(name) > 100:
        raise AgentError("agent name is longer than 100 characters")
    if session.scalar(select(Agent.id).where(Agent.agent_no == agent_no)) is not None:
        raise AgentError(f"agent number {agent_no} already exists")
    agent = Agent(agent_no=agent_no, name=name, role=role, active=True)
    session.add(agent)
    try:
        session.flush()
    except IntegrityError:  # another desk added the same number in between
        raise AgentError(f"agent number {agent_no} already exists") from None
    return agent


def list_agents(session: Session) -> Sequence[Agent]:
    return session.scalars(select(Agent).order_by(Agent.agent_no)).all()


def find_agent(session: Session, agent_no: str) -> Agent | None:
    return session.scalar(select(Agent).where(Agent.agent_no == agent_no))


def ensure_demo_agents(session: Session) -> list[Agent]:
    """Create the demo agents that are missing; leaves existing ones untouched."""
    existing = {a.agent_no for a in list_agents(session)}
    created = [
        add_agent(session, no, name, role) for no, name, role in DEMO_AGENTS if no not in existing
    ]
    return created


def identity_of(agent: Agent) -> AgentIdentity:
    return AgentIdentity(agent.agent_no, agent.name, agent.role, agent.id)
