"""Who is at the desk and whether they take calls: identity plus `agentState`."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from agent_desk.core.agent_state import AgentState
from agent_desk.core.roles import AgentIdentity


class AgentBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agentBar")
        self._identity = QLabel(self.tr("Connecting…"), self)
        self._identity.setObjectName("agentIdentity")
        self._identity.setAccessibleName("agentIdentity")
        self._state_label = QLabel(self)
        self._state_label.setObjectName("agentState")
        self._state_label.setAccessibleName("agentState")
        self._state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._state_label.setMinimumWidth(150)
        self._pending = QLabel(self)
        self._pending.setObjectName("agentStatePending")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 8, 0)
        layout.addWidget(self._identity)
        layout.addSpacing(12)
        layout.addWidget(self._state_label)
        layout.addWidget(self._pending)
        self.show_state(AgentState.NOT_READY)

    def set_identity(self, identity: AgentIdentity | None) -> None:
        self._identity.setText(identity.label() if identity else self.tr("No agent · 未登录"))

    def show_state(self, state: AgentState, pending_not_ready: bool = False) -> None:
        self._state_label.setText(state.label)
        # The style sheet colours the badge by this property.
        self._state_label.setProperty("agentState", state.value)
        self._state_label.style().unpolish(self._state_label)
        self._state_label.style().polish(self._state_label)
        self._pending.setText(self.tr("→ Not ready after this call") if pending_not_ready else "")
