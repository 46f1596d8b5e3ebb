"""The desk's own recording, for real: a whole desk in a process of its own records calls
from a microphone on a private PulseAudio server (tests/sound_server.py), driven as a phone
system drives it, through its CTI bridge. What the microphone heard (a 440 Hz tone) must come
out of the stored recording, for as long as the call was talked.

The desk runs in a child process because QtMultimedia reads the sound server's devices once
per process; the test polls the database for what the desk wrote."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from agent_desk.paths import UserPaths
from agent_desk.settings import load_settings, save_settings
from agent_desk.store.db import make_engine
from agent_desk.store.models import CallSession, SessionEvent
from agent_desk.telephony.client import send_call_event
from agent_desk.telephony.runtime import read_runtime
from agent_desk.telephony.source import CallEvent, EventName
from agent_desk.ui.call_capture import capture_file_name
from agent_desk.ui.call_controller import CallController
from tests.conftest import url_text
from tests.sound_server import BUILT_IN, TONE_HZ, SoundServer, sine
from tests.store.test_recordings import decode
from tests.ui.desk_process import ROOT, DeskProcess
from tests.ui.test_screen_pop import seed_caller

MICROPHONE = "测试耳麦 Test headset"
TALK_S = 2.0
SECOND_TALK_S = 1.0
PBX_TONE_HZ = 660.0
# Between the tone heard and the length stored: the sound server's 20 ms, the recorder's
# buffers and the moment the hang-up reaches it.
DURATION_TOLERANCE_MS = 350

StartDesk = Callable[..., DeskProcess]


# -- helpers ----------------------------------------------------------------------------------


def poll(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """The desk is another process: ask the database until it says so (or time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


class Calls:
    """The session rows the desk writes, read from the test process."""

    def __init__(self, db_url: URL) -> None:
        self.engine = make_engine(db_url)

    def session(self, call_id: str) -> CallSession | None:
        with Session(self.engine) as session:
            row = session.scalars(select(CallSession).where(CallSession.call_id == call_id)).first()
            if row is not None:
                session.expunge(row)
            return row

    def events(self, call_id: str) -> dict[str, list[SessionEvent]]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(SessionEvent)
                .join(CallSession, CallSession.id == SessionEvent.session_id)
                .where(CallSession.call_id == call_id)
                .order_by(SessionEvent.offset_ms, SessionEvent.id)
            ).all()
            by_kind: dict[str, list[SessionEvent]] = {}
            for row in rows:
                session.expunge(row)
                by_kind.setdefault(row.kind, []).append(row)
            return by_kind

    def stored(self, call_id: str) -> SessionEvent:
        """The `recording` event, once the recording is attached and the call done."""

        def attached() -> SessionEvent | None:
            row = self.session(call_id)
            events = self.events(call_id)
            if row is None or row.recording_ref is None or "wrap_up" not in events:
                return None
            return events.get("recording", [None])[-1]

        return poll(f"the recording of {call_id} attached", attached, timeout=30)

    def first(self, call_id: str, kind: str, timeout: float = 15.0) -> SessionEvent:
        return poll(
            f"a {kind!r} event for {call_id}",
            lambda: self.events(call_id).get(kind, [None])[0],
            timeout,
        )


def dominant_hz(samples: np.ndarray, rate: int = 16_000) -> float:
    window = samples * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(window))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def rms_dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(max(float(np.sqrt(np.mean(samples**2))), 1e-9)))


def stored_file(desk_home: UserPaths, event: SessionEvent) -> Path:
    path = desk_home.recordings_dir / event.payload["path"]
    assert path.is_file(), f"{path} is not in the recordings store"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == event.payload["checksum"]
    return path


def qt_warnings(desk: DeskProcess, ignore: list[str]) -> list[str]:
    """What Qt warned about in the desk's process, less what setup.cfg says is not ours."""
    patterns = [re.compile(p) for p in ignore]
    return [
        f"{category}: {message}"
        for level, category, message in desk.qt_messages()
        if level not in ("debug", "info") and not any(p.search(message) for p in patterns)
    ]


