"""Settings: database URL, agent number, CTI port, the microphone calls are recorded from.
Bad values are explained in the dialog and nothing is saved until they are fixed."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from agent_desk.settings import Settings, SettingsError


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, default_db: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(self.tr("Settings · 设置"))
        self._original = settings
        self.result_settings: Settings | None = None

        self.db_url = QLineEdit(settings.db_url, self)
        self.db_url.setObjectName("settingsDbUrl")
        self.db_url.setPlaceholderText(self.tr("empty: embedded database {0}").format(default_db))
        self.db_url.setToolTip(
            self.tr(
                "e.g. postgresql+psycopg://agent@db.example/agentdesk — no password here: "
                "store it with 'agent-desk db login URL'"
            )
        )
        self.agent_no = QLineEdit(settings.agent_no, self)
        self.agent_no.setObjectName("settingsAgentNo")
        self.cti_port = QSpinBox(self)
        self.cti_port.setObjectName("settingsCtiPort")
        self.cti_port.setRange(0, 65535)
        self.cti_port.setValue(settings.cti_port)
        self.cti_port.setSpecialValueText(self.tr("any free port"))
        self.audio_input = QComboBox(self)
        self.audio_input.setObjectName("settingsAudioInput")
        self.audio_input.setToolTip(
            self.tr(
                "The desk records each call from this microphone, from the answer to the "
                "hang-up. 通话录音所用的麦克风"
            )
        )
        self._list_audio_inputs(settings.audio_input)
        self.error = QLabel(self)
        self.error.setObjectName("settingsError")
        self.error.setWordWrap(True)
        self.error.hide()

        form = QFormLayout()
        form.addRow(self.tr("&Database URL · 数据库"), self.db_url)
        form.addRow(self.tr("&Agent number · 工号"), self.agent_no)
        form.addRow(self.tr("&CTI port · 端口"), self.cti_port)
        form.addRow(self.tr("&Microphone · 麦克风"), self.audio_input)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    def accept(self) -> None:
        candidate = dataclasses.replace(
            self._original,
            db_url=self.db_url.text().strip(),
            agent_no=self.agent_no.text().strip(),
            cti_port=self.cti_port.value(),
            audio_input=str(self.audio_input.currentData() or ""),
        )
        try:
            candidate.validate()
        except SettingsError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.result_settings = candidate
        super().accept()

    def _list_audio_inputs(self, chosen: str) -> None:
        """The machine's microphones as QtMultimedia sees them; the chosen one stays listed
        (and selected) when it is not connected, so saving never changes it by accident."""
        from agent_desk.ui.call_capture import CallCapture  # QtMultimedia: only when asked

        box = self.audio_input
        inputs = CallCapture.inputs()
        box.addItem(self.tr("System default · 系统默认"), "")
        for name in inputs:
            box.addItem(name, name)
        if chosen and chosen not in inputs:
            box.addItem(self.tr("{0} (not connected · 未连接)").format(chosen), chosen)
        if not inputs:
            box.setItemText(0, self.tr("System default (no microphone found · 未找到麦克风)"))
        box.setCurrentIndex(max(0, box.findData(chosen)))
