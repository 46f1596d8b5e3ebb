"""Start-up wiring in one place: settings, logging, QApplication, main window.

`launch(argv)` is the test seam: it shows and returns the window without entering the
event loop; `main()` is `launch(sys.argv)` then `exec()`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from importlib import resources

from PySide6.QtWidgets import QApplication

from agent_desk import __version__
from agent_desk.logs import setup_logging
from agent_desk.paths import user_paths
from agent_desk.settings import Settings, SettingsError, load_settings
from agent_desk.ui.main_window import MainWindow

log = logging.getLogger(__name__)
_PROCESS_START = time.perf_counter()


def parse_desk_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="agent-desk", add_help=False)
    parser.add_argument("--db", default=None)
    parser.add_argument("--cti-port", type=int, default=None)
    parser.add_argument("--open", dest="open_link", default=None)
    args, _qt_args = parser.parse_known_args(list(argv)[1:])
    return args


def application(argv: Sequence[str]) -> QApplication:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    app = QApplication(list(argv))
    app.setApplicationName("Agent Desk")
    app.setOrganizationName("Agent Desk")
    app.setApplicationVersion(__version__)
    app.setStyleSheet(
        resources.files("agent_desk.resources")
        .joinpath("styles/desk.qss")
        .read_text(encoding="utf-8")
    )
    return app


def launch(argv: Sequence[str]) -> MainWindow:
    args = parse_desk_args(argv)
    paths = user_paths().ensure()
    log_file = setup_logging(paths)
    app = application(argv)
    notices: list[str] = []
    try:
        settings = load_settings(paths)
    except SettingsError as exc:
        # A broken config file must not stop the desk: run on defaults and say so.
        settings = Settings()
        notices.append(f"{exc}. The desk runs on default settings until they are saved again.")
    if args.cti_port is not None:
        settings.cti_port = args.cti_port
    db_override = args.db or os.environ.get("AGENT_DESK_DB_URL")
    window = MainWindow(settings, paths, db_override, notices)
    window.show()
    window.start_call_sources()
    if window.calls.bridge is not None:
        print(f"agent-desk: {window.calls.bridge.describe()}", flush=True)
    if args.open_link:
        window.open_replay(args.open_link)  # waits for the database, then opens there
    window.connect_database()
    log.info(
        "agent-desk %s started in %.0f ms; log %s",
        __version__,
        (time.perf_counter() - _PROCESS_START) * 1000,
        log_file,
    )
    app.processEvents()
    return window


def main(argv: Sequence[str] | None = None) -> int:
    window = launch(sys.argv if argv is None else argv)
    app = QApplication.instance()
    assert app is not None
    code = app.exec()
    del window
    return code
