"""Team-lead replay with a real recording (espeak-ng speech, converted by ffmpeg), the event
timeline in sync, QA scoring with revisions and calibration, and the operator's view."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.audio.peaks import import_recording_with_peaks, shared_cache_dir
from agent_desk.core.roles import AgentIdentity, Role
from agent_desk.core.scripts import load_default_pack
from agent_desk.core.timeline import parse_session_link
from agent_desk.store.agents import add_agent, identity_of
from agent_desk.store.models import CallSession, SessionEvent
from agent_desk.store.qa import attach_recording
from agent_desk.ui.session_replay import SessionReplay

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
EVENTS = [  # offset ms, kind, payload: a short, well-handled call
    (0, "ringing", {"number": "+8613800138000"}),
    (120, "screen_pop", {"ms": 14.0, "customer_id": None, "matches": 1}),
    (2000, "answered", {}),
    (2600, "prompt_used", {"prompt_id": "greeting", "stage": "opening", "text": "您好！"}),
    (3000, "customer_type", {"customer_type": "confused"}),
    (3500, "hold", {}),
    (4000, "resumed", {}),
    (5000, "ended", {"by": "agent"}),
    (5500, "wrap_up", {"code": "enquiry", "defaulted": False}),
]


@pytest.fixture
def speech(tmp_path: Path) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: make test installs it (scripts/system-deps.sh)")
    wav = tmp_path / "call.wav"
    subprocess.run(
        ["espeak-ng", "-v", "cmn", "-w", str(wav), "您好，我是客服中心，请问有什么可以帮您"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return wav


def seed_session(
    engine: Engine, recording: Path | None, root: Path
) -> tuple[int, dict[str, AgentIdentity]]:
    with Session(engine) as session, session.begin():
        people = {
            "operator": add_agent(session, "1001", "王小燕", Role.OPERATOR),
            "lead": add_agent(session, "2001", "李建国", Role.TEAM_LEAD),
            "lead2": add_agent(session, "2002", "赵敏", Role.TEAM_LEAD),
        }
        call = CallSession(
            call_id="c-replay",
            number="+8613800138000",
            agent_id=people["operator"].id,
            started_at=T0,
            answered_at=T0 + dt.timedelta(seconds=2),
            ended_at=T0 + dt.timedelta(seconds=5),
            wrap_up_code="enquiry",
            notes="客户咨询空调保修",
        )
        session.add(call)
        session.flush()
        for offset, kind, payload in EVENTS:
            session.add(
                SessionEvent(session_id=call.id, offset_ms=offset, kind=kind, payload=payload)
            )
        if recording is not None:
            info, _peaks = import_recording_with_peaks(
                recording, root, "c-replay", shared_cache_dir(root)
            )
            attach_recording(
                session,
                call.id,
                info.path,
                checksum=info.checksum,
                duration_ms=info.duration_ms,
                size=info.bytes,
                codec="opus",
            )
        return call.id, {k: identity_of(v) for k, v in people.items()}


def replay_for(qtbot: QtBot, engine: Engine, who: AgentIdentity, root: Path) -> SessionReplay:
    window = SessionReplay(
        sessionmaker(engine, expire_on_commit=False),
        who,
        root,
        shared_cache_dir(root),
        load_default_pack(),
    )
    qtbot.addWidget(window)
    window.show()
    return window


def open_session(qtbot: QtBot, window: SessionReplay, session_id: int, at_ms: int = 0) -> None:
    window.open_session(session_id, at_ms)
    qtbot.waitUntil(
        lambda: window.replay is not None and window.replay.id == session_id, timeout=15000
    )


def test_replay_shows_the_waveform_and_the_timeline_in_sync(
    qtbot: QtBot, engine: Engine, speech: Path, tmp_path: Path
) -> None:
    root = tmp_path / "recordings"
    session_id, people = seed_session(engine, speech, root)
    window = replay_for(qtbot, engine, people["lead"], root)
    qtbot.waitUntil(lambda: window.list.rowCount() == 1, timeout=10000)
    window.filter_agent.setText("1009")  # nobody's calls
    window.refresh_list()
    qtbot.waitUntil(lambda: window.list.rowCount() == 0, timeout=10000)
    window.filter_agent.setText("1001")
    window.refresh_list()
    qtbot.waitUntil(lambda: window.list.rowCount() == 1, timeout=10000)
    open_session(qtbot, window, session_id)
    assert window.waveform.peaks is not None and len(window.waveform.peaks) > 10
    assert window.waveform.objectName() == "waveformView"
    timeline = window.events
    assert timeline.objectName() == "eventTimeline"
    assert timeline.count() == len(EVENTS) + 1  # and the recording's own event
    # Clicking an event seeks to it; the play head and the highlight follow.
    hold_row = next(
        i
        for i in range(timeline.count())
        if "hold" in timeline.item(i).text().lower() or "保持" in timeline.item(i).text()
    )
    window._event_chosen(timeline.item(hold_row))
    assert window.position_ms == 3500
    assert timeline.currentRow() == hold_row
    # Playing moves the highlight on by itself (this machine has no speaker: the clock plays).
    window.toggle_play()
    qtbot.waitUntil(lambda: window.position_ms >= 4000, timeout=10000)
    window.stop()
    assert (
        "resum" in timeline.currentItem().text().lower() or "恢复" in timeline.currentItem().text()
    )
    link = window.current_link()
    assert parse_session_link(link)[0] == session_id


def test_a_session_without_audio_replays_its_timeline_alone(
    qtbot: QtBot, engine: Engine, tmp_path: Path
) -> None:
    session_id, people = seed_session(engine, None, tmp_path / "recordings")
    window = replay_for(qtbot, engine, people["lead"], tmp_path / "recordings")
    open_session(qtbot, window, session_id)
    assert window.waveform.peaks is None and "无录音" in window.header.text()
    window.speed.setCurrentIndex(window.speed.findData(2.0))
    window.toggle_play()
    qtbot.waitUntil(lambda: window.position_ms >= 2000, timeout=10000)
    window.stop()
    assert window.events.currentRow() >= 2


def score_everything(window: SessionReplay, result: str = "pass") -> None:
    assert window.evaluation is not None
    for item_id in window.evaluation.unscored:
        window.evaluation = window.evaluation.with_result(item_id, result)  # type: ignore[arg-type]
    window._show_evaluation()


def test_auto_scores_overrides_revisions_and_calibration(
    qtbot: QtBot, engine: Engine, tmp_path: Path
) -> None:
    session_id, people = seed_session(engine, None, tmp_path / "recordings")
    lead = replay_for(qtbot, engine, people["lead"], tmp_path / "recordings")
    open_session(qtbot, lead, session_id)
    card = lead.scorecard
    assert card.objectName() == "qaScorecard" and card.rowCount() >= 6
    evaluation = lead.evaluation
    assert evaluation is not None
    autos = {s.item_id: s.auto for s in evaluation.scores if s.auto is not None}
    by_check = {i.auto: autos.get(i.id) for i in evaluation.items if i.auto}
    assert by_check["greeting_used"] == "pass"
    assert by_check["customer_type_chosen"] == "pass"
    assert by_check["wrap_up_code_set"] == "pass"
    assert by_check["no_forbidden_phrase"] == "pass"
    assert by_check["hold_under_limit"] == "pass"
    assert by_check["promise_recorded"] == "na"  # no complaint was raised
    # Override one item through the scorecard's own combo box, score the rest, save.
    first_auto = next(i for i, s in enumerate(evaluation.scores) if s.auto == "pass")
    combo = card.cellWidget(first_auto, 3)
    assert isinstance(combo, QComboBox)
    combo.setCurrentIndex(combo.findData("fail"))
    combo.activated.emit(combo.currentIndex())
    assert lead.evaluation is not None
    assert lead.evaluation.scores[first_auto].overridden
    score_everything(lead)
    with qtbot.waitSignal(lead.evaluationSaved, timeout=10000) as saved:
        lead.save_evaluation()
    assert saved.args == [1]
    with qtbot.waitSignal(lead.evaluationSaved, timeout=10000) as saved_again:
        lead.save_evaluation()  # an edit is a new revision; the first stays
    assert saved_again.args == [2]
    # A second team lead scores the same call differently: calibration shows where.
    other = replay_for(qtbot, engine, people["lead2"], tmp_path / "recordings")
    open_session(qtbot, other, session_id)
    score_everything(other)
    with qtbot.waitSignal(other.evaluationSaved, timeout=10000):
        other.save_evaluation()
    lines = [other.calibration.item(i).text() for i in range(other.calibration.count())]
    assert lines and "1 difference" in lines[0] and "2001" in lines[0]


def test_the_operator_sees_and_acknowledges_their_own_evaluation_only(
    qtbot: QtBot, engine: Engine, tmp_path: Path
) -> None:
    session_id, people = seed_session(engine, None, tmp_path / "recordings")
    lead = replay_for(qtbot, engine, people["lead"], tmp_path / "recordings")
    open_session(qtbot, lead, session_id)
    score_everything(lead)
    with qtbot.waitSignal(lead.evaluationSaved, timeout=10000):
        lead.save_evaluation()
    operator = replay_for(qtbot, engine, people["operator"], tmp_path / "recordings")
    assert not operator.save.isVisibleTo(operator) and operator.acknowledge.isVisibleTo(operator)
    qtbot.waitUntil(lambda: operator.list.rowCount() == 1, timeout=10000)
    open_session(qtbot, operator, session_id)
    assert len(operator.records) == 1
    operator.acknowledge_latest()
    qtbot.waitUntil(lambda: "Acknowledged" in operator.total.text(), timeout=10000)
    # Another operator sees nothing of it.
    with Session(engine) as session, session.begin():
        stranger = identity_of(add_agent(session, "1009", "别人", Role.OPERATOR))
    outsider = replay_for(qtbot, engine, stranger, tmp_path / "recordings")
    qtbot.waitUntil(lambda: outsider.header.text() != "", timeout=5000)
    assert outsider.list.rowCount() == 0


def test_the_exported_report_has_timeline_scores_and_comments(
    qtbot: QtBot, engine: Engine, tmp_path: Path
) -> None:
    session_id, people = seed_session(engine, None, tmp_path / "recordings")
    lead = replay_for(qtbot, engine, people["lead"], tmp_path / "recordings")
    open_session(qtbot, lead, session_id)
    lead.seek(3500)
    lead.comment.setText("保持前应征得客户同意 <ask before hold>")
    lead.add_comment()
    report = lead.report_html()
    assert "c-replay" in report and "客户咨询空调保修" in report
    assert "0:03" in report and "&lt;ask before hold&gt;" in report
    assert "<script" not in report
