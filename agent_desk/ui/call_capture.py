"""The desk's own recording of a call, with QtMultimedia, when the machine has a microphone
(chosen in Settings): from the answer to the hang-up, into a WAV the recordings store then
converts. Without one, the desk says so and relies on the phone system's recording."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QUrl, Signal

log = logging.getLogger(__name__)


class CallCapture(QObject):
    captured = Signal(str, str)  # call id, file
    problem = Signal(str)

    def __init__(self, device_name: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.device_name = device_name
        self._folder = Path(tempfile.mkdtemp(prefix="agent-desk-capture-"))
        # QtMultimedia is loaded at the first answered call, not with the desk.
        self._session: Any = None
        self._recorder: Any = None
        self._call_id = ""

    @staticmethod
    def inputs() -> list[str]:
        from PySide6.QtMultimedia import QMediaDevices

        return [device.description() for device in QMediaDevices.audioInputs()]

    def available(self) -> bool:
        return bool(self.inputs())

    def start(self, call_id: str) -> bool:
        from PySide6.QtMultimedia import (
            QAudioInput,
            QMediaCaptureSession,
            QMediaDevices,
            QMediaFormat,
            QMediaRecorder,
        )

        devices = QMediaDevices.audioInputs()
        if not devices:
            return False  # no microphone: the phone system's recording is the record
        device = next(
            (d for d in devices if d.description() == self.device_name),
            QMediaDevices.defaultAudioInput(),
        )
        session = QMediaCaptureSession(self)
        session.setAudioInput(QAudioInput(device, self))
        recorder = QMediaRecorder(self)
        media_format = QMediaFormat(QMediaFormat.FileFormat.Wave)
        media_format.setAudioCodec(QMediaFormat.AudioCodec.Wave)
        recorder.setMediaFormat(media_format)
        target = self._folder / f"{call_id}.wav"
        recorder.setOutputLocation(QUrl.fromLocalFile(str(target)))
        session.setRecorder(recorder)
        recorder.errorOccurred.connect(
            lambda _error, text: self.problem.emit(f"recording {call_id}: {text}")
        )
        recorder.recorderStateChanged.connect(lambda state: self._state(call_id, state, target))
        self._session, self._recorder, self._call_id = session, recorder, call_id
        recorder.record()
        log.info("recording call %s from %s", call_id, device.description())
        return True

    def stop(self) -> None:
        if self._recorder is not None:
            self._recorder.stop()

    def _state(self, call_id: str, state: Any, target: Path) -> None:
        from PySide6.QtMultimedia import QMediaRecorder

        if state == QMediaRecorder.RecorderState.StoppedState and target.exists():
            self.captured.emit(call_id, str(target))
