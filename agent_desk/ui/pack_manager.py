"""`packManager`: where trainers work on script packs. Open a pack file, see its problems
in place as you edit, preview it as an operator sees it, see what changed against the
active version, publish it as a new version, and activate any published version (a
rollback is activating an earlier one)."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core.script_diff import diff_packs
from agent_desk.core.scripts import (
    PackInvalid,
    ScriptPack,
    parse_pack,
    summary,
    validate_pack_text,
)
from agent_desk.store.pack_publishing import activate_version, current_pack, load_active
from agent_desk.store.pack_publishing import publish_loaded as publish_pack_version
from agent_desk.store.packs import PackVersion, list_packs
from agent_desk.ui.background import BackgroundOp
from agent_desk.ui.script_panel import ScriptPanel

log = logging.getLogger(__name__)
VALIDATE_DELAY_MS = 400
LINE = Qt.ItemDataRole.UserRole


class PackManager(QWidget):
    published = Signal(str)  # "pack version", after a publish or activation

    def __init__(
        self,
        sessions: sessionmaker[Session] | None,
        agent_id: int | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("packManager")
        self.setAccessibleName("packManager")
        self.setWindowTitle(self.tr("Script packs · 话术包管理"))
        self.resize(1200, 760)
        self.sessions, self.agent_id = sessions, agent_id
        self.path: Path | None = None
        self.pack: ScriptPack | None = None  # the editor's text, when it is valid
        self.active: ScriptPack | None = None

        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("packEditor")
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.problems = QListWidget(self)
        self.problems.setObjectName("packProblems")
        self.status = QLabel(self.tr("Open a pack file (Ctrl+O) · 打开话术包文件"), self)
        self.status.setObjectName("packStatus")
        self.status.setWordWrap(True)
        self.preview = ScriptPanel(self)
        self.preview.setObjectName("packPreview")
        self.changes = QListWidget(self)
        self.changes.setObjectName("packChanges")
        self.versions = QTableWidget(0, 5, self)
        self.versions.setObjectName("packVersions")
        self.versions.setHorizontalHeaderLabels(
            [
                self.tr("Active"),
                self.tr("Pack"),
                self.tr("Version"),
                self.tr("Published"),
                self.tr("By"),
            ]
        )
        self.versions.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.versions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.activate_button = QPushButton(self.tr("&Activate selected version (roll back)"), self)
        self.activate_button.setObjectName("packActivate")
        self.activate_now = QCheckBox(self.tr("Activate on publish 发布后立即启用"), self)
        self.activate_now.setObjectName("packActivateOnPublish")
        self.activate_now.setChecked(True)

        toolbar = QToolBar(self)
        self.open_action = toolbar.addAction(self.tr("&Open… 打开"), self.open_file)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.save_action = toolbar.addAction(self.tr("&Save 保存"), self.save_file)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.publish_action = toolbar.addAction(self.tr("&Publish 发布"), self.publish)
        self.publish_action.setShortcut(QKeySequence("Ctrl+Shift+P"))
        toolbar.addWidget(self.activate_now)
        for action in (self.open_action, self.save_action, self.publish_action):
            action.setToolTip(f"{action.text()} ({action.shortcut().toString()})")

        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(self.editor)
        left.addWidget(self.problems)
        left.setSizes([560, 160])
        versions_page = QWidget(self)
        versions_layout = QVBoxLayout(versions_page)
        versions_layout.addWidget(self.versions)
        versions_layout.addWidget(self.activate_button)
        tabs = QTabWidget(self)
        tabs.addTab(self.preview, self.tr("Preview · 预览"))
        tabs.addTab(self.changes, self.tr("Changes · 变更"))
        tabs.addTab(versions_page, self.tr("Versions · 版本"))
        self.tabs = tabs
        body = QSplitter(Qt.Orientation.Horizontal, self)
        body.addWidget(left)
        body.addWidget(tabs)
        body.setSizes([640, 520])
        layout = QVBoxLayout(self)
        layout.addWidget(toolbar)
        layout.addWidget(self.status)
        layout.addWidget(body, 1)
        buttons = QHBoxLayout()
        layout.addLayout(buttons)

        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(VALIDATE_DELAY_MS)
        self._validate_timer.timeout.connect(self.validate)
        self.editor.textChanged.connect(self._validate_timer.start)
        self.problems.itemActivated.connect(self._jump_to_problem)
        self.problems.itemClicked.connect(self._jump_to_problem)
        self.activate_button.clicked.connect(self.activate_selected)
        self._update_actions()
        self.refresh_versions()

    # -- files ---------------------------------------------------------------------------------

    def open_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, self.tr("Open script pack"), "", self.tr("Script packs (*.yaml *.yml)")
        )
        if name:
            self.load_file(Path(name))

    def load_file(self, path: Path) -> None:
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.status.setText(self.tr("Cannot open {0}: {1}").format(path, exc))
            return
        self.path = path
        self.editor.setPlainText(text)
        self.validate()

    def save_file(self) -> None:
        if self.path is None:
            return
        try:
            self.path.write_text(self.editor.toPlainText(), encoding="utf-8")
        except OSError as exc:
            QMessageBox.warning(self, self.tr("Not saved"), str(exc))
            return
        self.status.setText(self.tr("Saved {0}").format(self.path))

    # -- validation, preview, changes -------------------------------------------------------------

    def validate(self) -> None:
        self._validate_timer.stop()
        text = self.editor.toPlainText()
        name = str(self.path) if self.path else "unsaved.yaml"
        base = self.path.parent if self.path else None
        problems = validate_pack_text(text, name, base)
        self.problems.clear()
        for problem in problems:
            item = QListWidgetItem(str(problem))
            item.setData(LINE, problem.line if problem.file == name else 0)
            self.problems.addItem(item)
        self.problems.setVisible(bool(problems))
        self.pack = None if problems else parse_pack(text, name, base)
        if self.pack is not None:
            self.status.setText(self.tr("✓ valid · 校验通过: {0}").format(summary(self.pack)))
            self.preview.set_pack(
                self.pack, self.tr("preview {0} {1}").format(self.pack.pack_id, self.pack.version)
            )
            self.preview.set_values({"agent_no": "1001"})
        else:
            self.status.setText(
                self.tr("✗ {0} problem(s): fix them to publish · 请先修正问题").format(
                    len(problems)
                )
            )
        self._show_changes()
        self._update_actions()

    def _jump_to_problem(self, item: QListWidgetItem) -> None:
        line = int(item.data(LINE) or 0)
        if line < 1:
            return
        block = self.editor.document().findBlockByLineNumber(line - 1)
        cursor = QTextCursor(block)
        cursor.select(QTextCursor.SelectionType.LineUnderCursor)
        self.editor.setTextCursor(cursor)
        self.editor.setFocus()

    def _show_changes(self) -> None:
        self.changes.clear()
        if self.pack is None:
            return
        changes = diff_packs(self.active, self.pack)
        against = (
            f"{self.active.pack_id} {self.active.version}"
            if self.active
            else self.tr("nothing active yet")
        )
        self.changes.addItem(
            self.tr("Against the active version ({0}): {1} change(s)").format(against, len(changes))
        )
        for change in changes:
            self.changes.addItem(str(change))

    def _update_actions(self) -> None:
        self.save_action.setEnabled(self.path is not None)
        self.publish_action.setEnabled(self.pack is not None and self.sessions is not None)
        self.activate_button.setEnabled(self.sessions is not None)

    # -- the shared database ------------------------------------------------------------------

    def refresh_versions(self) -> None:
        sessions = self.sessions
        if sessions is None:
            return

        def load() -> tuple[list[PackVersion], ScriptPack | None]:
            with sessions.begin() as session:
                versions = list(list_packs(session))
            active = current_pack(sessions)
            return versions, (load_active(sessions, active) if active else None)

        BackgroundOp(
            self, load, self._show_versions, lambda exc: self.status.setText(str(exc))
        ).start()

    def _show_versions(self, loaded: tuple[list[PackVersion], ScriptPack | None]) -> None:
        versions, self.active = loaded
        self.versions.setRowCount(len(versions))
        for row, v in enumerate(versions):
            cells = [
                "●" if v.active else "",
                v.pack_id,
                v.version,
                v.published_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                v.published_by or "",
            ]
            for column, text in enumerate(cells):
                self.versions.setItem(row, column, QTableWidgetItem(text))
        self.versions.resizeColumnsToContents()
        self._show_changes()

    def publish(self) -> None:
        pack, sessions = self.pack, self.sessions
        if pack is None or sessions is None:
            return
        activate = self.activate_now.isChecked()
        self.publish_action.setEnabled(False)
        BackgroundOp(
            self,
            lambda: publish_pack_version(sessions, pack, self.agent_id, activate=activate),
            lambda done: self._done(done.version),
            self._refused,
        ).start()

    def activate_selected(self) -> None:
        sessions, row = self.sessions, self.versions.currentRow()
        if sessions is None or row < 0:
            self.status.setText(self.tr("Choose a version in the list first"))
            return
        pack_id = self.versions.item(row, 1).text()
        version = self.versions.item(row, 2).text()
        BackgroundOp(
            self,
            lambda: activate_version(sessions, pack_id, version, self.agent_id),
            self._done,
            self._refused,
        ).start()

    def _done(self, version: PackVersion) -> None:
        state = self.tr("active on every desk") if version.active else self.tr("published")
        self.status.setText(f"✓ {version.pack_id} {version.version}: {state}")
        self.published.emit(f"{version.pack_id} {version.version}")
        self._update_actions()
        self.refresh_versions()

    def _refused(self, exc: Exception) -> None:
        if isinstance(exc, PackInvalid):
            message = "\n".join(str(p) for p in exc.problems[:5])
        else:
            message = str(exc)
        self.status.setText(f"✗ {message}")
        self._update_actions()
