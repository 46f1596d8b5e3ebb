"""The desk's main window: composes the panels and wires their signals; no business rule
lives here (those are in core/ and store/)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from agent_desk.core.agent_state import AgentState
from agent_desk.core.roles import AgentIdentity, Capability
from agent_desk.paths import UserPaths
from agent_desk.settings import Settings, resolve_db_url, save_settings
from agent_desk.store.desk import DeskConnection, connect_desk
from agent_desk.ui.actions import create_actions
from agent_desk.ui.agent_bar import AgentBar
from agent_desk.ui.background import BackgroundOp
from agent_desk.ui.message_banner import MessageBanner
from agent_desk.ui.settings_dialog import SettingsDialog

log = logging.getLogger(__name__)

# (object name, title, empty-state text, area, capability that shows it)
DOCKS = (
    (
        "customerDock",
        "Customer · 客户",
        "No call yet. When a call rings, the caller's record and full history appear here.",
        Qt.DockWidgetArea.LeftDockWidgetArea,
        Capability.TAKE_CALLS,
    ),
    (
        "scriptDock",
        "Scripts · 话术",
        "The prompts for the current stage of the call appear here.",
        Qt.DockWidgetArea.RightDockWidgetArea,
        None,
    ),
    (
        "complaintDock",
        "Complaint · 投诉",
        "During a call, the complaint form opens here, filled in from the caller's record.",
        Qt.DockWidgetArea.BottomDockWidgetArea,
        Capability.TAKE_CALLS,
    ),
)


class MainWindow(QMainWindow):
    connected = Signal()  # the database is open and the agent known (or the problem shown)

    def __init__(
        self,
        settings: Settings,
        paths: UserPaths,
        db_override: str | None,
        notices: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setAccessibleName("mainWindow")
        self.setWindowTitle(self.tr("Agent Desk · 坐席工作台"))
        self.resize(1280, 800)
        self.settings, self.paths, self._db_override = settings, paths, db_override
        self.connection: DeskConnection | None = None
        self._notices = tuple(notices)  # start-up problems that outlive a reconnect
        self.connecting = False

        self.actions_by_name = create_actions(self)
        self.agent_bar = AgentBar(self)
        self.banner = MessageBanner(self)
        self.call_strip = QLabel(self.tr("No active call · 当前无通话"), self)
        self.call_strip.setObjectName("callStrip")
        self.db_status = QLabel(self)
        self.db_status.setObjectName("databaseStatus")
        self.db_status.setAccessibleName("databaseStatus")
        self.docks = {
            name: self._make_dock(name, title, text, area) for name, title, text, area, _ in DOCKS
        }

        self._build_central()
        self._build_menus_and_toolbar()
        # The caller's record is what the operator reads most: give it the room.
        self.resizeDocks(
            [self.docks["customerDock"], self.docks["scriptDock"]],
            [520, 380],
            Qt.Orientation.Horizontal,
        )
        self.statusBar().addPermanentWidget(self.db_status)
        self._connect_signals()
        self._apply_identity(None)

    @property
    def db_url(self) -> str:
        return resolve_db_url(self.settings, self._db_override, self.paths)

    # -- composition ---------------------------------------------------------------------

    def _build_central(self) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(self.call_strip)
        layout.addStretch(1)
        self.setCentralWidget(central)

    def _make_dock(self, name: str, title: str, text: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(self.tr(title), self)
        dock.setObjectName(name)
        placeholder = QLabel(self.tr(text), dock)
        placeholder.setObjectName(f"{name}Empty")
        placeholder.setProperty("emptyState", True)
        placeholder.setWordWrap(True)
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        dock.setWidget(placeholder)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_menus_and_toolbar(self) -> None:
        a = self.actions_by_name
        desk = self.menuBar().addMenu(self.tr("&Desk · 坐席"))
        desk.addActions([a["ready"], a["notReady"]])
        desk.addSeparator()
        desk.addActions([a["settings"], a["reconnect"], a["openLog"]])
        desk.addSeparator()
        desk.addAction(a["quit"])
        view = self.menuBar().addMenu(self.tr("&View · 视图"))
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        toolbar = QToolBar(self.tr("Agent"), self)
        toolbar.setObjectName("agentToolbar")
        toolbar.setMovable(False)
        toolbar.addWidget(self.agent_bar)
        toolbar.addSeparator()
        toolbar.addActions([a["ready"], a["notReady"]])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

    def _connect_signals(self) -> None:
        a = self.actions_by_name
        a["ready"].triggered.connect(lambda: self.agent_bar.request(AgentState.READY))
        a["notReady"].triggered.connect(lambda: self.agent_bar.request(AgentState.NOT_READY))
        a["settings"].triggered.connect(self.open_settings)
        a["reconnect"].triggered.connect(self.connect_database)
        a["openLog"].triggered.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.paths.log_dir)))
        )
        a["quit"].triggered.connect(self.close)
        self.agent_bar.problem.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.agent_bar.stateChanged.connect(
            lambda state: log.info("agent %s is now %s", self.settings.agent_no, state)
        )
        self.banner.actionRequested.connect(self.open_settings)

    # -- database ------------------------------------------------------------------------

    def connect_database(self) -> None:
        """Open the database off the GUI thread; the window stays usable meanwhile."""
        url, agent_no = self.db_url, self.settings.agent_no
        if self.connection is not None:
            self.connection.database.close()
            self.connection = None
        self._apply_identity(None)
        self.connecting = True
        self.actions_by_name["reconnect"].setEnabled(False)
        self.db_status.setText(self.tr("Connecting…"))
        self.statusBar().showMessage(self.tr("Opening the database…"))
        BackgroundOp(
            self, lambda: connect_desk(url, agent_no), self._on_connected, self._on_connect_failed
        ).start()

    def _on_connected(self, connection: DeskConnection) -> None:
        self.connection, self.connecting = connection, False
        self.actions_by_name["reconnect"].setEnabled(True)
        database = connection.database
        mode = "" if database.writable else self.tr(" · read-only")
        self.db_status.setText(
            f"{database.describe()} · schema {database.status.code_revision}{mode}"
        )
        self.statusBar().clearMessage()
        self._apply_identity(connection.agent)
        if connection.problems:
            self.banner.show_message(
                "\n".join(connection.problems), "warning", self.tr("Settings…")
            )
        else:
            self.banner.clear()
        log.info("desk on %s as agent %s", database.describe(), self.settings.agent_no)
        self.connected.emit()

    def _on_connect_failed(self, error: Exception) -> None:
        self.connecting = False
        self.actions_by_name["reconnect"].setEnabled(True)
        self.db_status.setText(self.tr("No database"))
        self.statusBar().clearMessage()
        self.banner.show_message(
            self.tr(
                "{0}\nCheck the database URL in Settings (Ctrl+,), then reconnect "
                "(Ctrl+R). Nothing has been lost."
            ).format(error),
            "error",
            self.tr("Settings…"),
        )
        log.error("cannot open the database: %s", error)
        self.connected.emit()

    # -- identity and role ---------------------------------------------------------------

    def _apply_identity(self, identity: AgentIdentity | None) -> None:
        """The role decides which panels and actions the window offers."""
        self.agent_bar.set_identity(identity)
        takes_calls = identity is not None and identity.can(Capability.TAKE_CALLS)
        for name, _title, _text, _area, capability in DOCKS:
            allowed = identity is not None and (capability is None or identity.can(capability))
            self.docks[name].setVisible(allowed)
            self.docks[name].toggleViewAction().setEnabled(allowed)
        for action in ("ready", "notReady"):
            self.actions_by_name[action].setEnabled(takes_calls)
        if not takes_calls and self.agent_bar.state is AgentState.READY:
            self.agent_bar.request(AgentState.NOT_READY)
        self.call_strip.setVisible(takes_calls)

    @property
    def identity(self) -> AgentIdentity | None:
        return self.connection.agent if self.connection else None

    # -- settings ------------------------------------------------------------------------

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, str(self.paths.default_sqlite_file), self)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.result_settings))
        dialog.open()

    def apply_settings(self, new: Settings | None) -> None:
        if new is None or new == self.settings:
            return
        reconnect = (new.db_url, new.agent_no) != (self.settings.db_url, self.settings.agent_no)
        save_settings(new, self.paths)
        self.settings = new
        self.statusBar().showMessage(self.tr("Settings saved"), 4000)
        if reconnect:
            self.connect_database()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.connection is not None:
            self.connection.database.close()
        super().closeEvent(event)

    def action(self, name: str) -> QAction:
        return self.actions_by_name[name]
