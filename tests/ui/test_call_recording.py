"""A PBX recording named by the CTI bridge is converted and attached when the call is done;
a bad file is noted on the session and never breaks it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from agent_desk.store.db import make_engine
from agent_desk.store.models import CallSession, SessionEvent
from agent_desk.telephony.client import send_call_event
from agent_desk.ui.main_window import MainWindow
from tests.conftest import url_text
from tests.ui.conftest import LaunchDesk
from tests.ui.test_screen_pop import ring, seed_caller


def call_with_recording(window: MainWindow, qtbot: QtBot, call_id: str, recording: Path) -> None:
    with qtbot.waitSignal(window.calls.customer_panel.popPainted, timeout=10000):
        ring(window, call_id, "13800138000")
    window.calls.controller.answer()
    bridge = window.calls.bridge
    assert bridge is not None
    send_call_event(
        "ended",
        call_id,
        port=bridge.port,
        token=window.settings.cti_token,
        recording=str(recording),
    )
    qtbot.waitUntil(
        lambda: (
            window.calls.controller.flow.active is not None
            and window.calls.controller.flow.active.state.value == "wrap_up"
        ),
        timeout=10000,
    )
    window.calls.controller.choose_wrap_up("enquiry")
    window.calls.controller.finish_wrap_up()


def session_row(db_url: URL, call_id: str) -> tuple[str | None, list[str]]:
    engine = make_engine(db_url)
    with Session(engine) as session:
        row = session.scalars(select(CallSession).where(CallSession.call_id == call_id)).one()
        kinds = session.scalars(
            select(SessionEvent.kind).where(SessionEvent.session_id == row.id)
        ).all()
        ref = row.recording_ref
    engine.dispose()
    return ref, list(kinds)


def test_a_pbx_recording_is_stored_with_the_session(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL, tmp_path: Path
) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: make test installs it (scripts/system-deps.sh)")
    wav = tmp_path / "pbx.wav"
    subprocess.run(
        ["espeak-ng", "-v", "cmn", "-w", str(wav), "您好，请问有什么可以帮您"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    seed_caller(db_url)
    window = launch_desk("--db", url_text(db_url))
    with qtbot.waitSignal(window.calls.controller.recordingReady, timeout=20000):
        call_with_recording(window, qtbot, "c-rec-1", wav)
    qtbot.waitUntil(lambda: session_row(db_url, "c-rec-1")[0] is not None, timeout=30000)
    ref, kinds = session_row(db_url, "c-rec-1")
    assert (ref is not None and ref.endswith(".ogg")) or ref.endswith(".mp3")
    assert window.calls.recordings_root is not None
    assert (window.calls.recordings_root / ref).stat().st_size > 0
    assert "recording" in kinds


def test_a_broken_recording_is_noted_and_the_session_is_intact(
    launch_desk: LaunchDesk, qtbot: QtBot, db_url: URL, tmp_path: Path
) -> None:
    fake = tmp_path / "pbx.wav"
    fake.write_text("this is not audio at all", encoding="utf-8")
    seed_caller(db_url)
    window = launch_desk("--db", url_text(db_url))
    call_with_recording(window, qtbot, "c-rec-2", fake)
    qtbot.waitUntil(lambda: "recording_failed" in session_row(db_url, "c-rec-2")[1], timeout=30000)
    ref, kinds = session_row(db_url, "c-rec-2")
    assert ref is None
    assert "wrap_up" in kinds and "answered" in kinds
