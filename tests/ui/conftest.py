from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from pytestqt.qtbot import QtBot

from agent_desk.app import launch
from agent_desk.ui.main_window import MainWindow

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LaunchDesk = Callable[..., MainWindow]


@pytest.fixture
def launch_desk(qtbot: QtBot) -> Iterator[LaunchDesk]:
    """Launch a desk through the test seam and wait until it has tried its database."""
    windows: list[MainWindow] = []

    def _launch(*argv: str) -> MainWindow:
        window = launch(["agent-desk", *argv])
        qtbot.addWidget(window)
        windows.append(window)
        qtbot.waitUntil(lambda: not window.connecting, timeout=15000)
        return window

    yield _launch
    for window in windows:
        window.close()