def status_says(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda message: text in message.get("status", "")


def ring_and_answer(call_id: str) -> None:
    send_call_event("ringing", call_id, "13800138000", "4008001234")
    send_call_event("answered", call_id, "13800138000", "4008001234")


def write_pbx_recording(path: Path, seconds: float = 1.5) -> Path:
    """What a PBX hands over: 8 kHz mono WAV, here a 660 Hz tone we can tell apart."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(sine(PBX_TONE_HZ, 8000, seconds))
    return path


def hang_up_with_the_phone_systems_recording(
    call_id: str, tmp_path: Path, calls: Calls, desk_home: UserPaths
) -> SessionEvent:
    """The call ends with the phone system's recording (PBX_TONE_HZ); it is the one stored."""
    pbx = write_pbx_recording(tmp_path / "pbx.wav")
    send_call_event("ended", call_id, "13800138000", "4008001234", recording=str(pbx))
    event = calls.stored(call_id)
    samples = decode(stored_file(desk_home, event))
    assert dominant_hz(samples) == pytest.approx(PBX_TONE_HZ, abs=4)
    return event


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def start_desk(
    sound_server_daemon: SoundServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[StartDesk]:
    """Start a desk in its own process, its microphone set to `audio_input` in Settings and
    the wrap-up ending itself after a second; quit it afterwards, checking Qt's warnings."""
    desks: list[DeskProcess] = []

    def start(db_url: URL, audio_input: str) -> DeskProcess:
        seed_caller(db_url)  # the demo agents, and a caller the screen pop knows
        settings = load_settings()
        settings.audio_input = audio_input
        settings.after_call_work_seconds = 1
        save_settings(settings)
        env = {**os.environ, **sound_server_daemon.env(), "QT_QPA_PLATFORM": "offscreen"}
        desk = DeskProcess(
            ["--db", url_text(db_url), "--cti-port", "0"],
            env,
            tmp_path / f"desk-{len(desks)}.stderr",
        )
        desks.append(desk)
        ready = desk.wait_for("ready", lambda m: "ready" in m, timeout=60)["ready"]
        assert ready["connected"] and ready["banner"] == "", f"the desk did not open: {ready}"
        runtime = read_runtime()
        assert runtime is not None and runtime.port == ready["port"]
        return desk

    yield start
    ignore = list(request.config.getini("qt_log_ignore"))
    for desk in desks:
        code = desk.close()
        assert code == 0, f"the desk exited with {code}: {desk.stderr()[-3000:]}"
        assert qt_warnings(desk, ignore) == []


@pytest.fixture
def calls(db_url: URL) -> Iterator[Calls]:
    reader = Calls(db_url)
    yield reader
    reader.engine.dispose()


# -- tests ------------------------------------------------------------------------------------


def test_the_desk_records_each_call_from_its_microphone(
    start_desk: StartDesk,
    sound_server_daemon: SoundServer,
    db_url: URL,
    calls: Calls,
    desk_home: UserPaths,
) -> None:
    sound_server_daemon.plug_microphone(MICROPHONE)
    desk = start_desk(db_url, MICROPHONE)
    for call_id, talk_s in (("c-mic-1", TALK_S), ("c-mic-2", SECOND_TALK_S)):
        ring_and_answer(call_id)
        started = calls.first(call_id, "recording_started")
        time.sleep(talk_s)  # the conversation itself
        send_call_event("ended", call_id, "13800138000", "4008001234")
        event = calls.stored(call_id)

        events = calls.events(call_id)
        assert started.payload == {"device": MICROPHONE}
        assert "recording_problem" not in events and "recording_failed" not in events
        talked_ms = events["ended"][0].offset_ms - started.offset_ms
        assert talked_ms >= talk_s * 1000
        assert abs(event.payload["duration_ms"] - talked_ms) < DURATION_TOLERANCE_MS
        # The replay lines the audio up with the timeline from the first sound on.
        assert abs(event.payload["starts_at_ms"] - started.offset_ms) <= 1
        assert event.payload["codec"] in ("opus", "mp3")

        samples = decode(stored_file(desk_home, event))
        assert len(samples) / 16 == pytest.approx(event.payload["duration_ms"], abs=100)
        middle = samples[len(samples) // 4 : 3 * len(samples) // 4]
        assert dominant_hz(middle) == pytest.approx(TONE_HZ, abs=4)
        assert rms_dbfs(middle) > -30  # the tone, normalised; not a silent file
        desk.wait_for(f"{call_id} stored", status_says(f"Recording of {call_id} stored"))
    captures = desk_home.data_dir / "captures"
    assert not captures.exists() or list(captures.iterdir()) == []
    assert desk.messages("banner") == []


def test_a_missing_microphone_is_said_and_the_phone_systems_recording_kept(
    start_desk: StartDesk,
    sound_server_daemon: SoundServer,
    db_url: URL,
    calls: Calls,
    desk_home: UserPaths,
    tmp_path: Path,
) -> None:
    # Another microphone is there (the system's default): the desk must not record the
    # room through it instead of the headset it was told to use.
    sound_server_daemon.plug_microphone(MICROPHONE)
    chosen = "USB 耳麦 Headset (unplugged)"
    desk = start_desk(db_url, chosen)
    ring_and_answer("c-nomic")
    banner = desk.wait_for("the missing microphone", lambda m: "banner" in m)
    assert banner["level"] == "warning"
    assert chosen in banner["banner"] and "not connected" in banner["banner"]
    assert "c-nomic" in banner["banner"]
    problem = calls.first("c-nomic", "recording_problem")
    assert chosen in problem.payload["reason"]

    event = hang_up_with_the_phone_systems_recording("c-nomic", tmp_path, calls, desk_home)
    events = calls.events("c-nomic")
    assert "recording_started" not in events
    assert {"answered", "ended", "wrap_up", "recording"} <= events.keys()
    assert event.payload["duration_ms"] == pytest.approx(1500, abs=60)


def test_the_phone_systems_recording_is_kept_rather_than_the_desks(
    start_desk: StartDesk,
    sound_server_daemon: SoundServer,
    db_url: URL,
    calls: Calls,
    desk_home: UserPaths,
    tmp_path: Path,
) -> None:
    sound_server_daemon.plug_microphone(MICROPHONE)
    start_desk(db_url, MICROPHONE)
    ring_and_answer("c-both")
    calls.first("c-both", "recording_started")
    time.sleep(0.5)  # talking
    hang_up_with_the_phone_systems_recording("c-both", tmp_path, calls, desk_home)
    assert len(calls.events("c-both")["recording"]) == 1
    # The desk's own capture was not needed: it is not left behind.
    captures = desk_home.data_dir / "captures"
    poll("the unneeded capture removed", lambda: list(captures.iterdir()) == [], timeout=10)


def test_a_microphone_pulled_out_mid_call_ends_the_recording_there(
    start_desk: StartDesk,
    sound_server_daemon: SoundServer,
    db_url: URL,
    calls: Calls,
    desk_home: UserPaths,
) -> None:
    sound_server_daemon.plug_microphone(MICROPHONE)
    desk = start_desk(db_url, MICROPHONE)
    ring_and_answer("c-unplug")
    started = calls.first("c-unplug", "recording_started")
    time.sleep(1.0)  # talking
    sound_server_daemon.unplug_microphone()
    banner = desk.wait_for("the lost microphone", lambda m: "banner" in m)
    assert banner["level"] == "warning" and "disconnected" in banner["banner"]
    assert MICROPHONE in banner["banner"]
    problem = calls.first("c-unplug", "recording_problem")
    time.sleep(0.5)  # still talking, unheard
    send_call_event("ended", "c-unplug", "13800138000", "4008001234")
    event = calls.stored("c-unplug")

    events = calls.events("c-unplug")
    assert {"answered", "ended", "wrap_up"} <= events.keys()
    heard_ms = problem.offset_ms - started.offset_ms
    assert abs(event.payload["duration_ms"] - heard_ms) < DURATION_TOLERANCE_MS
    assert event.payload["duration_ms"] < events["ended"][0].offset_ms - started.offset_ms - 300
    samples = decode(stored_file(desk_home, event))
    assert dominant_hz(samples[len(samples) // 4 : -len(samples) // 4]) == pytest.approx(
        TONE_HZ, abs=4
    )


SETTINGS_PROBE = """
import json, sys
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from agent_desk.settings import Settings
from agent_desk.ui.settings_dialog import SettingsDialog
dialog = SettingsDialog(Settings(audio_input=sys.argv[1]), "desk.sqlite3")
box = dialog.audio_input
items = [box.itemText(i) for i in range(box.count())]
current = box.currentText()
box.setCurrentIndex(box.findData(sys.argv[2]))
dialog.accept()
print(json.dumps({"items": items, "current": current,
                  "saved": dialog.result_settings.audio_input}, ensure_ascii=False))
if len(sys.argv) > 3:
    dialog.show(); app.processEvents(); dialog.grab().save(sys.argv[3])
"""


def test_settings_offer_the_machines_microphones(
    sound_server_daemon: SoundServer, tmp_path: Path
) -> None:
    sound_server_daemon.plug_microphone(MICROPHONE)
    env = {**os.environ, **sound_server_daemon.env(), "QT_QPA_PLATFORM": "offscreen"}
    args = [sys.executable, "-c", SETTINGS_PROBE, "Gone 麦克风", MICROPHONE]
    if os.environ.get("AGENT_DESK_SHOTS"):  # look at it: AGENT_DESK_SHOTS=dir xvfb-run …
        env.pop("QT_QPA_PLATFORM")
        args.append(str(Path(os.environ["AGENT_DESK_SHOTS"]) / "settings-microphone.png"))
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, timeout=60, check=True)
    shown = json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])
    assert shown["items"] == [
        "System default · 系统默认",
        MICROPHONE,  # the default input, listed first
        BUILT_IN,
        "Gone 麦克风 (not connected · 未连接)",
    ]
    assert shown["current"] == "Gone 麦克风 (not connected · 未连接)"
    assert shown["saved"] == MICROPHONE


# -- in this process: who keeps which recording ------------------------------------------------


def switch(controller: CallController, event: EventName, call_id: str, pbx: str = "") -> None:
    """The phone system's event, as the CTI bridge delivers it (here, on the GUI thread)."""
    at = dt.datetime.now(dt.UTC)
    controller.deliver(
        CallEvent(event, call_id, "13800138000", "4008001234", at, recording=pbx or None)
    )


def finished_call(qtbot: QtBot, pbx: str = "") -> tuple[CallController, list[tuple[str, str]]]:
    controller = CallController()
    ready: list[tuple[str, str]] = []
    controller.recordingReady.connect(lambda call_id, path: ready.append((call_id, path)))
    switch(controller, "ringing", "c-1")
    switch(controller, "answered", "c-1")
    switch(controller, "ended", "c-1", pbx)
    return controller, ready


def test_the_desks_capture_is_stored_when_the_wrap_up_is_done(qtbot: QtBot) -> None:
    controller, ready = finished_call(qtbot)
    assert controller.set_recording("c-1", "/captures/c-1.wav")
    assert ready == []  # the operator is still wrapping up
    controller.choose_wrap_up("enquiry")
    controller.finish_wrap_up()
    assert ready == [("c-1", "/captures/c-1.wav")]


def test_the_phone_systems_recording_wins_over_the_desks_capture(qtbot: QtBot) -> None:
    controller, ready = finished_call(qtbot, pbx="/pbx/c-1.wav")
    assert not controller.set_recording("c-1", "/captures/c-1.wav")
    controller.choose_wrap_up("enquiry")
    controller.finish_wrap_up()
    assert ready == [("c-1", "/pbx/c-1.wav")]


def test_a_capture_closed_after_the_wrap_up_is_stored_once(qtbot: QtBot) -> None:
    controller, ready = finished_call(qtbot)
    controller.choose_wrap_up("enquiry")
    controller.finish_wrap_up()
    assert ready == []
    assert controller.set_recording("c-1", "/captures/c-1.wav")
    assert ready == [("c-1", "/captures/c-1.wav")]
    # ... but never after the phone system's recording has gone to be stored.
    controller, ready = finished_call(qtbot, pbx="/pbx/c-1.wav")
    controller.choose_wrap_up("enquiry")
    controller.finish_wrap_up()
    assert not controller.set_recording("c-1", "/captures/c-1.wav")
    assert ready == [("c-1", "/pbx/c-1.wav")]


def test_capture_files_are_named_safely_whatever_the_call_id() -> None:
    at = dt.datetime(2026, 12, 1, 9, 30, 5, 123456, tzinfo=dt.UTC)
    assert capture_file_name("c-1", at) == "c-1-20261201T093005123456Z.wav"
    assert capture_file_name("../../etc/passwd", at) == "etc_passwd-20261201T093005123456Z.wav"
    assert capture_file_name("呼叫/1", at) == "1-20261201T093005123456Z.wav"
    assert capture_file_name("///", at) == "call-20261201T093005123456Z.wav"
