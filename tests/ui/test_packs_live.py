"""Trainers publish packs from the pack manager; every desk picks them up between calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QListWidget
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from agent_desk.core.roles import Role
from agent_desk.settings import load_settings, save_settings
from agent_desk.store.agents import add_agent, ensure_demo_agents
from agent_desk.store.db import make_engine
from agent_desk.store.packs import active_pack, list_packs
from agent_desk.ui.main_window import MainWindow
from tests.conftest import url_text
from tests.ui.conftest import LaunchDesk
from tests.ui.test_screen_pop import ring

PACK = Path(__file__).resolve().parents[2] / "resources/packs/service-etiquette/pack.yaml"


@pytest.fixture
def trainer_desk(launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL) -> MainWindow:
    engine = make_engine(db_url)
    with Session(engine) as session, session.begin():
        ensure_demo_agents(session)  # 3001 is the demo trainer
    engine.dispose()
    settings = load_settings()
    settings.agent_no = "3001"
    save_settings(settings)
    window = launch_desk("--db", url_text(db_url))
    assert window.identity is not None and window.identity.role is Role.TRAINER
    return window


def pack_file(tmp_path: Path, version: str, extra: str = "") -> Path:
    text = PACK.read_text(encoding="utf-8").replace('version: "1.0.0"', f'version: "{version}"')
    path = tmp_path / f"pack-{version}.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_a_trainer_sees_problems_in_place_previews_and_publishes(
    trainer_desk: MainWindow, qtbot: QtBot, tmp_path: Path, db_url: URL
) -> None:
    manager = trainer_desk.open_pack_manager()
    assert manager is not None and manager.objectName() == "packManager"
    broken = PACK.read_text(encoding="utf-8").replace("  agent_no:", "  agent_number:", 1)
    path = tmp_path / "draft.yaml"
    path.write_text(broken, encoding="utf-8")
    manager.load_file(path)
    problems = manager.findChild(QListWidget, "packProblems")
    assert problems.count() >= 1
    assert (
        f"{path}:" in problems.item(0).text()
        and "unknown variable {agent_no}" in problems.item(0).text()
    )
    assert not manager.publish_action.isEnabled()
    problems.setCurrentRow(0)
    manager._jump_to_problem(problems.item(0))
    assert "{agent_no}" in manager.editor.textCursor().selectedText()
    manager.editor.setPlainText(broken.replace("  agent_number:", "  agent_no:", 1))
    manager.validate()
    assert problems.count() == 0 and manager.publish_action.isEnabled()
    assert manager.preview.findChild(QListWidget, "promptList").count() > 0
    with qtbot.waitSignal(manager.published, timeout=10000) as published:
        manager.publish_action.trigger()
    assert published.args == ["service-etiquette 1.0.0"]
    engine = make_engine(db_url)
    with Session(engine) as session:
        current = active_pack(session)
        assert current is not None and current.version == "1.0.0"
    engine.dispose()


def test_changes_are_shown_by_entry_and_a_rollback_is_an_activation(
    trainer_desk: MainWindow, qtbot: QtBot, tmp_path: Path, db_url: URL
) -> None:
    manager = trainer_desk.open_pack_manager()
    assert manager is not None
    manager.load_file(pack_file(tmp_path, "1.0.0"))
    with qtbot.waitSignal(manager.published, timeout=10000):
        manager.publish()
    qtbot.waitUntil(lambda: manager.active is not None, timeout=10000)
    newer = PACK.read_text(encoding="utf-8").replace('version: "1.0.0"', 'version: "1.1.0"')
    newer = newer.replace("很高兴为您服务", "很高兴为您效劳", 1)
    manager.editor.setPlainText(newer)
    manager.validate()
    changes = [manager.changes.item(i).text() for i in range(manager.changes.count())]
    assert "~ prompts: greeting" in changes and len(changes) == 2  # header + one change
    with qtbot.waitSignal(manager.published, timeout=10000):
        manager.publish()
    qtbot.waitUntil(lambda: manager.versions.rowCount() == 2, timeout=10000)
    manager.versions.selectRow(0)  # 1.0.0: roll back
    with qtbot.waitSignal(manager.published, timeout=10000) as rolled_back:
        manager.activate_selected()
    assert rolled_back.args == ["service-etiquette 1.0.0"]
    engine = make_engine(db_url)
    with Session(engine) as session:
        assert [(v.version, v.active) for v in list_packs(session)] == [
            ("1.0.0", True),
            ("1.1.0", False),
        ]
    engine.dispose()


@pytest.fixture
def two_desks(
    launch_desk: LaunchDesk, db_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MainWindow, MainWindow]]:
    """Two desks on one shared database, each with its own home (config, logs)."""
    from tests.ui.test_screen_pop import seed_caller

    seed_caller(db_url)
    first = launch_desk("--db", url_text(db_url))
    monkeypatch.setenv("AGENT_DESK_HOME", str(tmp_path / "second-desk"))
    engine = make_engine(db_url)
    with Session(engine) as session, session.begin():
        add_agent(session, "1002", "第二坐席", Role.OPERATOR)
    engine.dispose()
    settings = load_settings()
    settings.agent_no = "1002"
    save_settings(settings)
    second = launch_desk("--db", url_text(db_url))
    yield first, second


@pytest.mark.pg
def test_a_second_desk_picks_up_an_activated_pack_but_never_mid_call(
    two_desks: tuple[MainWindow, MainWindow], qtbot: QtBot, tmp_path: Path, db_url: URL
) -> None:
    if db_url.get_backend_name() != "postgresql":
        pytest.skip("the shared database of a real centre: PostgreSQL")
    first, second = two_desks
    qtbot.waitUntil(lambda: second.calls.script_panel.pack is not None, timeout=10000)
    with qtbot.waitSignal(second.calls.customer_panel.popPainted, timeout=10000):
        ring(second, "c-900", "13800138000")
    second.calls.controller.answer()
    from agent_desk.store.pack_publishing import publish_pack_file

    assert first.connection is not None
    publish_pack_file(
        first.connection.database.sessions, pack_file(tmp_path, "2.0.0"), None, activate=True
    )
    # The second desk notices within a few seconds, but keeps its pack for this call.
    qtbot.waitUntil(lambda: second.calls._pending_pack is not None, timeout=10000)
    assert second.calls.script_panel.pack is not None
    assert second.calls.script_panel.pack.version == "1.0.0"
    second.calls.controller.end()
    second.calls.controller.choose_wrap_up("enquiry")
    second.calls.controller.finish_wrap_up()
    assert second.calls.script_panel.pack.version == "2.0.0"
    # …and a desk between calls takes it at once.
    qtbot.waitUntil(
        lambda: (
            first.calls.script_panel.pack is not None
            and first.calls.script_panel.pack.version == "2.0.0"
        ),
        timeout=10000,
    )
