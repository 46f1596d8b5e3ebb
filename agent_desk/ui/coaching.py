"""Live coaching on what the operator types: forbidden phrases are underlined as they are
typed and listed in `coachingWarnings` with the pack's better wording."""

from __future__ import annotations

from collections import Counter
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QPlainTextEdit, QWidget

from agent_desk.core.coaching import Coach, CoachingWarning, utf16_offset


class _Underline(QSyntaxHighlighter):
    """Marks the flagged ranges; Qt calls highlightBlock per paragraph."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.ranges: list[tuple[int, int, str]] = []  # start, end (in the whole text), severity

    def highlightBlock(self, text: str) -> None:
        block = self.currentBlock()
        first, last = block.position(), block.position() + len(text)
        for start, end, severity in self.ranges:
            if end <= first or start >= last:
                continue
            fmt = QTextCharFormat()
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(QColor("#b91c1c" if severity == "critical" else "#d97706"))
            fmt.setBackground(QColor("#fee2e2" if severity == "critical" else "#fef3c7"))
            lo = max(start, first) - first
            self.setFormat(lo, min(end, last) - first - lo, fmt)


class CoachingWarnings(QListWidget):
    """`coachingWarnings`: what was said that should not be, and what to say instead."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("coachingWarnings")
        self.setAccessibleName("coachingWarnings")
        self.setWordWrap(True)
        self.setMaximumHeight(110)
        self.hide()

    def show_warnings(self, warnings: list[CoachingWarning]) -> None:
        self.clear()
        for warning in warnings:
            item = QListWidgetItem(
                f"⚠ “{warning.matched}” → {warning.better_zh}  ({warning.better_en})"
            )
            item.setData(Qt.ItemDataRole.UserRole, warning.phrase_id)
            item.setForeground(QColor("#b91c1c" if warning.severity == "critical" else "#92400e"))
            self.addItem(item)
        self.setVisible(bool(warnings))


class CoachedText(QObject):
    """Coaching for one text field; any number of fields can have one."""

    flagged = Signal(object)  # a CoachingWarning seen for the first time in this text

    def __init__(
        self, editor: QPlainTextEdit, warnings: CoachingWarnings, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.editor, self.warnings = editor, warnings
        self.coach: Coach | None = None
        self._underline = _Underline(editor.document())
        self._seen: Counter[str] = Counter()
        self._checking = False
        editor.textChanged.connect(self.check)

    def set_coach(self, coach: Coach | None) -> None:
        self.coach = coach
        self.check()

    def reset(self) -> None:
        """A new call: earlier warnings belong to the earlier session."""
        self._seen.clear()
        self.check()

    def check(self) -> None:
        if self._checking:
            return  # re-highlighting changes formats, and Qt reports that as a text change
        self._checking = True
        try:
            text = self.editor.toPlainText()
            found = self.coach.check(text) if self.coach else []
            # Qt counts UTF-16 units, Python code points: they part at the first emoji.
            self._underline.ranges = [
                (utf16_offset(text, w.start), utf16_offset(text, w.end), w.severity) for w in found
            ]
            self._underline.rehighlight()
        finally:
            self._checking = False
        self.warnings.show_warnings(found)
        counts = Counter(w.phrase_id for w in found)
        for phrase_id in list(self._seen):  # deleted: typing it again is flagged again
            self._seen[phrase_id] = min(self._seen[phrase_id], counts[phrase_id])
        for warning in found:
            if counts[warning.phrase_id] > self._seen[warning.phrase_id]:
                self._seen[warning.phrase_id] += 1
                self.flagged.emit(warning)


def warning_payload(warning: CoachingWarning) -> dict[str, Any]:
    return {
        "phrase_id": warning.phrase_id,
        "matched": warning.matched,
        "severity": warning.severity,
        "better": warning.better_zh,
    }
