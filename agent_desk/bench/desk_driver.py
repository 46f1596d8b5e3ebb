"""Drives a real desk window through whole calls, as a PBX and an operator would: the
ringing event over HTTP to the CTI bridge, then answer, end, wrap-up, ready."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from agent_desk.app import launch
from agent_desk.telephony.client import send_call_event

TIMEOUT_MS = 30_000


class DeskDriver:
    def __init__(self, db_url: str) -> None:
        self.window = launch(["agent-desk", "--db", db_url, "--cti-port", "0"])
        self.app = QApplication.instance()
        self._wait(lambda: not self.window.connecting)
        if self.window.connection is None or self.window.identity is None:
            raise RuntimeError(f"the desk did not open: {self.window.banner.text()}")
        bridge = self.window.calls.bridge
        if bridge is None:
            raise RuntimeError("the desk's CTI bridge did not start")
        self.port, self.token = bridge.port, self.window.settings.cti_token
        self._ids = itertools.count(1)
        self._painted: list[float] = []
        self.window.calls.customer_panel.popPainted.connect(
            lambda _call, _customer, _matches, ms: self._painted.append(ms)
        )

    def call(self, number: str) -> float:
        """One whole call; returns ms from the ringing event's arrival to the pop painted."""
        call_id = f"bench-{next(self._ids)}"
        self._painted.clear()
        send_call_event("ringing", call_id, number, "4008001234", port=self.port, token=self.token)
        self._wait(lambda: bool(self._painted))
        controller = self.window.calls.controller
        controller.answer()
        controller.end()
        controller.choose_wrap_up("enquiry")
        controller.finish_wrap_up()
        recorder = controller.recorder
        if recorder is not None and recorder.pending > 200:
            recorder.flush()  # a real shift never queues this much; keep the bench honest
        return self._painted[0]

    def wait_until(self, done: object) -> None:
        self._wait(done)

    def _wait(self, done: object) -> None:
        assert callable(done)
        if done():
            return
        loop = QEventLoop()
        poll = QTimer()
        # A few ms between checks: a busy loop would hold the GIL against the desk's own
        # threads (database, CTI, waveform decoding) and slow what is being measured.
        poll.setInterval(2)
        poll.timeout.connect(lambda: done() and loop.quit())
        timeout = QTimer()
        timeout.setSingleShot(True)
        timeout.timeout.connect(loop.quit)
        poll.start()
        timeout.start(TIMEOUT_MS)
        loop.exec()
        poll.stop()
        if not done():
            raise TimeoutError("the desk did not get there in time")

    def close(self) -> None:
        self.window.close()
        self.window.deleteLater()
        assert self.app is not None
        self.app.processEvents()
