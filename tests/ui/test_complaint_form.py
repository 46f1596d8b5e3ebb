"""The complaint form in the desk: checked as the operator types, submitted to the shared
database with a reference from it, or kept in the local outbox when the database is away."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from agent_desk.store.db import make_engine
from agent_desk.store.models import Complaint, SessionEvent
from agent_desk.ui.main_window import MainWindow
from tests.conftest import url_text
from tests.ui.conftest import LaunchDesk, type_text
from tests.ui.test_screen_pop import ring, seed_caller

SQLISH = "空调漏水'); DROP TABLE complaints; -- 😡"


def desk_with_form(launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL) -> MainWindow:
    seed_caller(db_url)
    window = launch_desk("--db", url_text(db_url))
    qtbot.waitUntil(lambda: window.calls.script_panel.pack is not None, timeout=10000)
    with qtbot.waitSignal(window.calls.customer_panel.popPainted, timeout=10000):
        ring(window, "c-800", "13800138000")
    window.calls.controller.answer()
    assert window.open_complaint_form()
    return window


def error(window: MainWindow, field: str) -> str:
    label = window.findChild(QLabel, f"complaintError_{field}")
    assert label is not None
    return label.text() if label.isVisible() else ""


def test_the_form_is_prefilled_from_the_call(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_with_form(launch_desk, qtbot, db_url)
    form = window.complaint_form
    assert form.objectName() == "complaintForm" and form.isEnabled()
    assert "张三丰" in form.heading.text()
    assert form.product.currentText().startswith("空调 KFR-35GW")
    assert form.callback.text() == "+8613800138000"
    assert form.call_id == "c-800"
    assert window.calls.script_panel.current_stage() == "complaint"
    promised = dt.datetime.fromtimestamp(form.reply_by.dateTime().toSecsSinceEpoch(), dt.UTC)
    assert dt.timedelta(hours=23) < promised - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=24)


def test_required_fields_and_limits_are_explained_as_the_operator_types(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_with_form(launch_desk, qtbot, db_url)
    form = window.complaint_form
    submit = form.submit
    assert submit.objectName() == "submitComplaint"
    assert error(window, "description") and not submit.isEnabled()
    type_text(form.description, "坏了")  # too short
    assert error(window, "description")
    type_text(form.description, "，空调完全不制冷")
    assert not error(window, "description")
    form.customer_wants.setPlainText("换" * 5000)  # over the limit
    assert "5000" in error(window, "customer_wants") or error(window, "customer_wants")
    form.customer_wants.setPlainText("上门维修")
    form.callback.setText("12345")
    assert error(window, "callback_number")
    form.callback.setText("138 0013 8000")
    assert not error(window, "callback_number")
    form.reply_by.setDateTime(form.reply_by.dateTime().addDays(-3))  # a promise in the past
    assert error(window, "promised_reply_at")
    form.choose_reply("2h")
    assert not error(window, "promised_reply_at") and submit.isEnabled()


def test_submit_by_keyboard_gives_a_database_reference_and_records_the_promise(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_with_form(launch_desk, qtbot, db_url)
    form = window.complaint_form
    type_text(form.description, SQLISH)
    form.customer_wants.setPlainText("上门维修，周六上午")
    with qtbot.waitSignal(window.complaints.submitted, timeout=10000) as submitted:
        qtbot.keyClick(form.description, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    call_id, reference, promised = submitted.args
    assert dt.datetime.fromisoformat(promised) > dt.datetime.now(dt.UTC)
    assert call_id == "c-800" and reference.startswith("TS-")
    status = window.findChild(QLabel, "complaintStatus")
    assert reference in status.text()
    engine = make_engine(db_url)
    with Session(engine) as session:
        stored = session.scalars(select(Complaint).where(Complaint.reference == reference)).one()
        assert stored.description == SQLISH  # verbatim: emoji, quotes and all
    engine.dispose()
    # The promise shows on the customer's record at once (and at every later call).
    model = window.calls.customer_panel.record.complaints_model
    qtbot.waitUntil(
        lambda: any(model.item(r, 0).text() == reference for r in range(model.rowCount())),
        timeout=10000,
    )
    recorder = window.calls.controller.recorder
    assert recorder is not None and recorder.flush()
    engine = make_engine(db_url)
    with Session(engine) as session:
        kinds = session.scalars(select(SessionEvent.kind)).all()
    engine.dispose()
    assert "complaint_submitted" in kinds


def test_a_repeat_fault_is_explained_before_submitting(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_with_form(launch_desk, qtbot, db_url)
    form = window.complaint_form
    form.category.setCurrentIndex(form.category.findData("repair"))
    type_text(form.description, "第一次报修：空调不制冷")
    form.customer_wants.setPlainText("上门维修")
    with qtbot.waitSignal(window.complaints.submitted, timeout=10000):
        form.request_submit()
    assert window.open_complaint_form()  # the same caller, the same machine, again
    form.category.setCurrentIndex(form.category.findData("repair"))
    type_text(form.description, "又坏了，还是不制冷")
    form.customer_wants.setPlainText("换新机")
    qtbot.waitUntil(lambda: form.repeat.isVisible(), timeout=10000)
    assert "Repeat fault" in form.repeat.text() and "TS-" in form.repeat.text()
    with qtbot.waitSignal(window.complaints.submitted, timeout=10000):
        form.request_submit()
    assert "linked to TS-" in form.status.text()


@pytest.mark.pg
def test_an_unreachable_database_keeps_the_complaint_in_the_outbox(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL, pg_server_url: str
) -> None:
    if db_url.get_backend_name() != "postgresql":
        pytest.skip("the outage of a shared server: PostgreSQL")
    from sqlalchemy import create_engine, text

    window = desk_with_form(launch_desk, qtbot, db_url)
    form = window.complaint_form
    type_text(form.description, "停电期间提交的投诉")
    form.customer_wants.setPlainText("尽快回电")
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{db_url.database}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :d AND pid <> pg_backend_pid()"
                ),
                {"d": db_url.database},
            )
        form.request_submit()
        qtbot.waitUntil(lambda: "Saved locally" in form.status.text(), timeout=20000)
        qtbot.waitUntil(lambda: "1" in window.outbox_status.text(), timeout=10000)
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{db_url.database}" ALLOW_CONNECTIONS true'))
        assert window.complaints.sender is not None
        window.complaints.sender.wake()
        qtbot.waitUntil(lambda: window.outbox_status.text() == "", timeout=30000)
    finally:
        admin.dispose()
    engine = make_engine(db_url)
    with Session(engine) as session:
        rows = session.scalars(select(Complaint.description)).all()
    engine.dispose()
    assert rows.count("停电期间提交的投诉") == 1


def test_supervisor_hand_off_escalates_the_submitted_complaint(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL
) -> None:
    window = desk_with_form(launch_desk, qtbot, db_url)
    form = window.complaint_form
    type_text(form.description, "空调三次维修仍不制冷")
    form.customer_wants.setPlainText("主管回电")
    assert not form.hand_off.isEnabled()
    with qtbot.waitSignal(window.complaints.submitted, timeout=10000) as submitted:
        form.request_submit()
    assert form.hand_off.isEnabled()
    window.complaints.hand_off("客户要求主管处理")
    qtbot.waitUntil(lambda: "handed to the supervisor" in form.status.text(), timeout=10000)
    engine = make_engine(db_url)
    with Session(engine) as session:
        stored = session.scalars(
            select(Complaint).where(Complaint.reference == submitted.args[1])
        ).one()
        assert stored.escalation_level == 1
    engine.dispose()
