"""`complaintForm`: where the caller's problem becomes the company's commitment.

Pre-filled from the call (customer, their products, the number they called from); every
field is checked as the operator types, the reason shown next to it; Ctrl+Return
(`submitComplaint`) submits; `complaintStatus` shows the reference number or that the
complaint waits in the local outbox. The form only collects: the desk submits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent_desk.core import complaints as rules
from agent_desk.core.customers import ProductLine

FIELD_ORDER = (
    "purchase_id",
    "category",
    "severity",
    "description",
    "customer_wants",
    "promised_reply_at",
    "department",
    "assignee",
    "callback_number",
)


class ComplaintForm(QWidget):
    submitRequested = Signal(object)  # ComplaintDraft, valid
    draftChanged = Signal(object)  # ComplaintDraft: the desk checks for a repeat fault
    handOffRequested = Signal()

    def __init__(
        self,
        categories: Sequence[rules.Choice] = rules.DEFAULT_CATEGORIES,
        departments: Sequence[str] = (),
        repeat_window_days: int = rules.REPEAT_WINDOW_DAYS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.categories = tuple(categories)
        self.repeat_window_days = repeat_window_days
        self.setObjectName("complaintForm")
        self.setAccessibleName("complaintForm")
        self.customer_id: int | None = None
        self.call_id: str | None = None
        self._key = uuid.uuid4().hex  # one key per complaint: a resubmit is the same one
        self.heading = QLabel(self.tr("Complaint · 投诉登记"), self)
        self.heading.setProperty("sectionHeading", True)
        self.product = QComboBox(self)
        self.product.setObjectName("complaintProduct")
        self.category = QComboBox(self)
        self.category.setObjectName("complaintCategory")
        for choice in self.categories:
            self.category.addItem(choice.label, choice.code)
        self.severity = QComboBox(self)
        self.severity.setObjectName("complaintSeverity")
        for choice in rules.SEVERITIES:
            self.severity.addItem(choice.label, choice.code)
        self.severity.setCurrentIndex(max(0, self.severity.findData(rules.DEFAULT_SEVERITY)))
        self.description = QPlainTextEdit(self)
        self.description.setObjectName("complaintDescription")
        self.description.setPlaceholderText(self.tr("What happened, in the customer's words"))
        self.customer_wants = QPlainTextEdit(self)
        self.customer_wants.setObjectName("complaintCustomerWants")
        self.customer_wants.setPlaceholderText(self.tr("What the customer asks for"))
        for box in (self.description, self.customer_wants):
            box.setTabChangesFocus(True)
            box.setMaximumHeight(70)
        self.reply_by = QDateTimeEdit(self)
        self.reply_by.setObjectName("complaintReplyBy")
        self.reply_by.setCalendarPopup(True)
        self.reply_by.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.quick = {
            choice.code: QPushButton(choice.label, self) for choice in rules.REPLY_CHOICES
        }
        self.department = QComboBox(self)
        self.department.setObjectName("complaintDepartment")
        self.department.setEditable(True)
        self.department.addItems(list(departments))
        self.assignee = QLineEdit(self)
        self.assignee.setObjectName("complaintAssignee")
        self.callback = QLineEdit(self)
        self.callback.setObjectName("complaintCallbackNumber")
        self.repeat = QLabel(self)
        self.repeat.setObjectName("complaintRepeat")
        self.repeat.setWordWrap(True)
        self.repeat.hide()
        self.submit = QPushButton(self.tr("&Submit complaint · 提交 (Ctrl+Return)"), self)
        self.submit.setObjectName("submitComplaint")
        self.submit.setAccessibleName("submitComplaint")
        self.hand_off = QPushButton(self.tr("Hand off to &supervisor · 转主管"), self)
        self.hand_off.setObjectName("supervisorHandOff")
        self.hand_off.setEnabled(False)
        self.status = QLabel(self)
        self.status.setObjectName("complaintStatus")
        self.status.setAccessibleName("complaintStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        reply_row = QHBoxLayout()
        reply_row.addWidget(self.reply_by, 1)
        for button in self.quick.values():
            reply_row.addWidget(button)
        rows: list[tuple[str, str, QWidget | QHBoxLayout]] = [
            ("purchase_id", self.tr("&Product 产品"), self.product),
            ("category", self.tr("Cate&gory 类别"), self.category),
            ("severity", self.tr("Se&verity 严重程度"), self.severity),
            ("description", self.tr("&Description 问题描述"), self.description),
            ("customer_wants", self.tr("Customer &wants 客户诉求"), self.customer_wants),
            ("promised_reply_at", self.tr("&Reply by 承诺回复"), reply_row),
            ("department", self.tr("Depar&tment 处理部门"), self.department),
            ("assignee", self.tr("&Handler 处理人"), self.assignee),
            ("callback_number", self.tr("&Callback 回访电话"), self.callback),
        ]
        for name, label, field in rows:
            error = QLabel(self)
            error.setObjectName(f"complaintError_{name}")
            error.setProperty("fieldError", True)
            error.hide()
            self.errors[name] = error
            cell = QVBoxLayout()
            cell.setSpacing(0)
            if isinstance(field, QHBoxLayout):
                cell.addLayout(field)
            else:
                cell.addWidget(field)
            cell.addWidget(error)
            # A label with a buddy: Alt+<letter> jumps to the field (and "&" is not shown).
            caption = QLabel(label, self)
            caption.setBuddy(self.reply_by if isinstance(field, QHBoxLayout) else field)
            form.addRow(caption, cell)
        buttons = QHBoxLayout()
        buttons.addWidget(self.submit)
        buttons.addWidget(self.hand_off)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(self.repeat)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

        for choice, button in self.quick.items():
            button.clicked.connect(lambda _checked=False, c=choice: self.choose_reply(c))
        for signal in (
            self.product.currentIndexChanged,
            self.category.currentIndexChanged,
            self.severity.currentIndexChanged,
            self.description.textChanged,
            self.customer_wants.textChanged,
            self.reply_by.dateTimeChanged,
            self.department.currentTextChanged,
            self.assignee.textChanged,
            self.callback.textChanged,
        ):
            signal.connect(self.check)
        self.submit.clicked.connect(self.request_submit)
        self.hand_off.clicked.connect(self.handOffRequested)
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.request_submit)
        self.setEnabled(False)

    # -- filling -------------------------------------------------------------------------------

    def start(
        self,
        customer_id: int,
        customer_name: str,
        products: tuple[ProductLine, ...],
        number: str,
        call_id: str | None,
    ) -> None:
        """A new complaint for this caller: everything we know is already in."""
        self.customer_id, self.call_id = customer_id, call_id
        self._key = uuid.uuid4().hex
        self.heading.setText(self.tr("Complaint · 投诉登记 — {0}").format(customer_name))
        self.product.clear()
        self.product.addItem(self.tr("— not about one product 不涉及具体产品 —"), None)
        for line in products:
            self.product.addItem(
                f"{line.product} {line.model} {line.serial or ''}".strip(), line.purchase_id
            )
        if products:
            self.product.setCurrentIndex(1)
        self.category.setCurrentIndex(0)
        self.severity.setCurrentIndex(max(0, self.severity.findData(rules.DEFAULT_SEVERITY)))
        for box in (self.description, self.customer_wants):
            box.clear()
        self.assignee.clear()
        self.callback.setText(number)
        self.choose_reply("24h")
        self.repeat.hide()
        self.status.clear()
        self.hand_off.setEnabled(False)
        self.setEnabled(True)
        self.description.setFocus()
        self.check()

    def choose_reply(self, choice: str) -> None:
        moment = rules.reply_time_choice(choice, dt.datetime.now(dt.UTC))
        self.reply_by.setDateTime(QDateTime.fromSecsSinceEpoch(int(moment.timestamp())))

    # -- checking and submitting ----------------------------------------------------------------

    def draft(self) -> rules.ComplaintDraft:
        promised = dt.datetime.fromtimestamp(self.reply_by.dateTime().toSecsSinceEpoch(), dt.UTC)
        return rules.ComplaintDraft(
            customer_id=self.customer_id or 0,
            purchase_id=self.product.currentData(),
            call_id=self.call_id,
            category=str(self.category.currentData()),
            severity=str(self.severity.currentData()),
            description=self.description.toPlainText(),
            customer_wants=self.customer_wants.toPlainText(),
            promised_reply_at=promised,
            department=self.department.currentText(),
            assignee=self.assignee.text(),
            callback_number=self.callback.text(),
            idempotency_key=self._key,
            repeat_window_days=self.repeat_window_days,
        )

    def check(self) -> dict[str, str]:
        if self.customer_id is None:
            return {}
        draft = self.draft()
        problems = rules.validate_draft(draft, dt.datetime.now(dt.UTC), categories=self.categories)
        self.show_problems(problems)
        self.submit.setEnabled(not problems)
        self.draftChanged.emit(draft)
        return problems

    def show_problems(self, problems: Mapping[str, str]) -> None:
        for name, label in self.errors.items():
            label.setText(problems.get(name, ""))
            label.setVisible(name in problems)

    def show_repeat(self, explanation: str | None) -> None:
        """Why this complaint will be linked and escalated, before the operator submits."""
        self.repeat.setText(f"⚠ {explanation}" if explanation else "")
        self.repeat.setVisible(bool(explanation))

    def request_submit(self) -> None:
        if not self.isEnabled() or self.check():
            return
        self.submit.setEnabled(False)
        self.status.setText(self.tr("Submitting… 提交中"))
        self.submitRequested.emit(self.draft())

    def submitted(self, text: str, *, done: bool) -> None:
        """The desk's answer: a reference, or "saved locally, will send"; or a refusal."""
        self.status.setText(text)
        if done:
            self.hand_off.setEnabled(True)
            self._set_fields_enabled(False)
        else:
            self.submit.setEnabled(True)

    def clear(self) -> None:
        self.customer_id = self.call_id = None
        self._set_fields_enabled(True)
        self.status.clear()
        self.setEnabled(False)

    def _set_fields_enabled(self, enabled: bool) -> None:
        """A submitted complaint is on record: its form stays readable, not editable."""
        for widget in (
            self.product,
            self.category,
            self.severity,
            self.description,
            self.customer_wants,
            self.reply_by,
            self.department,
            self.assignee,
            self.callback,
            *self.quick.values(),
        ):
            widget.setEnabled(enabled)
