"""Opening the desk's database and finding who the desk runs as: Qt-free, so the window
runs it in a background thread and tests run it directly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from agent_desk.core.roles import AgentIdentity
from agent_desk.store import agents
from agent_desk.store.db import Database, open_database
from agent_desk.store.sessions import UnfinishedSession, find_unfinished_session

# A desk restarted within a shift picks its call up again; an older one is history.
RECOVER_WITHIN = dt.timedelta(hours=12)


@dataclass(frozen=True)
class DeskConnection:
    database: Database
    agent: AgentIdentity | None
    problems: tuple[str, ...]  # shown in the window; empty when all is well
    unfinished: UnfinishedSession | None = None  # the call the desk was on when it stopped


def connect_desk(url: str, agent_no: str) -> DeskConnection:
    """Open the database (raises DatabaseUnavailable) and look up the desk's agent.

    A brand-new embedded database gets the demo agents, so a first run has an operator.
    """
    database = open_database(url)
    if database.upgraded_from == "empty" and database.writable:
        with database.sessions.begin() as session:
            agents.ensure_demo_agents(session)
    problems: list[str] = []
    if not database.writable:
        problems.append(database.status.explain())
    try:
        with database.sessions.begin() as session:
            agent = agents.find_agent(session, agent_no)
            identity = agents.identity_of(agent) if agent is not None else None
    except SQLAlchemyError:
        if database.writable:
            raise
        identity = None  # another schema: the agents table may not be what we expect
    if identity is None:
        problems.append(
            f"agent {agent_no} is not registered in {database.describe()}: add it with "
            f"'agent-desk agents add {agent_no} NAME --role operator' or change the "
            "agent number in Settings"
        )
    unfinished = None
    if identity is not None and identity.agent_id is not None and database.writable:
        since = dt.datetime.now(dt.UTC) - RECOVER_WITHIN
        with database.sessions.begin() as session:
            unfinished = find_unfinished_session(session, identity.agent_id, since)
    return DeskConnection(database, identity, tuple(problems), unfinished)
