"""An unknown caller: the number is already filled in; a name and Enter create the record."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent_desk.core.customers import KNOWN_TAGS
from agent_desk.ui.customer_record import TAG_LABELS


class NewCustomerPrompt(QWidget):
    # name, phones (as typed), address, tags
    createRequested = Signal(str, list, str, list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newCustomerPrompt")
        self.setAccessibleName("newCustomerPrompt")
        self.heading = QLabel(self.tr("Unknown caller · 新客户"), self)
        self.heading.setProperty("sectionHeading", True)
        self.number = QLineEdit(self)
        self.number.setObjectName("newCustomerNumber")
        self.name = QLineEdit(self)
        self.name.setObjectName("newCustomerName")
        self.name.setPlaceholderText(self.tr("Ask: 请问您贵姓？"))
        self.address = QLineEdit(self)
        self.address.setObjectName("newCustomerAddress")
        self.tag_boxes = {tag: QCheckBox(TAG_LABELS.get(tag, tag), self) for tag in KNOWN_TAGS}
        self.error = QLabel(self)
        self.error.setObjectName("newCustomerError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.create = QPushButton(self.tr("&Create customer · 建档 (Enter)"), self)
        self.create.setObjectName("newCustomerCreate")
        self.create.setDefault(True)

        form = QFormLayout()
        form.addRow(self.tr("&Phone 电话"), self.number)
        form.addRow(self.tr("&Name 姓名"), self.name)
        form.addRow(self.tr("&Address 地址"), self.address)
        tags = QHBoxLayout()
        for box in self.tag_boxes.values():
            tags.addWidget(box)
        tags.addStretch(1)
        form.addRow(self.tr("Tags 标签"), tags)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.create)
        layout.addStretch(1)
        for field in (self.number, self.name, self.address):
            field.returnPressed.connect(self.submit)
        self.create.clicked.connect(self.submit)

    def start(self, number: str) -> None:
        """Ready for a new caller: number in, everything else empty, cursor on the name."""
        self.number.setText(number)
        for field in (self.name, self.address):
            field.clear()
        for box in self.tag_boxes.values():
            box.setChecked(False)
        self.show_error("")
        self.create.setEnabled(True)
        self.name.setFocus()

    def submit(self) -> None:
        if not self.create.isEnabled():
            return  # already creating: one Enter, one customer
        self.create.setEnabled(False)
        tags = [tag for tag, box in self.tag_boxes.items() if box.isChecked()]
        phones = [p.strip() for p in self.number.text().replace("，", ",").split(",") if p.strip()]
        self.createRequested.emit(self.name.text(), phones, self.address.text(), tags)

    def show_error(self, message: str) -> None:
        """The store refused the customer: say why, keep everything typed."""
        self.error.setText(message)
        self.error.setVisible(bool(message))
        self.create.setEnabled(True)
