"""Calls at this desk, composed: call sources → CallController → customer and call panels,
and back into the session the controller records. The main window only places the widgets
and routes its actions here."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from agent_desk.core.calls import CallAnswered, CallEnded, CallState, WrapUpPolicy
from agent_desk.core.coaching import Coach
from agent_desk.core.pack_coach import coach_for
from agent_desk.core.scripts import ScriptPack, load_default_pack
from agent_desk.paths import UserPaths
from agent_desk.settings import Settings
from agent_desk.store.desk import DeskConnection
from agent_desk.telephony.cti_bridge import CtiBridge, CtiBridgeError
from agent_desk.telephony.simulator import CallSimulator, SimulatorError
from agent_desk.ui.background import BackgroundOp
from agent_desk.ui.call_capture import CallCapture
from agent_desk.ui.call_controller import CallController
from agent_desk.ui.call_panel import CallPanel
from agent_desk.ui.coaching import CoachedText, warning_payload
from agent_desk.ui.customer_panel import CustomerPanel
from agent_desk.ui.pack_watcher import PackWatcher
from agent_desk.ui.script_panel import ScriptPanel

log = logging.getLogger(__name__)

TALKING = (CallState.TALKING, CallState.HOLD)


class CallWorkspace(QObject):
    problem = Signal(str)  # refused actions, passing trouble and news: the status bar
    notice = Signal(str, str)  # banner text, level ("" text: withdraw it)
    microphone = Signal(str)  # the desk cannot record with its microphone ("": it can again)

    def __init__(self, policy: WrapUpPolicy | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = CallController(policy, self)
        self.customer_panel = CustomerPanel()
        self.call_panel = CallPanel(self.controller.flow)
        self.script_panel = ScriptPanel()
        self.notes_coach = CoachedText(
            self.call_panel.notes, self.call_panel.coaching_warnings, self
        )
        self.packs = PackWatcher(self)
        self.recordings_root: Path | None = None
        self.capture = CallCapture(parent=self)
        # a pack that waits for the call to end: pack, origin, coach
        self._pending_pack: tuple[ScriptPack, str, Coach | None] | None = None
        self.simulator = CallSimulator()
        self.bridge: CtiBridge | None = None
        self._names: dict[int, str] = {}  # customer id -> name, for the call headline
        self._call_customer: dict[str, int] = {}
        self._connect()

    def _connect(self) -> None:
        c, customers, calls = self.controller, self.customer_panel, self.call_panel
        c.changed.connect(self.refresh)
        c.ringing.connect(customers.pop)
        c.ringing.connect(lambda *_: self._call_started())
        c.callFinished.connect(self._finished)
        c.problem.connect(self.problem)
        c.recordingProblem.connect(lambda msg: self.notice.emit(msg, "warning"))
        c.recordingReady.connect(self.store_recording)
        c.flowEvent.connect(self._capture_follows)
        self.capture.started.connect(self._capture_started)
        self.capture.captured.connect(self._captured)
        self.capture.trouble.connect(self._capture_trouble)
        self.capture.problem.connect(self.problem)
        customers.popPainted.connect(self._pop_painted)
        customers.customerIdentified.connect(self._identified)
        customers.problem.connect(self.problem)
        calls.notesChanged.connect(c.save_notes)
        calls.wrapUpChosen.connect(c.choose_wrap_up)
        scripts = self.script_panel
        scripts.promptUsed.connect(
            lambda pid, text: self._record(
                "prompt_used", prompt_id=pid, stage=scripts.current_stage(), text=text
            )
        )
        scripts.promptCopied.connect(
            lambda pid, text: self._record(
                "prompt_copied", prompt_id=pid, stage=scripts.current_stage(), text=text
            )
        )
        scripts.stageChanged.connect(lambda stage: self._record("stage", stage=stage))
        scripts.customerTypeChosen.connect(
            lambda kind: self._record("customer_type", customer_type=kind)
        )
        self.notes_coach.flagged.connect(
            lambda warning: self._record("coaching_warning", **warning_payload(warning))
        )
        self.packs.packFound.connect(self.offer_pack)
        self.packs.problem.connect(self.problem)

    # -- sources -----------------------------------------------------------------------------

    def start_sources(self, settings: Settings, paths: UserPaths) -> list[str]:
        """Start the simulator and the CTI bridge; returns problems for the banner."""
        self.simulator.start(self.controller.deliver)
        self.bridge = CtiBridge(settings.cti_port, settings.cti_token, paths=paths)
        try:
            self.bridge.start(self.controller.deliver)
        except CtiBridgeError as exc:
            self.bridge = None
            log.error("CTI bridge not started: %s", exc)
            return [
                f"{exc}. Calls from the phone system will not reach this desk; change "
                "the CTI port in Settings. The call simulator still works."
            ]
        return []

    def stop(self) -> None:
        self.packs.attach(None)
        self.capture.stop()  # the file is closed and kept in the captures folder
        self.call_panel.save_notes_now()
        self.simulator.stop()
        if self.bridge is not None:
            self.bridge.stop()
            self.bridge = None
        self.controller.shutdown()

    def simulate_ring(self, number: str) -> str | None:
        try:
            return self.simulator.ring(number)
        except SimulatorError as exc:
            self.problem.emit(str(exc))
            return None

    # -- the database ------------------------------------------------------------------------

    def attach(self, connection: DeskConnection | None) -> None:
        database = connection.database if connection else None
        agent = connection.agent if connection else None
        self.controller.attach(database, agent.agent_id if agent else None)
        self.customer_panel.attach(database.sessions if database else None)
        self.packs.attach(database.sessions if database else None)
        self.script_panel.set_values({"agent_no": agent.agent_no if agent else None})
        if connection is not None and connection.unfinished is not None:
            self._restore(connection)

    def _restore(self, connection: DeskConnection) -> None:
        unfinished = connection.unfinished
        assert unfinished is not None
        if self.controller.flow.active is not None:
            return  # already on a call in this run: nothing was lost
        if not unfinished.answered:
            # It was still ringing when the desk stopped: the caller is long gone.
            self.controller.close_abandoned(unfinished.call_id)
            return
        self.controller.restore(unfinished)
        self.call_panel.refresh()
        self.call_panel.restore_notes(unfinished.notes)
        if unfinished.customer_id is not None:
            self.customer_panel.show_customer(unfinished.customer_id, unfinished.call_id)
        self.notice.emit(
            self.tr(
                "Call {0} from {1} was still open when the desk stopped: it is back on screen "
                "with its notes. 已恢复未完成的通话。"
            ).format(unfinished.call_id, unfinished.number),
            "info",
        )

    # -- script packs ------------------------------------------------------------------------

    def offer_pack(self, pack: ScriptPack, origin: str, coach: Coach | None = None) -> None:
        """A pack to use: at once between calls, never in the middle of one (unless the
        desk has none yet)."""
        if self.controller.flow.active is not None and self.script_panel.pack is not None:
            self._pending_pack = (pack, origin, coach)
            log.info("script pack %s waits for the current call to end", origin)
            return
        self._pending_pack = None
        self.script_panel.set_pack(pack, origin)
        self.notes_coach.set_coach(coach or coach_for(pack))
        self.problem.emit(self.tr("Script pack {0} in use · 话术包已更新").format(origin))
        log.info("script pack %s in use", origin)

    def load_default_pack(self) -> None:
        """The pack the desk ships with, until the database names another (off the GUI
        thread: parsing, validating and building its coach is not start-up work)."""

        def load() -> tuple[ScriptPack, Coach]:
            pack = load_default_pack()
            return pack, coach_for(pack)

        def loaded(found: tuple[ScriptPack, Coach]) -> None:
            pack, coach = found
            if self.script_panel.pack is None:  # the database's pack came first: it wins
                self.offer_pack(pack, f"{pack.pack_id} {pack.version} (built in)", coach)

        BackgroundOp(
            self,
            load,
            loaded,
            lambda exc: self.problem.emit(f"default script pack not loaded: {exc}"),
        ).start()

    def _record(self, kind: str, **payload: object) -> None:
        call = self.controller.flow.active
        if call is not None:
            self.controller.record(call.call_id, kind, **payload)

    # -- reacting ----------------------------------------------------------------------------

    def refresh(self) -> None:
        call = self.controller.flow.active
        if call is not None and call.state is CallState.WRAP_UP:
            self.script_panel.show_stage("closing")
        name = ""
        if call is not None and call.call_id in self._call_customer:
            name = self._names.get(self._call_customer[call.call_id], "")
        self.call_panel.refresh(name)

    def store_recording(self, call_id: str, path: str) -> None:
        """Convert and attach a finished call's recording, off the GUI thread; a bad file is
        a note on the session and a message, never a broken session."""
        recorder, sessions = self.controller.recorder, self.customer_panel.sessions
        root = self.recordings_root
        if recorder is None or sessions is None or root is None:
            return

        from agent_desk.audio.attach import Attached, attach_call_recording

        # The desk's own capture begins at its first sound, a moment after the answer.
        own = self.capture.file_for(call_id) == Path(path)
        began = self.capture.first_sound(call_id) if own else None

        def run() -> Attached:
            recorder.flush()  # the session row must be there before the recording is
            return attach_call_recording(sessions, call_id, Path(path), root, recorded_from=began)

        def stored(done: Attached) -> None:
            self.capture.release(call_id)  # stored, or the phone system's copy was
            self.problem.emit(
                self.tr("Recording of {0} stored ({1:.0f} s)").format(
                    call_id, done.info.duration_ms / 1000
                )
            )

        def failed(exc: Exception) -> None:
            self.controller.record(call_id, "recording_failed", reason=str(exc))
            kept = self.tr(" (the desk's recording is kept at {0})").format(path) if own else ""
            self.problem.emit(
                self.tr("Recording of {0} not stored: {1}").format(call_id, exc) + kept
            )

        BackgroundOp(self, run, stored, failed).start()

    def _capture_follows(self, event: object) -> None:
        """The desk's own recording runs from the answer to the hang-up (a call restored
        after a restart is recorded from there, if it is still being talked)."""
        if isinstance(event, CallAnswered):
            call = self.controller.flow.active
            if call is not None and call.call_id == event.call_id and call.state in TALKING:
                self.capture.start(event.call_id)
        elif isinstance(event, CallEnded) and self.capture.recording == event.call_id:
            self.capture.stop()

    def _capture_started(self, call_id: str, device: str, at: dt.datetime) -> None:
        self.controller.record_at(call_id, "recording_started", at, device=device)
        self.microphone.emit("")

    def _captured(self, call_id: str, path: str) -> None:
        if not self.controller.set_recording(call_id, path):
            self.capture.release(call_id)  # the phone system's recording is stored instead

    def _capture_trouble(self, call_id: str, text: str) -> None:
        if call_id != "-":  # "-": QtMultimedia complained between calls
            self.controller.record(call_id, "recording_problem", reason=text)
        self.microphone.emit(text)

    def _call_started(self) -> None:
        # The screen pop is on its way from the database: prepare the prompts meanwhile,
        # after the ring has been handed to it.
        QTimer.singleShot(0, self.script_panel.new_call)
        self.notes_coach.reset()

    def _identified(self, call_id: str, customer_id: int) -> None:
        self._call_customer[call_id] = customer_id
        result = self.customer_panel.result
        if result is not None and result.pop is not None:
            self._names[customer_id] = result.pop.customer.name
            products = result.pop.products
            values = {
                "customer_name": result.pop.customer.name,
                "product": products[0].product if products else None,
            }
            # After the record is painted: the operator reads the caller first, and the
            # prompts re-render a moment later with the name in them.
            QTimer.singleShot(0, lambda: self.script_panel.set_values(values))
        self.controller.set_customer(call_id, customer_id)
        QTimer.singleShot(0, self.refresh)

    def _pop_painted(self, call_id: str, customer_id: int, matches: int, ms: float) -> None:
        if call_id:
            # While it rings, after the caller's record is on screen: the microphone, so the
            # desk's recording starts with the first word of the answer.
            QTimer.singleShot(0, self.capture.prepare)
            self.controller.record(
                call_id,
                "screen_pop",
                ms=round(ms, 2),
                customer_id=customer_id or None,
                matches=matches,
            )
        log.info(
            "screen pop for %s painted in %.1f ms (%d match(es))", call_id or "search", ms, matches
        )
        if customer_id and self.customer_panel.result and self.customer_panel.result.pop:
            self._names[customer_id] = self.customer_panel.result.pop.customer.name
            self.refresh()

    def _finished(self, call_id: str) -> None:
        self._call_customer.pop(call_id, None)
        if len(self._names) > 200:  # a shift's worth of names is plenty: keep memory flat
            self._names.clear()
        active = self.controller.flow.active
        if active is None or active.state is CallState.OFFERED:
            self.customer_panel.clear()
        if active is None and self._pending_pack is not None:
            self.offer_pack(*self._pending_pack)
