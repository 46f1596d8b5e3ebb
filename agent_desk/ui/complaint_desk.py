"""Complaints at this desk: the form's intents carried out off the GUI thread (repeat
check, submit or queue in the local outbox, supervisor hand-off), the outbox sender, and
what the rest of the window hears about it."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core import complaints as rules
from agent_desk.paths import UserPaths
from agent_desk.store.complaints import escalate_now, find_repeat, load_complaint
from agent_desk.store.outbox import OUTBOX_FILE, Outbox, OutboxSender, submit_or_queue
from agent_desk.ui.background import BackgroundOp
from agent_desk.ui.complaint_form import ComplaintForm

log = logging.getLogger(__name__)
REPEAT_CHECK_DELAY_MS = 300


class ComplaintDesk(QObject):
    submitted = Signal(str, str, str)  # call id ("" none), reference, promised reply (ISO)
    outboxChanged = Signal(int, str)  # waiting, last error ("" none)
    problem = Signal(str)
    _sender_status = Signal(int, str)  # from the sender thread

    def __init__(
        self, form: ComplaintForm, paths: UserPaths, window_days: int, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.form = form
        self.window_days = window_days
        self.sessions: sessionmaker[Session] | None = None
        self.agent_id: int | None = None
        self.outbox = Outbox(paths.outbox_dir / OUTBOX_FILE)
        self.sender: OutboxSender | None = None
        self.last_complaint_id: int | None = None  # what a supervisor hand-off escalates
        self._repeat_timer = QTimer(self)
        self._repeat_timer.setSingleShot(True)
        self._repeat_timer.setInterval(REPEAT_CHECK_DELAY_MS)
        self._repeat_timer.timeout.connect(self._check_repeat)
        self._draft: rules.ComplaintDraft | None = None
        form.submitRequested.connect(self.submit)
        form.draftChanged.connect(self._draft_changed)
        form.handOffRequested.connect(self.ask_hand_off)
        self._sender_status.connect(self.outboxChanged)

    # -- wiring ----------------------------------------------------------------------------------

    def attach(self, sessions: sessionmaker[Session] | None, agent_id: int | None) -> None:
        """A (re)connected database: start delivering what waits in the outbox."""
        self.stop_sender()
        self.sessions, self.agent_id = sessions, agent_id
        if sessions is not None:
            self.sender = OutboxSender(
                self.outbox,
                sessions,
                agent_id,
                on_status=lambda st: self._sender_status.emit(st.pending, st.last_error or ""),
            )
        self.outboxChanged.emit(self.outbox.pending(), "")

    def stop_sender(self) -> None:
        if self.sender is not None:
            self.sender.close()
            self.sender = None

    def close(self) -> None:
        self.stop_sender()
        self.outbox.close()

    # -- the form's intents ----------------------------------------------------------------------

    def _draft_changed(self, draft: rules.ComplaintDraft) -> None:
        self._draft = draft
        self._repeat_timer.start()

    def _check_repeat(self) -> None:
        sessions, draft = self.sessions, self._draft
        if sessions is None or draft is None or draft.purchase_id is None:
            self.form.show_repeat(None)
            return

        def run() -> Any:
            with sessions.begin() as session:
                return find_repeat(
                    session, draft.customer_id, draft.purchase_id, draft.category, self.window_days
                )

        BackgroundOp(
            self,
            run,
            lambda found: self.form.show_repeat(found.explanation if found else None),
            lambda exc: log.warning("repeat check failed: %s", exc),
        ).start()

    def submit(self, draft: rules.ComplaintDraft) -> None:
        sessions, outbox, agent_id = self.sessions, self.outbox, self.agent_id
        if sessions is None:
            # No database at all: the outbox keeps it until one is connected.
            key = outbox.put(draft, agent_id)
            self._queued(draft, key)
            return
        BackgroundOp(
            self,
            lambda: submit_or_queue(sessions, outbox, draft, agent_id),
            lambda outcome: self._outcome(draft, outcome),
            self._refused,
        ).start()

    def _outcome(self, draft: rules.ComplaintDraft, outcome: Any) -> None:
        if outcome.sent is None:
            self._queued(draft, outcome.queued_key)
            return
        sent = outcome.sent
        self.last_complaint_id = sent.complaint_id
        promised = draft.promised_reply_at.astimezone() if draft.promised_reply_at else None
        when = promised.strftime("%Y-%m-%d %H:%M") if promised else "—"
        extra = ""
        if sent.repeat_of_reference:
            extra = self.tr(" · linked to {0}, escalated to level {1}").format(
                sent.repeat_of_reference, rules.escalation_label(sent.escalation_level)
            )
        self.form.submitted(
            self.tr("✓ Submitted · 已提交: {0} — reply promised by {1}{2}").format(
                sent.reference, when, extra
            ),
            done=True,
        )
        self.submitted.emit(
            draft.call_id or "",
            sent.reference,
            draft.promised_reply_at.isoformat() if draft.promised_reply_at else "",
        )

    def _queued(self, draft: rules.ComplaintDraft, key: str | None) -> None:
        self.form.submitted(
            self.tr(
                "Saved locally, will send · 已保存在本机，网络恢复后自动提交 (outbox {0})"
            ).format((key or "")[:8]),
            done=True,
        )
        self.outboxChanged.emit(self.outbox.pending(), "")
        if self.sender is not None:
            self.sender.wake()

    def _refused(self, exc: Exception) -> None:
        log.error("complaint not submitted: %s", exc)
        self.form.submitted(self.tr("✗ Not submitted: {0}").format(exc), done=False)

    def ask_hand_off(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        reason, ok = QInputDialog.getText(
            self.form, self.tr("Hand off to supervisor · 转主管"), self.tr("Why? 转交原因:")
        )
        if ok and reason.strip():
            self.hand_off(reason.strip())

    def hand_off(self, reason: str) -> None:
        sessions, complaint_id = self.sessions, self.last_complaint_id
        if sessions is None or complaint_id is None:
            return

        def run() -> Any:
            with sessions.begin() as session:
                current = load_complaint(session, complaint_id)
                return escalate_now(session, complaint_id, current.version, self.agent_id, reason)

        BackgroundOp(
            self,
            run,
            lambda view: self.form.status.setText(
                self.tr("{0}: handed to the supervisor · 已转主管 (level {1})").format(
                    view.reference, rules.escalation_label(view.escalation_level)
                )
            ),
            lambda exc: self.problem.emit(str(exc)),
        ).start()
