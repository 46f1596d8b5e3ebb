"""Every desk picks up a newly activated script pack within a few seconds, without a
restart: it asks the shared database which pack is active, off the GUI thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core.coaching import Coach
from agent_desk.core.pack_coach import coach_for
from agent_desk.core.scripts import ScriptPack
from agent_desk.store.pack_publishing import current_pack, load_active
from agent_desk.store.packs import ActivePack
from agent_desk.ui.background import BackgroundOp

log = logging.getLogger(__name__)

POLL_MS = 2000  # one indexed one-row query per desk: cheap, and "a few seconds" to pick up


class PackWatcher(QObject):
    # ScriptPack, where from (e.g. "service-etiquette 1.1.0"), its Coach (built here, off the
    # GUI thread: a first coach takes a few hundred ms)
    packFound = Signal(object, str, object)
    problem = Signal(str)

    def __init__(self, parent: QObject | None = None, interval_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.sessions: sessionmaker[Session] | None = None
        self.current: ActivePack | None = None
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    def attach(self, sessions: sessionmaker[Session] | None) -> None:
        self.sessions, self.current = sessions, None
        if sessions is None:
            self._timer.stop()
        else:
            self._timer.start()
            self.poll()

    def poll(self) -> None:
        sessions = self.sessions
        if sessions is None or self._busy:
            return
        self._busy = True
        known = self.current

        def check() -> tuple[ActivePack, ScriptPack, Coach] | None:
            active = current_pack(sessions)
            if active is None or active == known:
                return None
            pack = load_active(sessions, active)
            return active, pack, coach_for(pack)

        BackgroundOp(self, check, self._found, self._failed).start()

    def _found(self, found: tuple[ActivePack, ScriptPack, Coach] | None) -> None:
        self._busy = False
        if found is None:
            return
        active, pack, coach = found
        self.current = active
        log.info("active script pack is now %s %s", active.pack_id, active.version)
        self.packFound.emit(pack, f"{active.pack_id} {active.version}", coach)

    def _failed(self, exc: Exception) -> None:
        self._busy = False
        log.warning("cannot check the active script pack: %s", exc)
        self.problem.emit(f"script pack not checked: {exc}")
