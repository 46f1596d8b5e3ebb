"""The desk's main window: places the panels, routes its actions and wires signals; no
business rule lives here (those are in core/ and store/)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QThreadPool, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QScrollArea,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from agent_desk.core.calls import CallState
from agent_desk.core.roles import AgentIdentity, Capability
from agent_desk.core.timeline import parse_session_link
from agent_desk.paths import UserPaths
from agent_desk.settings import Settings, recordings_root, resolve_db_url, save_settings
from agent_desk.store.desk import DeskConnection, connect_desk
from agent_desk.ui.actions import create_actions
from agent_desk.ui.agent_bar import AgentBar
from agent_desk.ui.background import BackgroundOp
from agent_desk.ui.call_workspace import CallWorkspace
from agent_desk.ui.callbacks_panel import CallbacksPanel
from agent_desk.ui.complaint_desk import ComplaintDesk
from agent_desk.ui.complaint_dialog import ComplaintDialog
from agent_desk.ui.complaint_form import ComplaintForm
from agent_desk.ui.message_banner import MessageBanner
from agent_desk.ui.settings_dialog import SettingsDialog

if TYPE_CHECKING:  # the windows themselves are loaded when first opened, not at start-up
    from agent_desk.ui.pack_manager import PackManager
    from agent_desk.ui.session_replay import SessionReplay

log = logging.getLogger(__name__)

BACKGROUND_GRACE_MS = 5000


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
        self.resize(1360, 860)
        self.settings, self.paths, self._db_override = settings, paths, db_override
        self.connection: DeskConnection | None = None
        self._notices = list(notices)  # start-up problems that outlive a reconnect
        self.connecting = False
        self.pack_manager: PackManager | None = None
        self.replay: SessionReplay | None = None
        self._pending_link: str | None = None  # --open agent-desk://session/…, once connected
        self._microphone_warning = ""  # the banner's text while it is about the microphone

        self.actions_by_name = create_actions(self)
        self.agent_bar = AgentBar(self)
        self.banner = MessageBanner(self)
        self.calls = CallWorkspace(settings.wrap_up_policy(), parent=self)
        self.calls.recordings_root = recordings_root(settings, paths)
        self.calls.capture.device_name = settings.audio_input
        self.calls.capture.folder = paths.data_dir / "captures"  # until stored
        self.db_status = QLabel(self)
        self.db_status.setObjectName("databaseStatus")
        self.db_status.setAccessibleName("databaseStatus")
        self.cti_status = QLabel(self)
        self.cti_status.setObjectName("ctiStatus")
        self.outbox_status = QLabel(self)
        self.outbox_status.setObjectName("outboxStatus")
        self.complaint_form = ComplaintForm(
            settings.complaint_category_choices(),
            settings.complaint_departments,
            settings.repeat_window_days,
        )
        self.complaints = ComplaintDesk(
            self.complaint_form, paths, settings.repeat_window_days, self
        )
        self.callbacks = CallbacksPanel()
        self.docks = {
            "customerDock": self._dock(
                "customerDock",
                self.tr("Customer · 客户"),
                self.calls.customer_panel,
                Qt.DockWidgetArea.LeftDockWidgetArea,
            ),
            "scriptDock": self._dock(
                "scriptDock",
                self.tr("Scripts · 话术"),
                self.calls.script_panel,
                Qt.DockWidgetArea.RightDockWidgetArea,
            ),
            "complaintDock": self._dock(
                "complaintDock",
                self.tr("Complaint · 投诉"),
                self._scrolling(self.complaint_form),
                Qt.DockWidgetArea.BottomDockWidgetArea,
            ),
            "callbacksDock": self._dock(
                "callbacksDock",
                self.tr("Callbacks due · 待回访"),
                self.callbacks,
                Qt.DockWidgetArea.BottomDockWidgetArea,
            ),
        }
        # Which role sees which dock (None: every signed-in role).
        self._dock_capability = {
            "customerDock": Capability.TAKE_CALLS,
            "scriptDock": None,
            "complaintDock": Capability.TAKE_CALLS,
            "callbacksDock": Capability.TAKE_CALLS,
        }
        self._build_central()
        self._build_menus_and_toolbar()
        # The caller's record is what the operator reads most: give it the room.
        self.resizeDocks(
            [self.docks["customerDock"], self.docks["scriptDock"]],
            [620, 330],
            Qt.Orientation.Horizontal,
        )
        self.tabifyDockWidget(self.docks["complaintDock"], self.docks["callbacksDock"])
        self.docks["complaintDock"].raise_()
        self.statusBar().addPermanentWidget(self.outbox_status)
        self.statusBar().addPermanentWidget(self.cti_status)
        self.statusBar().addPermanentWidget(self.db_status)
        self._connect_signals()
        self._apply_identity(None)

    @property
    def db_url(self) -> str:
        return resolve_db_url(self.settings, self._db_override, self.paths)

    @property
    def identity(self) -> AgentIdentity | None:
        return self.connection.agent if self.connection else None

    def action(self, name: str) -> QAction:
        return self.actions_by_name[name]

    # -- composition ---------------------------------------------------------------------

    def _build_central(self) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(self.calls.call_panel, 1)
        self.setCentralWidget(central)

    def _scrolling(self, widget: QWidget) -> QScrollArea:
        area = QScrollArea(self)
        area.setWidgetResizable(True)
        area.setWidget(widget)
        return area

    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_menus_and_toolbar(self) -> None:
        a = self.actions_by_name
        call = self.menuBar().addMenu(self.tr("&Call · 通话"))
        call.addActions([a["answer"], a["hold"], a["end"], a["finishWrapUp"]])
        call.addSeparator()
        call.addActions([a["ready"], a["notReady"]])
        call.addSeparator()
        call.addActions([a["searchCustomer"], a["newComplaint"], a["simulateCall"]])
        tools = self.menuBar().addMenu(self.tr("&Tools · 工具"))
        tools.addActions([a["sessionReplay"], a["packManager"]])
        desk = self.menuBar().addMenu(self.tr("&Desk · 坐席"))
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
        toolbar.addActions([a["answer"], a["hold"], a["end"], a["finishWrapUp"]])
        toolbar.addSeparator()
        toolbar.addActions([a["ready"], a["notReady"]])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

    def _connect_signals(self) -> None:
        a, controller = self.actions_by_name, self.calls.controller
        a["answer"].triggered.connect(controller.answer)
        a["hold"].triggered.connect(controller.toggle_hold)
        a["end"].triggered.connect(controller.end)
        a["finishWrapUp"].triggered.connect(controller.finish_wrap_up)
        a["ready"].triggered.connect(controller.ready)
        a["notReady"].triggered.connect(controller.not_ready)
        a["searchCustomer"].triggered.connect(self._focus_search)
        a["simulateCall"].triggered.connect(self.ask_simulated_call)
        a["packManager"].triggered.connect(self.open_pack_manager)
        a["sessionReplay"].triggered.connect(lambda: self.open_replay())
        a["newComplaint"].triggered.connect(self.open_complaint_form)
        self.complaints.submitted.connect(self._complaint_submitted)
        self.complaints.outboxChanged.connect(self._show_outbox)
        self.complaints.problem.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.calls.customer_panel.record.complaintActivated.connect(self.open_complaint)
        self.callbacks.openCustomer.connect(
            lambda cid: self.calls.customer_panel.show_customer(cid, self._current_call_id())
        )
        a["settings"].triggered.connect(self.open_settings)
        a["reconnect"].triggered.connect(self.connect_database)
        a["openLog"].triggered.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.paths.log_dir)))
        )
        a["quit"].triggered.connect(self.close)
        controller.changed.connect(self._calls_changed)
        self.calls.problem.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.calls.notice.connect(self._notice)
        self.calls.microphone.connect(self._microphone)
        self.banner.actionRequested.connect(self.open_settings)

    # -- calls ---------------------------------------------------------------------------

    def start_call_sources(self) -> None:
        self.calls.load_default_pack()
        problems = self.calls.start_sources(self.settings, self.paths)
        self._notices.extend(problems)
        bridge = self.calls.bridge
        self.cti_status.setText(bridge.describe() if bridge else self.tr("CTI bridge off"))
        if problems:
            self.banner.show_message("\n".join(self._notices), "warning", self.tr("Settings…"))

    def ask_simulated_call(self) -> None:
        number, ok = QInputDialog.getText(
            self, self.tr("Simulate incoming call · 模拟来电"), self.tr("Caller's number 来电号码:")
        )
        if ok and number.strip():
            self.calls.simulate_ring(number.strip())

    def _focus_search(self) -> None:
        self.docks["customerDock"].show()
        self.calls.customer_panel.search.box.setFocus()
        self.calls.customer_panel.search.box.selectAll()

    def _calls_changed(self) -> None:
        flow = self.calls.controller.flow
        self.agent_bar.show_state(flow.agent_state, flow.pending_not_ready)
        self._enable_call_actions()

    def _enable_call_actions(self) -> None:
        takes_calls = self.identity is not None and self.identity.can(Capability.TAKE_CALLS)
        call = self.calls.controller.flow.active
        state = call.state if call else None
        a = self.actions_by_name
        a["answer"].setEnabled(takes_calls and state is CallState.RINGING)
        a["hold"].setEnabled(takes_calls and state in (CallState.TALKING, CallState.HOLD))
        a["end"].setEnabled(takes_calls and state in (CallState.TALKING, CallState.HOLD))
        a["finishWrapUp"].setEnabled(takes_calls and state is CallState.WRAP_UP)
        for name in ("ready", "notReady", "simulateCall"):
            a[name].setEnabled(takes_calls)

    def _notice(self, text: str, level: str) -> None:
        if text:
            self.banner.show_message(text, level)
        elif self.banner.property("level") == "warning" and not self._notices:
            self.banner.clear()

    def _microphone(self, text: str) -> None:
        """The microphone chosen in Settings is missing or went away: a warning with the way
        to Settings; withdrawn once the desk records again."""
        if text:
            self._microphone_warning = text
            self.banner.show_message(text, "warning", self.tr("Settings…"))
        elif self._microphone_warning and self.banner.text() == self._microphone_warning:
            self._microphone_warning = ""
            self.banner.clear()

    # -- database ------------------------------------------------------------------------

    def connect_database(self) -> None:
        """Open the database off the GUI thread; the window stays usable meanwhile."""
        url, agent_no = self.db_url, self.settings.agent_no
        self.calls.attach(None)
        self.complaints.attach(None, None)
        self.callbacks.attach(None, None, everyone=False)
        if self.replay is not None:  # it holds the old database's sessions too
            self.replay.close()
            self.replay.deleteLater()
            self.replay = None
        if self.pack_manager is not None:  # it holds the old database's sessions
            self.pack_manager.close()
            self.pack_manager.deleteLater()
            self.pack_manager = None
        self._close_database()
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
        problems = [*self._notices, *connection.problems]
        if problems:
            self.banner.show_message("\n".join(problems), "warning", self.tr("Settings…"))
        else:
            self.banner.clear()
        self.calls.attach(connection)
        agent = connection.agent
        sessions = database.sessions if database.writable and agent is not None else None
        self.complaints.attach(sessions, agent.agent_id if agent else None)
        self.callbacks.attach(
            sessions,
            agent.agent_id if agent else None,
            everyone=agent is not None and agent.can(Capability.REPLAY_SESSIONS),
        )
        log.info("desk on %s as agent %s", database.describe(), self.settings.agent_no)
        if self._pending_link and connection.agent is not None:
            link, self._pending_link = self._pending_link, None
            self.open_replay(link)
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
        for name, dock in self.docks.items():
            capability = self._dock_capability[name]
            allowed = identity is not None and (capability is None or identity.can(capability))
            dock.setVisible(allowed)
            dock.toggleViewAction().setEnabled(allowed)
        takes_calls = identity is not None and identity.can(Capability.TAKE_CALLS)
        self.calls.call_panel.setVisible(takes_calls)
        self.actions_by_name["searchCustomer"].setEnabled(takes_calls)
        self.actions_by_name["newComplaint"].setEnabled(takes_calls)
        self.actions_by_name["sessionReplay"].setEnabled(identity is not None)
        self.actions_by_name["packManager"].setEnabled(
            identity is not None and identity.can(Capability.MANAGE_PACKS)
        )
        self._enable_call_actions()

    # -- complaints ----------------------------------------------------------------------

    def open_complaint_form(self) -> bool:
        """The complaint form for the customer on screen (a call's, or one found by search)."""
        result = self.calls.customer_panel.result
        if result is None or result.pop is None:
            self.statusBar().showMessage(
                self.tr("Show the customer first (a call, or Ctrl+F) · 请先确认客户"), 8000
            )
            return False
        pop = result.pop
        call = self.calls.controller.flow.active
        number = result.e164 or (pop.customer.phones[0] if pop.customer.phones else "")
        self.complaint_form.start(
            pop.customer.id, pop.customer.name, pop.products, number, call.call_id if call else None
        )
        self.docks["complaintDock"].show()
        self.docks["complaintDock"].raise_()
        self.calls.script_panel.show_stage("complaint")
        return True

    def _complaint_submitted(self, call_id: str, reference: str, promised: str) -> None:
        if call_id:
            self.calls.controller.record(
                call_id, "complaint_submitted", reference=reference, promised_reply_at=promised
            )
        self.callbacks.refresh()
        result = self.calls.customer_panel.result
        if result is not None and result.pop is not None:  # the new promise shows at once
            self.calls.customer_panel.show_customer(result.pop.customer.id, call_id)

    def open_complaint(self, complaint_id: int) -> ComplaintDialog | None:
        connection, identity = self.connection, self.identity
        if connection is None or not connection.database.writable:
            return None
        dialog = ComplaintDialog(
            connection.database.sessions,
            complaint_id,
            identity.agent_id if identity else None,
            self,
        )
        dialog.changed.connect(lambda _cid: self._complaint_changed())
        dialog.open()
        return dialog

    def _complaint_changed(self) -> None:
        self.callbacks.refresh()
        result = self.calls.customer_panel.result
        if result is not None and result.pop is not None:
            self.calls.customer_panel.show_customer(result.pop.customer.id, self._current_call_id())

    def _show_outbox(self, waiting: int, error: str) -> None:
        if waiting:
            self.outbox_status.setText(self.tr("Outbox 待发送: {0}").format(waiting))
            self.outbox_status.setToolTip(error or self.tr("Sent when the database is back"))
        else:
            self.outbox_status.clear()

    def _current_call_id(self) -> str:
        call = self.calls.controller.flow.active
        return call.call_id if call else ""

    # -- team leads ----------------------------------------------------------------------

    def open_replay(self, link: str | None = None) -> SessionReplay | None:
        """The replay window; with `agent-desk://session/ID?t=S`, at that moment."""
        identity, connection = self.identity, self.connection
        if identity is None or connection is None:
            self._pending_link = link
            return None
        if self.replay is None:
            # Audio decoding (numpy, ffmpeg glue) is only needed by whoever replays.
            from agent_desk.audio.peaks import shared_cache_dir
            from agent_desk.ui.session_replay import SessionReplay

            root = recordings_root(self.settings, self.paths)
            self.replay = SessionReplay(
                connection.database.sessions,
                identity,
                root,
                shared_cache_dir(root),
                self.calls.script_panel.pack,
                self,
            )
        self.replay.pack = self.calls.script_panel.pack
        self.replay.show()
        self.replay.raise_()
        if link:
            try:
                session_id, at_ms = parse_session_link(link)
            except ValueError as exc:
                self.statusBar().showMessage(str(exc), 8000)
            else:
                self.replay.open_session(session_id, at_ms)
        return self.replay

    # -- trainers ------------------------------------------------------------------------

    def open_pack_manager(self) -> PackManager | None:
        identity, connection = self.identity, self.connection
        if identity is None or connection is None or not identity.can(Capability.MANAGE_PACKS):
            return None
        if self.pack_manager is None:
            from agent_desk.ui.pack_manager import PackManager

            writable = connection.database.writable
            self.pack_manager = PackManager(
                connection.database.sessions if writable else None, identity.agent_id, self
            )
            # This desk need not wait for its next poll to use what its trainer published.
            self.pack_manager.published.connect(lambda _name: self.calls.packs.poll())
        self.pack_manager.show()
        self.pack_manager.raise_()
        return self.pack_manager

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
        self.calls.capture.device_name = new.audio_input  # from the next answered call
        port_changed = new.cti_port != self.settings.cti_port
        self.settings = new
        self.statusBar().showMessage(self.tr("Settings saved"), 4000)
        if port_changed:
            self.statusBar().showMessage(
                self.tr("Settings saved; the new CTI port is used from the next start"), 8000
            )
        if reconnect:
            self.connect_database()

    def _close_database(self) -> None:
        if self.connection is not None:
            # Reads still running in the background hold connections: let them finish, so
            # the pool closes every connection rather than leaving them to the collector.
            QThreadPool.globalInstance().waitForDone(BACKGROUND_GRACE_MS)
            self.connection.database.close()
            self.connection = None

    def closeEvent(self, event: QCloseEvent) -> None:
        self.calls.stop()
        self.complaints.close()
        self._close_database()
        super().closeEvent(event)
