"""Who is at the desk and whether they take calls: identity plus `agentState`."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from agent_desk.core.agent_state import AgentState, IllegalStateChange, change_by_agent
from agent_desk.core.roles import AgentIdentity


class AgentBar(QWidget):
    stateChanged = Signal(str)  # AgentState value
    problem = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agentBar")
        self._state = AgentState.NOT_READY
        self._identity = QLabel(self.tr("Connecting…"), self)
        self._identity.setObjectName("agentIdentity")
        self._identity.setAccessibleName("agentIdentity")
        self._state_label = QLabel(self)
        self._state_label.setObjectName("agentState")
        self._state_label.setAccessibleName("agentState")
        self._state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._state_label.setMinimumWidth(150)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 8, 0)
        layout.addWidget(self._identity)
        layout.addSpacing(12)
        layout.addWidget(self._state_label)
        self._show_state()

    @property
    def state(self) -> AgentState:
        return self._state

    def set_identity(self, identity: AgentIdentity | None) -> None:
        self._identity.setText(identity.label() if identity else self.tr("No agent · 未登录"))

    def request(self, wanted: AgentState) -> bool:
        """The agent asks for a state; the rule in core decides."""
        try:
            self._state = change_by_agent(self._state, wanted)
        except IllegalStateChange as exc:
            self.problem.emit(str(exc))
            return False
        self._show_state()
        self.stateChanged.emit(self._state.value)
        return True

    def _show_state(self) -> None:
        self._state_label.setText(self._state.label)
        # The style sheet colours the badge by this property.
        self._state_label.setProperty("agentState", self._state.value)
        self._state_label.style().unpolish(self._state_label)
        self._state_label.style().polish(self._state_label)
