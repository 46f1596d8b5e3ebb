"""Callbacks due (R23): every promised reply that is due or overdue, overdue first, so no
promise is forgotten. Operators see their own; team leads see everyone's."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core import complaints as rules
from agent_desk.core.phones import PhoneNumberError, display_number
from agent_desk.store.complaints import CallbackDue, callbacks_due
from agent_desk.ui.background import BackgroundOp

REFRESH_MS = 60_000
CUSTOMER_ID_ROLE = 0x0100
LIMIT = 200


def _number(e164: str) -> str:
    try:
        return display_number(e164)
    except PhoneNumberError:
        return e164


class CallbacksPanel(QWidget):
    openCustomer = Signal(int)  # customer id: show the open case

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callbacksDue")
        self.setAccessibleName("callbacksDue")
        self.sessions: sessionmaker[Session] | None = None
        self.agent_id: int | None = None  # None: everyone's (team lead)
        self.summary = QLabel(self)
        self.summary.setObjectName("callbacksSummary")
        self.table = QTableWidget(0, 6, self)
        self.table.setObjectName("callbacksTable")
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Reply by 承诺回复"),
                self.tr("Customer 客户"),
                self.tr("Callback 电话"),
                self.tr("Complaint 投诉"),
                self.tr("Status 状态"),
                self.tr("Level 级别"),
            ]
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.table.cellActivated.connect(self._activated)
        self.table.cellDoubleClicked.connect(self._activated)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def attach(
        self, sessions: sessionmaker[Session] | None, agent_id: int | None, everyone: bool
    ) -> None:
        self.sessions = sessions
        self.agent_id = None if everyone else agent_id
        if sessions is None:
            self._timer.stop()
            self.table.setRowCount(0)
            return
        self._timer.start()
        self.refresh()

    def refresh(self) -> None:
        sessions, agent_id = self.sessions, self.agent_id
        if sessions is None:
            return

        def load() -> list[CallbackDue]:
            with sessions.begin() as session:
                return list(callbacks_due(session, agent_id, dt.datetime.now(dt.UTC), LIMIT))

        BackgroundOp(
            self, load, self.show_callbacks, lambda exc: self.summary.setText(str(exc))
        ).start()

    def show_callbacks(self, due: list[CallbackDue]) -> None:
        overdue = sum(1 for item in due if item.overdue)
        self.summary.setText(
            self.tr("{0} callbacks due, {1} overdue · 待回访 {0}，逾期 {1}").format(
                len(due), overdue
            )
        )
        self.table.setRowCount(len(due))
        red = QBrush(QColor("#b91c1c"))
        for row, item in enumerate(due):
            when = item.promised_reply_at.astimezone().strftime("%m-%d %H:%M")
            cells = [
                f"{when}{' OVERDUE 逾期' if item.overdue else ''}",
                item.customer_name,
                _number(item.callback_number),
                item.reference,
                item.status,
                rules.escalation_label(item.escalation_level),
            ]
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setData(CUSTOMER_ID_ROLE, item.customer_id)
                if item.overdue:
                    cell.setForeground(red)
                self.table.setItem(row, column, cell)
        self.table.resizeColumnsToContents()

    def _activated(self, row: int, _column: int) -> None:
        cell = self.table.item(row, 0)
        if cell is not None:
            self.openCustomer.emit(int(cell.data(CUSTOMER_ID_ROLE)))
