"""The call in hand: who, what state, for how long, who waits behind it; the operator's
notes (`callNotes`, saved as they type) and the wrap-up code (`wrapUpCode`)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from agent_desk.core.calls import CallFlow, CallState
from agent_desk.core.phones import PhoneNumberError, display_number, normalise_number
from agent_desk.ui.coaching import CoachingWarnings

STATE_LABELS = {
    CallState.OFFERED: "Waiting 排队中",
    CallState.RINGING: "Ringing 振铃中 — F2 to answer",
    CallState.TALKING: "Talking 通话中",
    CallState.HOLD: "On hold 保持中 — F3 to resume",
    CallState.WRAP_UP: "Wrap-up 话后处理 — choose a code, then F9",
    CallState.DONE: "Done 已结束",
}
NOTES_SAVE_DELAY_MS = 1200  # save a pause after typing, not every keystroke


def readable_number(number: str) -> str:
    try:
        return display_number(normalise_number(number))
    except PhoneNumberError:
        return number or "withheld 未显示号码"


class CallPanel(QWidget):
    notesChanged = Signal(str, str)  # call id, notes: time to save them
    wrapUpChosen = Signal(str)  # code

    def __init__(self, flow: CallFlow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callPanel")
        self.flow = flow
        self._call_id = ""
        self.headline = QLabel(self.tr("No active call · 当前无通话"), self)
        self.headline.setObjectName("callStrip")
        self.state = QLabel(self)
        self.state.setObjectName("callState")
        self.queue = QLabel(self)
        self.queue.setObjectName("callQueue")
        self.queue.setWordWrap(True)
        self.notes = QPlainTextEdit(self)
        self.notes.setObjectName("callNotes")
        self.notes.setAccessibleName("callNotes")
        self.notes.setPlaceholderText(self.tr("Call notes 通话记录 — saved as you type"))
        self.coaching_warnings = CoachingWarnings(self)
        self.wrap_up = QComboBox(self)
        self.wrap_up.setObjectName("wrapUpCode")
        self.wrap_up.setAccessibleName("wrapUpCode")
        self.wrap_up.addItem(self.tr("— choose 请选择 —"), "")
        for code in flow.policy.codes:
            self.wrap_up.addItem(flow.policy.label(code), code)
        self.acw = QLabel(self)
        self.acw.setObjectName("afterCallWork")
        form = QFormLayout()
        form.addRow(self.tr("&Wrap-up 小结"), self.wrap_up)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.state)
        layout.addWidget(self.queue)
        layout.addWidget(self.notes, 1)
        layout.addWidget(self.coaching_warnings)
        layout.addLayout(form)
        layout.addWidget(self.acw)

        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(NOTES_SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_notes_now)
        self.notes.textChanged.connect(self._notes_typed)
        self.wrap_up.activated.connect(self._wrap_up_activated)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._tick)
        self.refresh()

    @property
    def call_id(self) -> str:
        return self._call_id

    def refresh(self, customer_name: str = "") -> None:
        """Re-read the flow: called whenever the controller says something changed."""
        call = self.flow.active
        if call is None:
            self.save_notes_now()
            self._call_id = ""
            self.headline.setText(self.tr("No active call · 当前无通话"))
            self.state.clear()
            self.notes.blockSignals(True)
            self.notes.clear()
            self.notes.blockSignals(False)
            self.notes.setEnabled(False)
            self.wrap_up.setEnabled(False)
            self.wrap_up.setCurrentIndex(0)
            self._clock.stop()
        else:
            if call.call_id != self._call_id:
                self.save_notes_now()
                self._call_id = call.call_id
                self.notes.blockSignals(True)
                self.notes.clear()
                self.notes.blockSignals(False)
                self.wrap_up.setCurrentIndex(0)
            who = f" · {customer_name}" if customer_name else ""
            self.headline.setText(f"☎ {readable_number(call.number)}{who}")
            self.notes.setEnabled(True)
            in_wrap_up = call.state is CallState.WRAP_UP
            self.wrap_up.setEnabled(in_wrap_up)
            if call.wrap_up_code:
                self.wrap_up.setCurrentIndex(max(0, self.wrap_up.findData(call.wrap_up_code)))
            self._clock.start()
        waiting = self.flow.queue
        self.queue.setText(
            self.tr("{0} waiting 排队: {1}").format(
                len(waiting), ", ".join(readable_number(c.number) for c in waiting)
            )
            if waiting
            else ""
        )
        self.queue.setVisible(bool(waiting))
        self._tick()

    def restore_notes(self, notes: str) -> None:
        self.notes.blockSignals(True)
        self.notes.setPlainText(notes)
        self.notes.blockSignals(False)

    def save_notes_now(self) -> None:
        if self._save_timer.isActive() and self._call_id:
            self._save_timer.stop()
            self.notesChanged.emit(self._call_id, self.notes.toPlainText())

    def _notes_typed(self) -> None:
        if self._call_id:
            self._save_timer.start()

    def _wrap_up_activated(self, index: int) -> None:
        code = self.wrap_up.itemData(index)
        if code:
            self.wrapUpChosen.emit(code)

    def _tick(self) -> None:
        call = self.flow.active
        if call is None:
            self.acw.clear()
            return
        entered = call.entered(call.state) or call.offered_at
        seconds = int((dt.datetime.now(dt.UTC) - entered).total_seconds())
        self.state.setText(f"{STATE_LABELS[call.state]} · {seconds // 60:02d}:{seconds % 60:02d}")
        deadline = self.flow.after_call_work_deadline
        if deadline is not None:
            left = max(0, int((deadline - dt.datetime.now(dt.UTC)).total_seconds()))
            self.acw.setText(
                self.tr("After-call work ends in {0} s; then “{1}” is set").format(
                    left, self.flow.policy.label(self.flow.policy.default_code)
                )
            )
        else:
            self.acw.clear()
