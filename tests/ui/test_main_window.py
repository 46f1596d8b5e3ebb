"""The desk window, offscreen, through `agent_desk.app.launch` (the QA scripts' seam)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QLineEdit
from pytestqt.qtbot import QtBot
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from agent_desk.core.roles import Role
from agent_desk.paths import UserPaths
from agent_desk.settings import load_settings
from agent_desk.store.agents import add_agent, ensure_demo_agents
from agent_desk.store.db import make_engine
from agent_desk.ui.settings_dialog import SettingsDialog
from tests.conftest import url_text
from tests.ui.conftest import LaunchDesk


def label(window, name: str) -> str:  # type: ignore[no-untyped-def]
    widget = window.findChild(QLabel, name)
    assert widget is not None, f"no QLabel named {name}"
    return str(widget.text())


def visible_docks(window) -> set[str]:  # type: ignore[no-untyped-def]
    return {d.objectName() for d in window.findChildren(QDockWidget) if d.isVisible()}


def seed_agents(url: URL) -> None:
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        ensure_demo_agents(session)
    engine.dispose()


def test_first_run_opens_the_desk_as_the_demo_operator(
    launch_desk: LaunchDesk, desk_home: UserPaths
) -> None:
    window = launch_desk()
    assert window.objectName() == "mainWindow" and window.isVisible()
    assert window.accessibleName() == "mainWindow"
    assert "王小燕" in label(window, "agentIdentity") and "1001" in label(window, "agentIdentity")
    assert label(window, "agentState") == "Not ready · 未就绪"
    assert label(window, "databaseStatus").startswith(f"SQLite {desk_home.data_dir}")
    assert visible_docks(window) == {"customerDock", "scriptDock", "complaintDock", "callbacksDock"}
    assert not window.banner.isVisible()
    assert desk_home.log_file.exists()
    assert "desk on SQLite" in desk_home.log_file.read_text(encoding="utf-8")


def test_ready_and_not_ready_by_keyboard(launch_desk: LaunchDesk, qtbot: QtBot) -> None:
    window = launch_desk()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_F9)
    assert label(window, "agentState") == "Ready · 就绪"
    assert window.findChild(QLabel, "agentState").property("agentState") == "ready"
    qtbot.keyClick(window, Qt.Key.Key_F10)
    assert label(window, "agentState") == "Not ready · 未就绪"


@pytest.mark.parametrize(
    ("role", "docks", "takes_calls"),
    [
        (Role.OPERATOR, {"customerDock", "scriptDock", "complaintDock", "callbacksDock"}, True),
        (Role.TEAM_LEAD, {"customerDock", "scriptDock", "complaintDock", "callbacksDock"}, True),
        (Role.TRAINER, {"scriptDock"}, False),
    ],
)
def test_the_role_decides_the_panels_and_actions(
    launch_desk: LaunchDesk,
    qtbot: QtBot,
    db_url: URL,
    role: Role,
    docks: set[str],
    takes_calls: bool,
) -> None:
    engine = make_engine(db_url)
    with Session(engine) as session, session.begin():
        add_agent(session, "5555", "测试", role)
    engine.dispose()
    window = launch_desk("--db", url_text(db_url))
    new = load_settings()
    new.agent_no = "5555"
    window.apply_settings(new)  # the desk now runs as agent 5555 and reconnects
    qtbot.waitUntil(lambda: not window.connecting, timeout=15000)
    assert window.identity is not None and window.identity.role is role
    assert visible_docks(window) == docks
    assert window.action("ready").isEnabled() is takes_calls
    assert window.action("notReady").isEnabled() is takes_calls


def test_unreachable_postgresql_is_a_message_not_a_traceback(launch_desk: LaunchDesk) -> None:
    window = launch_desk("--db", "postgresql+psycopg://agent@127.0.0.1:1/centre")
    assert window.banner.isVisible()
    text_ = window.banner.text()
    assert "cannot open PostgreSQL agent@127.0.0.1:1/centre" in text_
    assert "Connection refused" in text_ and "Settings" in text_
    assert "Traceback" not in text_
    assert label(window, "databaseStatus") == "No database"
    assert visible_docks(window) == set()
    assert not window.action("ready").isEnabled()


def test_a_newer_schema_opens_read_only_and_says_so(launch_desk: LaunchDesk, db_url: URL) -> None:
    seed_agents(db_url)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    window = launch_desk("--db", url_text(db_url))
    assert "newer than this desk" in window.banner.text()
    assert label(window, "databaseStatus").endswith("read-only")
    assert window.connection is not None and not window.connection.database.writable


def test_unknown_agent_is_explained(launch_desk: LaunchDesk, db_url: URL) -> None:
    window = launch_desk("--db", url_text(db_url))  # migrated, but no agents at all
    assert "agent 1001 is not registered" in window.banner.text()
    assert visible_docks(window) == set()


def test_settings_refuse_a_password_in_the_url_and_save_nothing(
    qtbot: QtBot, desk_home: UserPaths
) -> None:
    before = load_settings()
    dialog = SettingsDialog(before, "default.sqlite3")
    qtbot.addWidget(dialog)
    url_field = dialog.findChild(QLineEdit, "settingsDbUrl")
    url_field.setText("postgresql+psycopg://agent:hunter2@db/centre")
    dialog.accept()
    error = dialog.findChild(QLabel, "settingsError")
    assert "must not contain a password" in error.text()
    assert dialog.result_settings is None
    assert load_settings() == before
    assert b"hunter2" not in desk_home.config_file.read_bytes()


def test_changing_the_database_in_settings_reconnects(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL, desk_home: UserPaths
) -> None:
    seed_agents(db_url)
    window = launch_desk()
    assert label(window, "databaseStatus").startswith("SQLite")
    new = load_settings()
    new.db_url = url_text(db_url)
    window.apply_settings(new)
    qtbot.waitUntil(lambda: not window.connecting, timeout=15000)
    assert load_settings().db_url == url_text(db_url)
    assert str(db_url.database) in label(window, "databaseStatus")
    assert Path(desk_home.config_file).exists()
