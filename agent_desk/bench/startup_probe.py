"""Child process of `agent-desk bench startup`: launch the desk, report when the main
window is first painted and when the database is connected, then exit."""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QEvent, QObject


class _FirstPaint(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.painted_at: float | None = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.painted_at is None and event.type() == QEvent.Type.Paint:
            self.painted_at = time.monotonic()
        return False


def main() -> int:
    from agent_desk.app import application, launch

    app = application(sys.argv)
    probe = _FirstPaint()
    app.installEventFilter(probe)
    window = launch(sys.argv)
    connected_at: list[float] = []
    opened: list[bool] = []

    def connected() -> None:
        connected_at.append(time.monotonic())
        # Judged here: quitting closes the window (Qt 6.11), and with it the database.
        opened.append(window.connection is not None)
        app.quit()

    window.connected.connect(connected)
    if not connected_at:
        app.exec()
    while probe.painted_at is None:
        app.processEvents()
    ok = all(opened)
    print(f"shown {probe.painted_at:.6f} connected {connected_at[0]:.6f} ok {int(ok)}", flush=True)
    window.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
