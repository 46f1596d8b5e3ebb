"""`customerPanel`: the screen pop. A call rings → the caller's record, or a choice of
customers sharing the number, or the new-customer prompt; and a search box at all times."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core.customers import CustomerError, CustomerSummary, HistoryCursor
from agent_desk.store.customers import create_customer, history_page, search_customers
from agent_desk.store.screen_pop import PopResult, screen_pop_for_customer, screen_pop_for_number
from agent_desk.ui.background import BackgroundOp
from agent_desk.ui.customer_record import CustomerRecord
from agent_desk.ui.customer_search import CustomerList, CustomerSearch
from agent_desk.ui.new_customer_prompt import NewCustomerPrompt

log = logging.getLogger(__name__)


class CustomerPanel(QWidget):
    # call id ("" outside a call), customer id (0 unknown), matches, ms from ring to painted
    popPainted = Signal(str, int, int, float)
    customerIdentified = Signal(str, int)  # call id, customer id: the call's customer is known
    problem = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("customerPanel")
        self.setAccessibleName("customerPanel")
        self.sessions: sessionmaker[Session] | None = None
        self.call_id = ""  # the call the panel shows, "" when browsing
        self.result: PopResult | None = None
        self._pending: tuple[str, float] | None = None  # call id, arrival: waiting for paint
        self._shown = False  # the pending result is on its page: the next paint is its own

        self.search = CustomerSearch(self)
        self.empty = QLabel(
            self.tr(
                "No call yet. When a call rings, the caller's record and full history appear "
                "here. 来电时自动弹出客户资料。"
            ),
            self,
        )
        self.empty.setObjectName("customerPanelEmpty")
        self.empty.setProperty("emptyState", True)
        self.empty.setWordWrap(True)
        self.record = CustomerRecord(self)
        self.chooser_page = QWidget(self)
        self.chooser_heading = QLabel(self.chooser_page)
        self.chooser_heading.setProperty("sectionHeading", True)
        self.chooser = CustomerList("customerChooser", self.chooser_page)
        chooser_layout = QVBoxLayout(self.chooser_page)
        chooser_layout.addWidget(self.chooser_heading)
        chooser_layout.addWidget(self.chooser)
        self.new_customer = NewCustomerPrompt(self)
        self.pages = QStackedWidget(self)
        for page in (self.empty, self.record, self.chooser_page, self.new_customer):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.pages, 1)

        self.record.historyPainted.connect(self._painted)
        self.new_customer.installEventFilter(self)
        self.chooser_page.installEventFilter(self)
        self.search.searchRequested.connect(self.find)
        self.search.chosen.connect(lambda cid: self.show_customer(cid, self.call_id))
        self.chooser.chosen.connect(lambda cid: self.show_customer(cid, self.call_id))
        self.new_customer.createRequested.connect(self._create)
        self.record.history_model.loadFailed.connect(self.problem)

    # -- what the window asks ---------------------------------------------------------------

    def attach(self, sessions: sessionmaker[Session] | None) -> None:
        self.sessions = sessions
        self.search.setEnabled(sessions is not None)

    def pop(self, call_id: str, number: str, arrived: float | None = None) -> None:
        """A call rings: find who it is, off the GUI thread."""
        sessions = self.sessions
        if sessions is None:
            return
        self.call_id = call_id
        self._pending = (call_id, arrived if arrived is not None else time.perf_counter())
        BackgroundOp(
            self,
            lambda: screen_pop_for_number(sessions, number),
            lambda result: self._show(call_id, result),
            self._failed,
        ).start()

    def show_customer(self, customer_id: int, call_id: str = "") -> None:
        sessions = self.sessions
        if sessions is None:
            return
        number = self.result.number if self.result and call_id else ""
        self._pending = (call_id, time.perf_counter())
        BackgroundOp(
            self,
            lambda: screen_pop_for_customer(sessions, customer_id, number),
            lambda result: self._show(call_id, result),
            self._failed,
        ).start()
        if call_id:
            self.customerIdentified.emit(call_id, customer_id)

    def find(self, text: str) -> None:
        sessions = self.sessions
        if sessions is None or not text:
            return

        def run() -> list[CustomerSummary]:
            with sessions.begin() as session:
                return search_customers(session, text)

        BackgroundOp(
            self,
            run,
            lambda found: self.search.show_results(text, found),
            lambda exc: self.search.show_problem(str(exc)),
        ).start()

    def clear(self) -> None:
        """The call is done: back to the empty page (the record is not left on screen)."""
        self.call_id, self.result, self._pending = "", None, None
        self.pages.setCurrentWidget(self.empty)

    # -- inside -------------------------------------------------------------------------------

    def _show(self, call_id: str, result: PopResult) -> None:
        if call_id != self.call_id:
            return  # the call moved on before its record arrived
        self.result = result
        self._shown = True
        sessions = self.sessions
        if result.pop is not None and sessions is not None:
            customer_id = result.pop.customer.id

            def fetch(cursor: HistoryCursor | None):  # type: ignore[no-untyped-def]
                with sessions.begin() as session:
                    return history_page(session, customer_id, cursor)

            self.record.show_pop(result.pop, fetch)
            self.pages.setCurrentWidget(self.record)
            if call_id and len(result.matches) == 1:
                self.customerIdentified.emit(call_id, customer_id)
        elif result.matches:
            self.chooser_heading.setText(
                self.tr("{0} customers share {1} — who is calling? 请确认来电客户").format(
                    len(result.matches), result.number
                )
            )
            self.chooser.show_customers(result.matches)
            self.pages.setCurrentWidget(self.chooser_page)
            self.chooser.setFocus()
        else:
            self.new_customer.start(result.e164 or result.number)
            if result.problem:
                self.new_customer.show_error(result.problem)
            self.pages.setCurrentWidget(self.new_customer)

    def _create(self, name: str, phones: list[str], address: str, tags: list[str]) -> None:
        sessions, call_id = self.sessions, self.call_id
        if sessions is None:
            self.new_customer.show_error(self.tr("No database: the customer cannot be saved"))
            return

        def run() -> CustomerSummary:
            with sessions.begin() as session:
                return create_customer(session, name, phones, address, tags)

        def failed(exc: Exception) -> None:
            self.new_customer.show_error(
                str(exc)
                if isinstance(exc, CustomerError | ValueError)
                else self.tr("Not saved: {0}").format(exc)
            )

        BackgroundOp(
            self, run, lambda created: self.show_customer(created.id, call_id), failed
        ).start()

    def _failed(self, exc: Exception) -> None:
        log.error("screen pop failed: %s", exc)
        self.problem.emit(self.tr("Could not load the customer: {0}").format(exc))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and watched is self.pages.currentWidget():
            self._painted()
        return False

    def _painted(self) -> None:
        if self._pending is None or self.result is None or not self._shown:
            return  # a repaint of what was there before, not of the new record
        self._shown = False
        call_id, arrived = self._pending
        self._pending = None
        customer = self.result.pop.customer.id if self.result.pop else 0
        self.popPainted.emit(
            call_id, customer, len(self.result.matches), (time.perf_counter() - arrived) * 1000
        )
