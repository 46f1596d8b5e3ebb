from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from agent_desk.app import launch
from agent_desk.ui.main_window import MainWindow

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Loaded now, while no other thread runs: importing QtMultimedia makes Qt warn from inside
# the dynamic loader, and pytest-qt's Python message handler then needs the GIL. Imported
# later by a desk (at its first call), a worker thread holding the GIL and waiting for the
# loader (OpenCC building the coach does) would deadlock the test run.
import PySide6.QtMultimedia  # noqa: F401

LaunchDesk = Callable[..., MainWindow]


@pytest.fixture
def launch_desk(qtbot: QtBot) -> Iterator[LaunchDesk]:
    """Launch a desk through the test seam and wait until it has tried its database."""
    windows: list[MainWindow] = []

    def _launch(*argv: str) -> MainWindow:
        # Port 0: a free port each time, so tests never meet a running desk or each other.
        window = launch(["agent-desk", "--cti-port", "0", *argv])
        qtbot.addWidget(window)
        windows.append(window)
        qtbot.waitUntil(lambda: not window.connecting, timeout=15000)
        return window

    yield _launch
    for window in windows:
        window.close()


def type_text(widget: QWidget, text: str) -> None:
    """Type as a Chinese input method does: the IME commits the text to the focused field.

    (QTest's key clicks only know ASCII; a real operator's 中文 arrives this way.)
    """
    event = QInputMethodEvent()
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)
