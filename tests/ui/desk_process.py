"""A whole desk in a process of its own, for tests that need one: QtMultimedia reads the
sound server's microphones once per process, so a desk that is to record from a private
sound server cannot share the test process (whose QtMultimedia has none).

The child (`python -m tests.ui.desk_process DESK_ARGS…`) launches the desk through the test
seam, `agent_desk.app.launch`, waits until it has tried its database and then reports on
stdout, one JSON object a line:

    {"ready": {"port": N, "connected": BOOL, "banner": TEXT}}   once the database was tried
    {"banner": TEXT, "level": LEVEL}                  every banner the operator is shown
    {"status": TEXT}                                  every status-bar message

Qt's own messages go to stderr as Qt prints them, each line tagged with its level
(QT_MESSAGE_PATTERN); `DeskProcess.qt_messages()` reads them back. (Not through a Python
message handler: Qt warns from inside the dynamic loader when QtMultimedia is imported, and
a handler that needs the GIL there deadlocks against any thread that holds the GIL and
waits for the loader, as OpenCC's does when it builds the coach.)

SIGTERM closes the window as the operator would (Desk › Quit). `DeskProcess` is the
parent's side: it starts the child, collects those lines and waits for one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT = 15.0
QT_MESSAGE_PATTERN = "qt-%{type} %{category}: %{message}"
_QT_LINE = re.compile(r"^qt-(\w+) ([^:]*): (.*)$")

Message = dict[str, Any]


class DeskProcess:
    def __init__(self, argv: list[str], env: Mapping[str, str], stderr: Path) -> None:
        self._lines: list[Message] = []
        self._changed = threading.Condition()
        self.stderr_path = stderr
        with stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.ui.desk_process", *argv],
                cwd=ROOT,
                env={**env, "QT_MESSAGE_PATTERN": QT_MESSAGE_PATTERN},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        self._reader = threading.Thread(target=self._read, name="desk-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                message = {"text": raw.decode("utf-8", "replace").rstrip()}
            with self._changed:
                self._lines.append(message)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def messages(self, key: str) -> list[Message]:
        with self._changed:
            return [m for m in self._lines if key in m]

    def wait_for(
        self, what: str, matches: Callable[[Message], bool], timeout: float = 15.0
    ) -> Message:
        """The first line `matches` accepts, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((m for m in self._lines if matches(m)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"the desk never reported {what}; it said {self._lines!r}; "
                        f"stderr: {self.stderr()[-3000:]}"
                    )
                self._changed.wait(left)

    def qt_messages(self) -> list[tuple[str, str, str]]:
        """(level, category, message) for every message Qt printed: "warning", …"""
        lines = (_QT_LINE.match(line) for line in self.stderr().splitlines())
        return [(m[1], m[2], m[3]) for m in lines if m]

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def close(self) -> int:
        """Quit the desk (SIGTERM: the window closes as on Desk › Quit); its exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


# -- the child --------------------------------------------------------------------------------


def _say(message: Message) -> None:
    sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from agent_desk.app import launch

    window = launch(["agent-desk", *argv])
    app = QApplication.instance()
    assert app is not None

    shown = window.banner.show_message

    def show_message(text: str, level: str = "error", action: str | None = None) -> None:
        _say({"banner": text, "level": level})
        shown(text, level, action)

    window.banner.show_message = show_message  # type: ignore[method-assign]

    def status(text: str) -> None:
        if text:
            _say({"status": text})

    window.statusBar().messageChanged.connect(status)

    loop = QEventLoop()

    def connected() -> None:
        if not window.connecting:
            loop.quit()

    poll = QTimer()
    poll.timeout.connect(connected)
    poll.start(10)
    if window.connecting:
        loop.exec()
    poll.stop()
    bridge = window.calls.bridge
    _say(
        {
            "ready": {
                "port": bridge.port if bridge else None,
                "connected": window.connection is not None,
                "banner": window.banner.text(),
            }
        }
    )
    signal.signal(signal.SIGTERM, lambda *_: window.close())
    wake = QTimer()  # Python runs signal handlers between Qt events: give it some
    wake.start(100)
    code = app.exec()
    wake.stop()
    return code


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    raise SystemExit(main(sys.argv[1:]))
