"""Find any customer at any time: by name, phone, serial number or complaint reference."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

from agent_desk.core.customers import CustomerSummary
from agent_desk.core.phones import display_number

CUSTOMER_ID = Qt.ItemDataRole.UserRole + 1


def summary_line(customer: CustomerSummary) -> str:
    phones = ", ".join(display_number(p) for p in customer.phones[:2])
    return f"{customer.name}  ·  {phones}  ·  {customer.address}"


class CustomerList(QListView):
    """Customers to pick from (search results, or several customers on one number)."""

    chosen = Signal(int)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAccessibleName(name)
        self.model_ = QStandardItemModel(self)
        self.setModel(self.model_)
        self.activated.connect(self._activated)

    def show_customers(
        self, customers: list[CustomerSummary] | tuple[CustomerSummary, ...]
    ) -> None:
        self.model_.clear()
        for customer in customers:
            item = QStandardItem(summary_line(customer))
            item.setData(customer.id, CUSTOMER_ID)
            item.setEditable(False)
            self.model_.appendRow(item)
        if customers:
            self.setCurrentIndex(self.model_.index(0, 0))

    def _activated(self, index: QModelIndex) -> None:
        self.chosen.emit(int(index.data(CUSTOMER_ID)))


class CustomerSearch(QWidget):
    searchRequested = Signal(str)
    chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QLineEdit(self)
        self.box.setObjectName("customerSearch")
        self.box.setAccessibleName("customerSearch")
        self.box.setPlaceholderText(
            self.tr("Search 搜索: name, phone, serial, complaint ref (Ctrl+F)")
        )
        self.box.setClearButtonEnabled(True)
        self.status = QLabel(self)
        self.status.setObjectName("customerSearchStatus")
        self.status.hide()
        self.results = CustomerList("customerSearchResults", self)
        self.results.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.box)
        layout.addWidget(self.status)
        layout.addWidget(self.results)
        self.box.returnPressed.connect(lambda: self.searchRequested.emit(self.box.text().strip()))
        self.box.textChanged.connect(lambda text: text or self.clear_results())
        self.results.chosen.connect(self._chosen)

    def show_results(self, text: str, customers: list[CustomerSummary]) -> None:
        if text != self.box.text().strip():
            return  # the operator has typed on: these answer an older question
        self.status.setText(
            self.tr("{0} found for “{1}”").format(len(customers), text)
            if customers
            else self.tr("Nobody found for “{0}”").format(text)
        )
        self.status.show()
        self.results.show_customers(customers)
        self.results.setVisible(bool(customers))
        if customers:
            self.results.setFocus()

    def show_problem(self, message: str) -> None:
        self.status.setText(message)
        self.status.show()

    def clear_results(self) -> None:
        self.results.hide()
        self.status.hide()

    def _chosen(self, customer_id: int) -> None:
        self.clear_results()
        self.chosen.emit(customer_id)
