"""The desk's own recording of a call, with QtMultimedia, from the microphone chosen in
Settings (by its description; empty: the system's default input): from the answer to the
hang-up, into a 16 kHz mono WAV that the recordings store then converts.

What the operator is told:

* No input device at all (a desk whose calls the phone system records): said once, in
  passing, and nothing else happens.
* The chosen microphone is not connected when a call is answered: that call is not recorded
  here (never silently from some other microphone in the room), and `trouble` says so.
* The microphone disappears during the call: QtMultimedia raises no error, and the sound
  server moves the recording to whatever input is left (the room's microphone) or it just
  stops. The device list changing is the only sign: the recording is closed there, what was
  heard is kept, and `trouble` says so. (Qt 6.11's PulseAudio backend announces a removed
  input only when the default input changes with it, as it does when the headset in use is
  pulled out; an input that was not the default goes unannounced.)

One capture session, audio input and recorder serve every call: QtMultimedia is loaded when
the first call rings (`prepare`), not with the desk, and a second recorder on the same input
would not get its sound."""

from __future__ import annotations

import datetime as dt
import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QUrl, Signal

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # what the recordings store keeps: wide-band speech, mono
CHANNELS = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def capture_file_name(call_id: str, at: dt.datetime) -> str:
    """`<call id>-<UTC time>.wav`, whatever characters the phone system put in the id."""
    safe = _UNSAFE.sub("_", call_id).strip("._-")[:80] or "call"
    return f"{safe}-{at:%Y%m%dT%H%M%S%fZ}.wav"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CallCapture(QObject):
    started = Signal(str, str, object)  # call id, device, when its first sound arrived (UTC)
    captured = Signal(str, str)  # call id, WAV file: closed, with sound in it
    trouble = Signal(str, str)  # call id, what went wrong: this call is not (fully) recorded
    problem = Signal(str)  # news for the status bar

    def __init__(
        self, device_name: str = "", folder: Path | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.device_name = device_name  # a description from `inputs()`; "" for the default
        self.folder = folder  # where captures wait to be stored; None: a temporary folder
        # QtMultimedia objects, made when the first call rings (see `prepare`, `_ensure`).
        self._devices: Any = None
        self._session: Any = None
        self._input: Any = None
        self._recorder: Any = None
        self._call_id = ""
        self._device_description = ""
        self._device_id = b""
        self._target: Path | None = None
        self._first_sound: dt.datetime | None = None
        self._told_no_inputs = False
        self._next_call = ""  # answered while the last call's recording was still closing
        self._files: dict[str, Path] = {}  # call id -> its capture, until stored
        self._starts: dict[str, dt.datetime] = {}  # call id -> its capture's first sound

    # -- devices -------------------------------------------------------------------------

    @staticmethod
    def inputs() -> list[str]:
        """The machine's audio inputs, by description, the system's default first."""
        from PySide6.QtMultimedia import QMediaDevices

        devices = sorted(QMediaDevices.audioInputs(), key=lambda d: not d.isDefault())
        return [device.description() for device in devices]

    def _find(self, devices: list[Any]) -> Any:
        """The chosen microphone: by description (or id); the default when none is chosen;
        None when the chosen one is not there."""
        if not self.device_name:
            return next((d for d in devices if d.isDefault()), devices[0] if devices else None)
        for device in devices:
            if device.description() == self.device_name:
                return device
        for device in devices:
            if bytes(device.id().data()).decode("utf-8", "replace") == self.device_name:
                return device
        return None

    # -- calls ---------------------------------------------------------------------------

    @property
    def recording(self) -> str:
        """The call being recorded now (or about to be), or ""."""
        return self._next_call or self._call_id

    def prepare(self) -> None:
        """A call is ringing: have QtMultimedia loaded and talking to the sound system by the
        answer, so the first words of the desk's first call are recorded too."""
        self._ensure()

    def start(self, call_id: str) -> bool:
        """Record this call from the chosen microphone; False (and said why) when not."""
        from PySide6.QtMultimedia import QMediaDevices

        self._ensure()
        if self._call_id:
            # The last call's recording is still being closed (or its hang-up never reached
            # us): this one starts as soon as that file is done.
            log.info("call %s waits for the recording of %s to close", call_id, self._call_id)
            self._next_call = call_id
            self._recorder.stop()
            return True
        devices = list(QMediaDevices.audioInputs())
        if not devices and not self.device_name:
            if not self._told_no_inputs:
                self._told_no_inputs = True
                self.problem.emit(
                    self.tr(
                        "No microphone on this computer: the desk does not record calls "
                        "itself; the phone system's recordings are kept. 本机没有麦克风。"
                    )
                )
            log.info("call %s not recorded at the desk: no audio input", call_id)
            return False
        device = self._find(devices)
        if device is None:
            self._trouble(
                call_id,
                self.tr(
                    "Microphone “{0}” (Settings) is not connected: call {1} is not recorded "
                    "at the desk; a recording from the phone system is still kept. Connect it "
                    "or choose another microphone in Settings. "
                    "未找到所选麦克风，本次通话未在坐席端录音。"
                ).format(self.device_name, call_id),
            )
            return False
        self._input.setDevice(device)
        folder = self._folder()
        target = folder / capture_file_name(call_id, now())
        self._recorder.setOutputLocation(QUrl.fromLocalFile(str(target)))
        self._call_id, self._target, self._first_sound = call_id, target, None
        self._device_description = device.description()
        self._device_id = bytes(device.id().data())
        self._recorder.record()
        log.info("recording call %s from %s into %s", call_id, device.description(), target)
        return True

    def stop(self) -> None:
        """The call ended: close its recording (`captured` follows once the file is done)."""
        if self._next_call:
            self._next_call = ""  # it ended before its recording could start
        elif self._recorder is not None and self._call_id:
            self._recorder.stop()

    def release(self, call_id: str) -> None:
        """The call's recording is stored (or another one was): the capture can go."""
        self._starts.pop(call_id, None)
        path = self._files.pop(call_id, None)
        if path is not None:
            path.unlink(missing_ok=True)

    def file_for(self, call_id: str) -> Path | None:
        return self._files.get(call_id)

    def first_sound(self, call_id: str) -> dt.datetime | None:
        """When this desk's capture of the call began (None: not captured here)."""
        return self._starts.get(call_id)

    # -- inside --------------------------------------------------------------------------

    def _ensure(self) -> None:
        if self._recorder is not None:
            return
        from PySide6.QtMultimedia import (
            QAudioInput,
            QMediaCaptureSession,
            QMediaDevices,
            QMediaFormat,
            QMediaRecorder,
        )

        self._devices = QMediaDevices(self)
        self._devices.audioInputsChanged.connect(self._inputs_changed)
        self._session = QMediaCaptureSession(self)
        self._input = QAudioInput(self)
        self._session.setAudioInput(self._input)
        recorder = QMediaRecorder(self)
        media_format = QMediaFormat(QMediaFormat.FileFormat.Wave)
        media_format.setAudioCodec(QMediaFormat.AudioCodec.Wave)  # 16-bit PCM
        recorder.setMediaFormat(media_format)
        recorder.setAudioSampleRate(SAMPLE_RATE)
        recorder.setAudioChannelCount(CHANNELS)
        recorder.durationChanged.connect(self._duration)
        recorder.recorderStateChanged.connect(self._state)
        recorder.errorOccurred.connect(self._error)
        self._session.setRecorder(recorder)
        self._recorder = recorder

    def _folder(self) -> Path:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="agent-desk-capture-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder

    def _duration(self, ms: int) -> None:
        if self._call_id and self._first_sound is None and ms > 0:
            self._first_sound = now() - dt.timedelta(milliseconds=ms)
            self._starts[self._call_id] = self._first_sound
            self.started.emit(self._call_id, self._device_description, self._first_sound)

    def _state(self, state: Any) -> None:
        from PySide6.QtMultimedia import QMediaRecorder

        if state != QMediaRecorder.RecorderState.StoppedState or not self._call_id:
            return
        call_id, target = self._call_id, self._target
        self._call_id, self._target = "", None
        self._closed(call_id, target)
        if self._next_call:
            next_call, self._next_call = self._next_call, ""
            self.start(next_call)

    def _closed(self, call_id: str, target: Path | None) -> None:
        actual = self._recorder.actualLocation()
        path = Path(actual.toLocalFile()) if actual.isLocalFile() else target
        if path is None or not path.is_file():
            log.warning("recording of call %s left no file (%s)", call_id, path)
            return
        if self._first_sound is None:
            path.unlink(missing_ok=True)
            self._trouble(
                call_id,
                self.tr(
                    "Microphone “{0}” gave no sound during call {1}: it is not recorded at the "
                    "desk. 麦克风没有声音。"
                ).format(self._device_description, call_id),
            )
            return
        self._files[call_id] = path
        log.info("recording of call %s closed: %s", call_id, path)
        self.captured.emit(call_id, str(path))

    def _error(self, _error: Any, text: str) -> None:
        call_id = self._call_id or "-"
        self._trouble(call_id, self.tr("Recording of call {0} failed: {1}").format(call_id, text))

    def _inputs_changed(self) -> None:
        from PySide6.QtMultimedia import QMediaDevices

        if not self._call_id:
            return
        present = {bytes(d.id().data()) for d in QMediaDevices.audioInputs()}
        if self._device_id in present:
            return
        heard = self._recorder.duration() / 1000
        self._trouble(
            self._call_id,
            self.tr(
                "Microphone “{0}” was disconnected {1:.0f} s into call {2}: the desk's "
                "recording stops there (what was recorded is kept). 麦克风已断开。"
            ).format(self._device_description, heard, self._call_id),
        )
        self._recorder.stop()

    def _trouble(self, call_id: str, text: str) -> None:
        log.warning("%s", text)
        self.trouble.emit(call_id, text)
