"""One complaint, as the after-sales workflow sees it: details, the audit trail, and the
next steps (R22). Two desks may change it at once; a conflict is shown, never overwritten:
the operator sees what the other desk did and chooses again."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core import complaints as rules
from agent_desk.store.complaints import (
    ComplaintConflict,
    ComplaintView,
    load_complaint,
    transition,
)
from agent_desk.ui.background import BackgroundOp


class ComplaintDialog(QDialog):
    changed = Signal(int)  # complaint id

    def __init__(
        self,
        sessions: sessionmaker[Session],
        complaint_id: int,
        actor_id: int | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("complaintDialog")
        self.setWindowTitle(self.tr("Complaint · 投诉详情"))
        self.resize(720, 520)
        self.sessions, self.complaint_id, self.actor_id = sessions, complaint_id, actor_id
        self.view: ComplaintView | None = None
        self.details = QLabel(self)
        self.details.setObjectName("complaintDetails")
        self.details.setWordWrap(True)
        self.trail = QListWidget(self)
        self.trail.setObjectName("complaintTrail")
        self.reason = QLineEdit(self)
        self.reason.setObjectName("complaintReason")
        self.reason.setPlaceholderText(self.tr("Why (required to reopen) 原因"))
        self.steps = QHBoxLayout()
        self.message = QLabel(self)
        self.message.setObjectName("complaintMessage")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.details)
        layout.addWidget(QLabel(self.tr("Audit trail · 处理记录"), self))
        layout.addWidget(self.trail, 1)
        layout.addWidget(self.reason)
        layout.addLayout(self.steps)
        layout.addWidget(self.message)
        self.reload()

    def reload(self) -> None:
        sessions, complaint_id = self.sessions, self.complaint_id

        def load() -> ComplaintView:
            with sessions.begin() as session:
                return load_complaint(session, complaint_id)

        BackgroundOp(self, load, self.show_view, lambda exc: self.message.setText(str(exc))).start()

    def show_view(self, view: ComplaintView) -> None:
        self.view = view
        due = view.promised_reply_at.astimezone().strftime("%Y-%m-%d %H:%M")
        self.details.setText(
            f"<b>{view.reference}</b> · {rules.category_label(view.category)} · "
            f"{rules.severity_label(view.severity)} · "
            f"{rules.ComplaintStatus(view.status).label} · "
            f"{self.tr('level')} {rules.escalation_label(view.escalation_level)}<br>"
            f"{self.tr('Reply by')}: {due} · {view.department} {view.assignee}<br>"
            f"{view.description}"
        )
        self.trail.clear()
        for event in view.events:
            self.trail.addItem(
                rules.describe_event(
                    event.at.astimezone(),
                    event.actor,
                    event.action,
                    event.from_status,
                    event.to_status,
                    event.reason,
                    event.payload,
                )
            )
        while self.steps.count():
            item = self.steps.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()
        for target in rules.allowed_targets(view.status):
            button = QPushButton(f"→ {target.label}", self)
            button.setObjectName(f"complaintTo_{target.value}")
            button.clicked.connect(lambda _c=False, t=target.value: self.move_to(t))
            self.steps.addWidget(button)
        self.steps.addStretch(1)

    def move_to(self, target: str, expected_version: int | None = None) -> None:
        view = self.view
        if view is None:
            return
        sessions, reason = self.sessions, self.reason.text().strip()
        version = view.version if expected_version is None else expected_version

        def run() -> ComplaintView:
            with sessions.begin() as session:
                return transition(session, view.id, version, target, self.actor_id, reason)

        BackgroundOp(self, run, self._moved, lambda exc: self._refused(exc, target)).start()

    def _moved(self, view: ComplaintView) -> None:
        self.reason.clear()
        self.message.setText(
            self.tr("✓ {0}: {1}").format(view.reference, rules.ComplaintStatus(view.status).label)
        )
        self.show_view(view)
        self.changed.emit(view.id)

    def _refused(self, exc: Exception, target: str) -> None:
        if isinstance(exc, ComplaintConflict):
            self.show_view(exc.current)  # what is true now, before the operator decides
            self.message.setText(
                self.tr("Changed by another desk meanwhile 已被他人修改:\n")
                + "\n".join(exc.changes)
            )
            if target in {t.value for t in rules.allowed_targets(exc.current.status)}:
                answer = QMessageBox.question(
                    self,
                    self.tr("Changed meanwhile · 已被修改"),
                    self.tr("{0}\n\nStill move it to “{1}”?").format(
                        "\n".join(exc.changes), rules.ComplaintStatus(target).label
                    ),
                )
                if answer == QMessageBox.StandardButton.Yes:
                    self.move_to(target, exc.current.version)
            return
        self.message.setText(f"✗ {exc}")
