"""Ring → screen pop, end to end: a real HTTP request to the desk's CTI bridge, the real
database (SQLite and PostgreSQL), the real window, offscreen."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from agent_desk.core.roles import Role
from agent_desk.paths import UserPaths
from agent_desk.store.agents import add_agent, ensure_demo_agents
from agent_desk.store.customers import create_customer
from agent_desk.store.db import make_engine
from agent_desk.store.models import CallSession, Complaint, Customer, Purchase, SessionEvent
from agent_desk.telephony.client import send_call_event
from agent_desk.ui.main_window import MainWindow
from tests.conftest import url_text
from tests.ui.conftest import LaunchDesk, type_text

NOW = dt.datetime.now(dt.UTC)


def seed_caller(url: URL) -> int:
    """One known caller with a product, a promise-free purchase and an overdue complaint."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        ensure_demo_agents(session)
        customer = create_customer(
            session,
            "张三丰",
            ["13800138000", "010-62345678"],
            "北京市朝阳区建国路88号",
            ["VIP", "elderly"],
        )
        session.add(
            Purchase(
                customer_id=customer.id,
                product="空调",
                model="KFR-35GW",
                serial="AC2023000001",
                purchase_date=dt.date(2023, 6, 1),
                warranty_until=dt.date(2024, 6, 1),
            )
        )
        session.add(
            Complaint(
                reference="TS-20261101-000001",
                idempotency_key="k1",
                customer_id=customer.id,
                category="repair",
                severity="high",
                description="不制冷",
                status="assigned",
                promised_reply_at=NOW - dt.timedelta(days=2),
            )
        )
        for day in range(30):  # more history than one page
            session.add(
                CallSession(
                    call_id=f"old-{day}",
                    number="+8613800138000",
                    customer_id=customer.id,
                    wrap_up_code="enquiry",
                    started_at=NOW - dt.timedelta(days=day + 1),
                    notes=f"第{day}次来电",
                )
            )
        customer_id = customer.id
    engine.dispose()
    return customer_id


def text_of(window: MainWindow, name: str) -> str:
    label = window.findChild(QLabel, name)
    assert label is not None, name
    return str(label.text())


def ring(window: MainWindow, call_id: str, number: str) -> None:
    bridge = window.calls.bridge
    assert bridge is not None
    token = window.settings.cti_token
    answer = send_call_event(
        "ringing", call_id, number, "400-800-1234", port=bridge.port, token=token
    )
    assert answer == {"status": "accepted"}


@pytest.mark.parametrize(
    "number",
    ["+86 138 0013 8000", "008613800138000", "138-0013-8000", "13800138000", "(010) 6234 5678"],
)
def test_ringing_pops_the_callers_record(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL, number: str
) -> None:
    seed_caller(db_url)
    window = launch_desk("--db", url_text(db_url))
    panel = window.calls.customer_panel
    with qtbot.waitSignal(panel.popPainted, timeout=10000) as painted:
        ring(window, "c-100", number)
    call_id, customer_id, matches, ms = painted.args
    assert (call_id, matches) == ("c-100", 1) and customer_id > 0 and ms > 0
    assert text_of(window, "customerName") == "张三丰"
    assert "VIP" in text_of(window, "customerTags") and "老年" in text_of(window, "customerTags")
    assert "建国路88号" in text_of(window, "customerDetails")
    products = panel.record.products_model
    assert products.item(0, 0).text() == "空调"
    assert "已过保" in products.item(0, 4).text()  # warranty ended 2024-06-01
    complaints = panel.record.complaints_model
    assert complaints.item(0, 0).text() == "TS-20261101-000001"
    assert "OVERDUE" in complaints.item(0, 3).text()
    history = panel.record.history_model
    assert history.rowCount() >= 20  # the first page came with the pop (the view may ask more)
    assert panel.result is not None and panel.result.pop is not None
    assert panel.result.pop.history.has_more
    times = [item.at for item in history.items]
    assert times == sorted(times, reverse=True)
    assert window.agent_bar.findChild(QLabel, "agentState").text().startswith("On call")


