"""Script prompts and live coaching in a real desk window, recorded in the session."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QListWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from agent_desk.store.db import make_engine
from agent_desk.store.models import CallSession, SessionEvent
from agent_desk.ui.main_window import MainWindow
from tests.conftest import url_text
from tests.ui.conftest import LaunchDesk, type_text
from tests.ui.test_screen_pop import ring, seed_caller

PACK = Path(__file__).resolve().parents[2] / "resources/packs/service-etiquette/pack.yaml"


def desk_on_a_call(launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL) -> MainWindow:
    seed_caller(db_url)
    window = launch_desk("--db", url_text(db_url))
    qtbot.waitUntil(lambda: window.calls.script_panel.pack is not None, timeout=10000)
    with qtbot.waitSignal(window.calls.customer_panel.popPainted, timeout=10000):
        ring(window, "c-700", "13800138000")
    window.calls.controller.answer()
    return window


def events(db_url: URL, window: MainWindow, call_id: str) -> list[tuple[str, dict]]:
    recorder = window.calls.controller.recorder
    assert recorder is not None and recorder.flush()
    engine = make_engine(db_url)
    with Session(engine) as session:
        call = session.scalars(select(CallSession).where(CallSession.call_id == call_id)).one()
        rows = session.execute(
            select(SessionEvent.kind, SessionEvent.payload)
            .where(SessionEvent.session_id == call.id)
            .order_by(SessionEvent.offset_ms, SessionEvent.id)
        ).all()
    engine.dispose()
    return [(kind, payload) for kind, payload in rows]


def test_the_greeting_names_the_agent_and_then_the_customer(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_on_a_call(launch_desk, qtbot, db_url)
    panel = window.calls.script_panel
    prompts = window.findChild(QListWidget, "promptList")
    assert panel.current_stage() == "opening"
    first = prompts.item(0).text()
    assert first.startswith("您好！我是客户服务中心1001号")
    assert "agent number 1001" in first
    # A moment after the record is painted, the prompts greet the customer by name.
    qtbot.waitUntil(
        lambda: any("张三丰" in prompts.item(i).text() for i in range(prompts.count())),
        timeout=5000,
    )


def test_using_and_copying_prompts_by_keyboard_are_session_events(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_on_a_call(launch_desk, qtbot, db_url)
    prompts = window.findChild(QListWidget, "promptList")
    prompts.setFocus()
    prompts.setCurrentRow(0)
    with qtbot.waitSignal(window.calls.script_panel.promptUsed) as used:
        qtbot.keyClick(prompts, Qt.Key.Key_Return)
    assert used.args[0] == "greeting"
    with qtbot.waitSignal(window.calls.script_panel.promptCopied):
        qtbot.keyClick(prompts, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text().startswith("您好！我是客户服务中心1001号")
    recorded = events(db_url, window, "c-700")
    kinds = [kind for kind, _ in recorded]
    assert "prompt_used" in kinds and "prompt_copied" in kinds
    used_payload = next(p for k, p in recorded if k == "prompt_used")
    assert used_payload["prompt_id"] == "greeting" and used_payload["stage"] == "opening"


def test_a_prompt_with_blanks_is_used_only_once_they_are_filled(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_on_a_call(launch_desk, qtbot, db_url)
    panel = window.calls.script_panel
    panel.show_stage("understanding")
    assert panel.rendered("confirm-need") is None  # a blank is still open
    panel.fill_blanks("confirm-need", {"need": "周六上门维修"})
    assert panel.rendered("confirm-need") == "我跟您确认一下：您是希望周六上门维修，对吗？"
    with qtbot.waitSignal(panel.promptUsed) as used:
        panel.use("confirm-need")
    assert used.args == ["confirm-need", "我跟您确认一下：您是希望周六上门维修，对吗？"]


def test_customer_type_switches_the_guidance_and_is_recorded(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_on_a_call(launch_desk, qtbot, db_url)
    selector = window.findChild(QComboBox, "customerTypeSelector")
    index = selector.findData("upset")
    assert index > 0 and "激动型" in selector.itemText(index)
    selector.setCurrentIndex(index)
    selector.activated.emit(index)
    prompts = window.findChild(QListWidget, "promptList")
    assert window.calls.script_panel.current_stage() == "customer_type"
    assert prompts.count() >= 3
    kinds = dict(events(db_url, window, "c-700"))
    assert kinds["customer_type"] == {"customer_type": "upset"}


def test_operator_jumps_between_stages_and_wrap_up_moves_to_closing(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_on_a_call(launch_desk, qtbot, db_url)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    panel = window.calls.script_panel
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.AltModifier)
    assert panel.current_stage() == "solving"
    window.calls.controller.end()
    assert panel.current_stage() == "closing"
    stages = [p["stage"] for k, p in events(db_url, window, "c-700") if k == "stage"]
    assert stages == ["solving", "closing"]


def test_the_prompt_search_finds_chinese_and_english(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_on_a_call(launch_desk, qtbot, db_url)
    panel = window.calls.script_panel
    prompts = window.findChild(QListWidget, "promptList")
    type_text(panel.search, "抱歉")
    chinese = prompts.count()
    assert chinese > 0 and all("抱歉" in prompts.item(i).text() for i in range(chinese))
    panel.search.clear()
    type_text(panel.search, "sorry")
    assert prompts.count() > 0
    assert all("sorry" in prompts.item(i).text().lower() for i in range(prompts.count()))


def test_coaching_flags_a_forbidden_phrase_as_it_is_typed(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_on_a_call(launch_desk, qtbot, db_url)
    warnings = window.findChild(QListWidget, "coachingWarnings")
    notes = window.calls.call_panel.notes
    type_text(notes, "已登记地址。")
    assert warnings.count() == 0 and not warnings.isVisible()
    with qtbot.waitSignal(window.calls.notes_coach.flagged) as flagged:
        type_text(notes, "我说：這是我們的 規定")  # traditional characters, a space
    assert flagged.args[0].phrase_id == "our-rules"
    assert warnings.count() == 1 and "这是我们的规定" not in warnings.item(0).text()[:2]
    assert "→" in warnings.item(0).text()
    recorded = [p for k, p in events(db_url, window, "c-700") if k == "coaching_warning"]
    assert [p["phrase_id"] for p in recorded] == ["our-rules"]
