"""`waveformView`: the recording's envelope, the play head, and the session's events as ticks;
a click (or the arrow keys) seeks."""

from __future__ import annotations

from array import array

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from agent_desk.audio.peaks import Peaks

SEEK_STEP_MS = 5000


class WaveformView(QWidget):
    seekRequested = Signal(int)  # ms

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("waveformView")
        self.setAccessibleName("waveformView")
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.peaks: Peaks | None = None
        self.duration_ms = 0
        self.position_ms = 0
        self.ticks: list[int] = []  # event offsets, drawn over the wave
        self._columns: tuple[int, array[int], array[int]] | None = None  # width, mins, maxs

    def set_peaks(self, peaks: Peaks | None, duration_ms: int) -> None:
        self.peaks, self.duration_ms, self._columns = peaks, duration_ms, None
        self.position_ms = 0
        self.update()

    def set_ticks(self, offsets: list[int]) -> None:
        self.ticks = offsets
        self.update()

    def set_position(self, position_ms: int) -> None:
        if position_ms != self.position_ms:
            self.position_ms = position_ms
            self.update()

    def _x(self, ms: int) -> float:
        return 0.0 if self.duration_ms <= 0 else self.width() * ms / self.duration_ms

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#f9fafb"))
        mid, half = self.height() / 2, self.height() / 2 - 4
        if self.peaks is not None and len(self.peaks):
            width = max(1, self.width())
            if self._columns is None or self._columns[0] != width:
                # Columns are computed once per width, not per frame: playing stays cheap.
                mins, maxs = self.peaks.columns(width)
                self._columns = (width, mins, maxs)
            _, mins, maxs = self._columns
            painter.setPen(QPen(QColor("#2563eb"), 1))
            for x, (low, high) in enumerate(zip(mins, maxs, strict=False)):
                painter.drawLine(
                    QPointF(x, mid - high / 32768 * half), QPointF(x, mid - low / 32768 * half)
                )
        else:
            painter.setPen(QColor("#6b7280"))
            painter.drawText(
                QRectF(self.rect()),
                Qt.AlignmentFlag.AlignCenter,
                self.tr("No recording · 无录音 — the timeline replays alone"),
            )
        painter.setPen(QPen(QColor("#d97706"), 1, Qt.PenStyle.DotLine))
        for offset in self.ticks:
            x = self._x(offset)
            painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        painter.setPen(QPen(QColor("#b91c1c"), 2))
        head = self._x(self.position_ms)
        painter.drawLine(QPointF(head, 0), QPointF(head, self.height()))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.duration_ms > 0 and self.width() > 0:
            ratio = min(max(event.position().x() / self.width(), 0.0), 1.0)
            self.seekRequested.emit(int(ratio * self.duration_ms))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = {Qt.Key.Key_Left: -SEEK_STEP_MS, Qt.Key.Key_Right: SEEK_STEP_MS}.get(
            Qt.Key(event.key())
        )
        if step is None or self.duration_ms <= 0:
            super().keyPressEvent(event)
            return
        self.seekRequested.emit(min(max(self.position_ms + step, 0), self.duration_ms))
