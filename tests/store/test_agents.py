from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from agent_desk.core.roles import Role
from agent_desk.store.agents import (
    DEMO_AGENTS,
    AgentError,
    add_agent,
    ensure_demo_agents,
    find_agent,
    list_agents,
    parse_role,
)
from agent_desk.store.desk import connect_desk
from tests.conftest import url_text


def test_add_and_list_agents(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        add_agent(session, "1002", "  张伟 ", Role.OPERATOR)
        add_agent(session, "2002", "赵敏", Role.TEAM_LEAD)
    with Session(engine) as session:
        agents = list_agents(session)
        assert [(a.agent_no, a.name, a.role) for a in agents] == [
            ("1002", "张伟", Role.OPERATOR),
            ("2002", "赵敏", Role.TEAM_LEAD),
        ]


@pytest.mark.parametrize(
    ("agent_no", "name", "message"),
    [
        ("", "张伟", "must be 1-20 letters"),
        ("10 01", "张伟", "must be 1-20 letters"),
        ("1001", "   ", "name must not be empty"),
        ("1001", "名" * 101, "longer than 100"),
    ],
)
def test_bad_agents_are_refused(engine: Engine, agent_no: str, name: str, message: str) -> None:
    with pytest.raises(AgentError, match=message), Session(engine) as session, session.begin():
        add_agent(session, agent_no, name, Role.OPERATOR)
    with Session(engine) as session:
        assert list_agents(session) == []


def test_duplicate_agent_number_is_refused(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        add_agent(session, "1001", "王小燕", Role.OPERATOR)
    with pytest.raises(AgentError, match="1001 already exists"), Session(engine) as s, s.begin():
        add_agent(s, "1001", "别人", Role.TRAINER)
    with Session(engine) as session:
        agent = find_agent(session, "1001")
        assert agent is not None and agent.name == "王小燕"


def test_unknown_role_names_the_choices() -> None:
    with pytest.raises(AgentError, match=re.escape("use operator|team_lead|trainer|admin")):
        parse_role("boss")


def test_demo_agents_cover_every_role_once(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        assert len(ensure_demo_agents(session)) == len(DEMO_AGENTS)
        assert ensure_demo_agents(session) == []  # idempotent
    with Session(engine) as session:
        assert sorted(a.role for a in list_agents(session)) == sorted(Role)


def test_connect_desk_finds_the_agent_and_its_role(engine: Engine, db_url) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session, session.begin():
        add_agent(session, "3001", "陈老师", Role.TRAINER)
    desk = connect_desk(url_text(db_url), "3001")
    try:
        assert desk.agent is not None and desk.agent.role is Role.TRAINER
        assert desk.problems == ()
    finally:
        desk.database.close()
    desk = connect_desk(url_text(db_url), "7777")
    try:
        assert desk.agent is None
        assert "agent 7777 is not registered" in desk.problems[0]
    finally:
        desk.database.close()


def test_a_new_embedded_database_gets_a_demo_operator(tmp_path) -> None:  # type: ignore[no-untyped-def]
    desk = connect_desk(f"sqlite:///{tmp_path / 'new.sqlite3'}", "1001")
    try:
        assert desk.agent is not None and desk.agent.role is Role.OPERATOR
    finally:
        desk.database.close()
