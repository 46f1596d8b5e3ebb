"""A strip at the top of the window for what the operator must know now (database down,
schema mismatch, unknown agent): plain words, one button to act on it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class MessageBanner(QFrame):
    actionRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.setAccessibleName("messageBanner")
        self._text = QLabel(self)
        self._text.setObjectName("messageText")
        self._text.setWordWrap(True)
        self._button = QPushButton(self)
        self._button.setObjectName("messageAction")
        self._button.clicked.connect(self.actionRequested)
        layout = QHBoxLayout(self)
        layout.addWidget(self._text, 1)
        layout.addWidget(self._button)
        self.hide()

    def show_message(self, text: str, level: str = "error", action: str | None = None) -> None:
        self._text.setText(text)
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self._button.setVisible(action is not None)
        self._button.setText(action or "")
        self.show()

    def text(self) -> str:
        return self._text.text() if self.isVisible() else ""

    def clear(self) -> None:
        self._text.clear()
        self.hide()