def test_history_pages_in_as_the_operator_scrolls(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    seed_caller(db_url)
    window = launch_desk("--db", url_text(db_url))
    panel = window.calls.customer_panel
    with qtbot.waitSignal(panel.popPainted, timeout=10000):
        ring(window, "c-101", "13800138000")
    model = panel.record.history_model
    qtbot.waitUntil(lambda: not model.loading, timeout=10000)
    while model.canFetchMore():
        with qtbot.waitSignal(model.pageLoaded, timeout=10000):
            model.fetchMore()
    keys = [item.key for item in model.items]
    assert len(keys) == len(set(keys)) == 61  # 30 calls, their 30 notes, 1 complaint: once each


def test_unknown_number_offers_a_new_customer_in_a_few_keystrokes(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    seed_caller(db_url)
    window = launch_desk("--db", url_text(db_url))
    panel = window.calls.customer_panel
    with qtbot.waitSignal(panel.popPainted, timeout=10000) as painted:
        ring(window, "c-200", "13911112222")
    assert painted.args[1:3] == [0, 0]
    prompt = panel.new_customer
    assert panel.pages.currentWidget() is prompt and prompt.objectName() == "newCustomerPrompt"
    assert prompt.number.text() == "+8613911112222"
    type_text(prompt.name, "李四")
    with qtbot.waitSignal(panel.customerIdentified, timeout=10000):
        qtbot.keyClick(prompt.name, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: text_of(window, "customerName") == "李四", timeout=10000)
    assert window.calls.controller.recorder is not None
    window.calls.controller.recorder.flush()
    engine = make_engine(db_url)
    with Session(engine) as session:
        created = session.scalars(select(Customer).where(Customer.name == "李四")).one()
        assert [p.e164 for p in created.phones] == ["+8613911112222"]
        call = session.scalars(select(CallSession).where(CallSession.call_id == "c-200")).one()
        assert call.customer_id == created.id
    engine.dispose()


def test_a_bad_new_customer_is_explained_and_nothing_is_saved(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    seed_caller(db_url)
    window = launch_desk("--db", url_text(db_url))
    panel = window.calls.customer_panel
    with qtbot.waitSignal(panel.popPainted, timeout=10000):
        ring(window, "c-201", "13911113333")
    prompt = panel.new_customer
    qtbot.keyClick(prompt.name, Qt.Key.Key_Return)  # no name
    qtbot.waitUntil(lambda: prompt.error.isVisible(), timeout=10000)
    assert "name" in prompt.error.text().lower()
    assert prompt.number.text() == "+8613911113333"  # what was there is kept
    engine = make_engine(db_url)
    with Session(engine) as session:
        assert session.scalars(select(Customer.name)).all() == ["张三丰"]
    engine.dispose()


def test_several_customers_on_one_number_are_offered_as_a_choice(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    seed_caller(db_url)
    engine = make_engine(db_url)
    with Session(engine) as session, session.begin():
        create_customer(session, "张三丰的女儿", ["+8613800138000"])
    engine.dispose()
    window = launch_desk("--db", url_text(db_url))
    panel = window.calls.customer_panel
    with qtbot.waitSignal(panel.popPainted, timeout=10000) as painted:
        ring(window, "c-300", "13800138000")
    assert painted.args[2] == 2
    assert panel.pages.currentWidget() is panel.chooser_page
    assert panel.chooser.model().rowCount() == 2
    panel.chooser.setCurrentIndex(panel.chooser.model().index(1, 0))
    with qtbot.waitSignal(panel.popPainted, timeout=10000):
        qtbot.keyClick(panel.chooser, Qt.Key.Key_Return)
    assert text_of(window, "customerName") == "张三丰的女儿"


@pytest.mark.parametrize("query", ["张三", "13800138000", "AC2023000001", "TS-20261101-000001"])
def test_search_finds_customers_by_name_phone_serial_or_reference(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL, query: str
) -> None:
    seed_caller(db_url)
    window = launch_desk("--db", url_text(db_url))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    box = window.findChild(QLineEdit, "customerSearch")
    assert box.hasFocus()
    panel = window.calls.customer_panel
    type_text(box, query)
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.search.results.isVisible(), timeout=10000)
    assert panel.search.results.model().rowCount() == 1
    with qtbot.waitSignal(panel.popPainted, timeout=10000):
        qtbot.keyClick(panel.search.results, Qt.Key.Key_Return)
    assert text_of(window, "customerName") == "张三丰"


def test_a_whole_call_by_keyboard_is_recorded_as_it_happens(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    seed_caller(db_url)
    window = launch_desk("--db", url_text(db_url))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    controller = window.calls.controller
    with qtbot.waitSignal(window.calls.customer_panel.popPainted, timeout=10000):
        ring(window, "c-400", "13800138000")
    ring(window, "c-401", "13911114444")  # a second caller while the first rings
    qtbot.waitUntil(lambda: len(controller.flow.queue) == 1, timeout=10000)
    assert "1 waiting" in window.calls.call_panel.queue.text()
    for key in (Qt.Key.Key_F2, Qt.Key.Key_F3, Qt.Key.Key_F3):  # answer, hold, resume
        qtbot.keyClick(window, key)
    notes = window.calls.call_panel.notes
    type_text(notes, "空调不制冷，已登记上门")
    qtbot.keyClick(window, Qt.Key.Key_F4)  # end: wrap-up
    assert window.agent_bar.findChild(QLabel, "agentState").text().startswith("Wrap-up")
    qtbot.keyClick(window, Qt.Key.Key_F9)  # Ready without a code: refused
    assert controller.flow.active is not None and controller.flow.active.call_id == "c-400"
    combo = window.calls.call_panel.wrap_up
    assert combo.objectName() == "wrapUpCode" and combo.isEnabled()
    combo.setCurrentIndex(combo.findData("repair"))
    combo.activated.emit(combo.currentIndex())
    with qtbot.waitSignal(window.calls.customer_panel.popPainted, timeout=10000) as painted:
        qtbot.keyClick(window, Qt.Key.Key_F9)  # done: the queued call rings now
    assert painted.args[0] == "c-401"
    assert controller.recorder is not None and controller.recorder.flush()
    engine = make_engine(db_url)
    with Session(engine) as session:
        call = session.scalars(select(CallSession).where(CallSession.call_id == "c-400")).one()
        assert (call.wrap_up_code, call.notes) == ("repair", "空调不制冷，已登记上门")
        assert call.answered_at is not None and call.ended_at is not None
        kinds = session.scalars(
            select(SessionEvent.kind)
            .where(SessionEvent.session_id == call.id)
            .order_by(SessionEvent.offset_ms, SessionEvent.id)
        ).all()
    engine.dispose()
    for expected in (
        "ringing",
        "screen_pop",
        "answered",
        "hold",
        "resumed",
        "note_saved",
        "ended",
        "wrap_up_code",
        "wrap_up",
    ):
        assert expected in kinds, (expected, kinds)
    assert kinds.index("ringing") < kinds.index("answered") < kinds.index("ended")


def test_the_restarted_desk_shows_the_call_it_was_on(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL, desk_home: UserPaths
) -> None:
    customer_id = seed_caller(db_url)
    engine = make_engine(db_url)
    with Session(engine) as session, session.begin():
        agent = session.scalars(select(CallSession)).first()
        assert agent is not None
        from agent_desk.store.agents import find_agent

        operator = find_agent(session, "1001")
        assert operator is not None
        session.add(
            CallSession(
                call_id="c-crashed",
                number="+8613800138000",
                customer_id=customer_id,
                agent_id=operator.id,
                started_at=NOW - dt.timedelta(minutes=3),
                answered_at=NOW - dt.timedelta(minutes=2),
                notes="客户要求周六上门",
            )
        )
    engine.dispose()
    window = launch_desk("--db", url_text(db_url))
    qtbot.waitUntil(lambda: text_of(window, "customerName") == "张三丰", timeout=10000)
    active = window.calls.controller.flow.active
    assert active is not None and active.call_id == "c-crashed"
    assert window.calls.call_panel.notes.toPlainText() == "客户要求周六上门"
    assert "still open when the desk stopped" in window.banner.text()


def test_an_agent_without_calls_role_gets_no_call_panels(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    engine = make_engine(db_url)
    with Session(engine) as session, session.begin():
        add_agent(session, "1001", "陈老师", Role.TRAINER)
    engine.dispose()
    window = launch_desk("--db", url_text(db_url))
    assert not window.calls.call_panel.isVisible()
    assert not window.action("answer").isEnabled()
    assert not window.action("simulateCall").isEnabled()


def test_after_call_work_runs_out_and_the_default_code_is_noted(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL, desk_home: UserPaths
) -> None:
    from agent_desk.settings import load_settings, save_settings

    seed_caller(db_url)
    settings = load_settings()
    settings.after_call_work_seconds = 1
    save_settings(settings)
    window = launch_desk("--db", url_text(db_url))
    controller = window.calls.controller
    with qtbot.waitSignal(window.calls.customer_panel.popPainted, timeout=10000):
        ring(window, "c-500", "13800138000")
    controller.answer()
    with qtbot.waitSignal(controller.callFinished, timeout=5000) as finished:
        controller.end()  # nobody picks a code: after one second the default is set
    assert finished.args == ["c-500"]
    assert controller.recorder is not None and controller.recorder.flush()
    engine = make_engine(db_url)
    with Session(engine) as session:
        call = session.scalars(select(CallSession).where(CallSession.call_id == "c-500")).one()
        assert (call.wrap_up_code, call.wrap_up_defaulted) == ("other", True)
    engine.dispose()
