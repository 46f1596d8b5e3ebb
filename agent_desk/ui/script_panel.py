"""`scriptPanel`: the prompts of the call's current stage, rendered with the call's values;
guidance by customer type; a search over the whole pack, like a response library.

Enter marks a prompt as used (after its blanks are filled), Ctrl+C copies it; Alt+1…Alt+7
jump between stages. The panel only shows and emits: the session records what it emits.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agent_desk.core.scripts import Prompt, ScriptPack, render_prompt, render_text, search_prompts

SAY_INSTEAD = "say_instead"  # the pseudo-stage listing "say this, not that"
PROMPT_ID = Qt.ItemDataRole.UserRole
NO_TYPE = ""


class ScriptPanel(QWidget):
    promptUsed = Signal(str, str)  # prompt id, the text as used
    promptCopied = Signal(str, str)
    stageChanged = Signal(str)  # stage id, whoever changed it
    customerTypeChosen = Signal(str)  # customer type id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scriptPanel")
        self.setAccessibleName("scriptPanel")
        self.pack: ScriptPack | None = None
        self.values: dict[str, str | None] = {}
        self._prompts: dict[str, Prompt] = {}
        self._filled: dict[str, dict[str, str]] = {}  # prompt id -> blank values, this call

        self.origin = QLabel(self)
        self.origin.setObjectName("scriptPackOrigin")
        self.stage = QComboBox(self)
        self.stage.setObjectName("stageSelector")
        self.stage.setAccessibleName("stageSelector")
        self.customer_type = QComboBox(self)
        self.customer_type.setObjectName("customerTypeSelector")
        self.customer_type.setAccessibleName("customerTypeSelector")
        self.search = QLineEdit(self)
        self.search.setObjectName("promptSearch")
        self.search.setPlaceholderText(self.tr("Find a prompt 查找话术 (中文 / English)"))
        self.search.setClearButtonEnabled(True)
        self.prompts = QListWidget(self)
        self.prompts.setObjectName("promptList")
        self.prompts.setAccessibleName("promptList")
        self.prompts.setWordWrap(True)
        self.prompts.setAlternatingRowColors(True)
        self.hint = QLabel(self.tr("Enter: used · Ctrl+C: copy · Alt+1…7: stage"), self)
        self.hint.setObjectName("scriptHint")

        selectors = QHBoxLayout()
        selectors.addWidget(self.stage, 1)
        selectors.addWidget(self.customer_type, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.origin)
        layout.addLayout(selectors)
        layout.addWidget(self.search)
        layout.addWidget(self.prompts, 1)
        layout.addWidget(self.hint)

        self.stage.activated.connect(lambda _i: self._stage_picked())
        self.customer_type.activated.connect(lambda _i: self._type_picked())
        self.search.textChanged.connect(lambda _t: self.refresh())
        self.prompts.itemActivated.connect(lambda item: self.use(item.data(PROMPT_ID)))
        self.prompts.installEventFilter(self)
        for n in range(1, 8):
            shortcut = QShortcut(QKeySequence(f"Alt+{n}"), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda index=n - 1: self.go_to_stage_index(index))

    # -- what the desk tells the panel ---------------------------------------------------------

    def set_pack(self, pack: ScriptPack, origin: str) -> None:
        keep_stage = self.current_stage()
        self.pack = pack
        self._prompts = {p.id: p for p in pack.prompts}
        self.origin.setText(self.tr("Script pack 话术包: {0}").format(origin))
        self.stage.clear()
        for number, stage in enumerate(pack.stages, start=1):
            self.stage.addItem(f"{number}. {stage.title.zh} · {stage.title.en or ''}", stage.id)
        self.stage.addItem(
            self.tr("{0}. 换种说法 · Say this, not that").format(len(pack.stages) + 1), SAY_INSTEAD
        )
        self.customer_type.clear()
        self.customer_type.addItem(self.tr("客户类型 · Customer type…"), NO_TYPE)
        for kind in pack.customer_types:
            self.customer_type.addItem(f"{kind.title.zh} · {kind.title.en or ''}", kind.id)
        if keep_stage:
            self.show_stage(keep_stage)
        self.refresh()

    def set_values(self, values: Mapping[str, str | None]) -> None:
        """The call's variables: agent number, customer name, product…"""
        self.values.update(values)
        self.refresh()

    def new_call(self) -> None:
        self._filled.clear()
        self.values.pop("customer_name", None)
        self.values.pop("product", None)
        self.customer_type.setCurrentIndex(0)
        self.search.clear()
        self.show_stage("opening")

    def show_stage(self, stage_id: str) -> None:
        """The call moved on (or the operator jumped): show that stage's prompts."""
        index = self.stage.findData(stage_id)
        if index >= 0 and index != self.stage.currentIndex():
            self.stage.setCurrentIndex(index)
            self.refresh()
            self.stageChanged.emit(stage_id)

    def go_to_stage_index(self, index: int) -> None:
        if 0 <= index < self.stage.count():
            self.show_stage(str(self.stage.itemData(index)))
            self.prompts.setFocus()

    def current_stage(self) -> str:
        return str(self.stage.currentData() or "")

    def current_type(self) -> str:
        return str(self.customer_type.currentData() or NO_TYPE)

    # -- showing -------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.prompts.clear()
        pack = self.pack
        if pack is None:
            return
        words = self.search.text().strip()
        if words:
            self._add_prompts(search_prompts(pack, words))
            return
        stage = self.current_stage()
        if stage == SAY_INSTEAD:
            for pair in pack.say_instead:
                say = render_text(pack, pair.say, self.values)
                item = QListWidgetItem(f"✗ {pair.avoid.zh}\n✓ {say.text}\n   {pair.say.en or ''}")
                item.setData(PROMPT_ID, "")
                self.prompts.addItem(item)
            return
        kind = self.current_type()
        if stage == "customer_type" and kind:
            prompts = next((k.prompts for k in pack.customer_types if k.id == kind), ())
        else:
            prompts = next((s.prompts for s in pack.stages if s.id == stage), ())
        self._add_prompts(prompts)
        if self.prompts.count():
            self.prompts.setCurrentRow(0)

    def _add_prompts(self, prompts: tuple[Prompt, ...] | list[Prompt]) -> None:
        for prompt in prompts:
            filled = self._filled.get(prompt.id, {})
            zh = render_prompt(prompt, self.values, "zh", filled)
            en = render_prompt(prompt, self.values, "en", filled)
            mark = "" if zh.ready else self.tr("  ✎ fill in 待填写")
            item = QListWidgetItem(f"{zh.text}{mark}\n   {en.text}")
            item.setData(PROMPT_ID, prompt.id)
            item.setToolTip(", ".join(prompt.rules + prompt.tags))
            self.prompts.addItem(item)

    # -- using ---------------------------------------------------------------------------------

    def rendered(self, prompt_id: str) -> str | None:
        """The prompt as it would be said now, or None while blanks are missing."""
        prompt = self._prompts.get(prompt_id)
        if prompt is None:
            return None
        result = render_prompt(prompt, self.values, "zh", self._filled.get(prompt_id, {}))
        return result.text if result.ready else None

    def use(self, prompt_id: str, copy: bool = False) -> None:
        prompt = self._prompts.get(prompt_id or "")
        if prompt is None:
            return
        if self.rendered(prompt_id) is None and not self._ask_blanks(prompt):
            return  # the operator cancelled: nothing used
        text = self.rendered(prompt_id)
        if text is None:
            return
        if copy:
            QGuiApplication.clipboard().setText(text)
            self.promptCopied.emit(prompt_id, text)
        else:
            self.promptUsed.emit(prompt_id, text)
        self.refresh()

    def fill_blanks(self, prompt_id: str, values: Mapping[str, str]) -> None:
        self._filled.setdefault(prompt_id, {}).update(values)
        self.refresh()

    def _ask_blanks(self, prompt: Prompt) -> bool:
        filled = self._filled.setdefault(prompt.id, {})
        for blank in prompt.blanks:
            if filled.get(blank.id):
                continue
            value, ok = QInputDialog.getText(
                self, self.tr("Fill in 填写"), f"{blank.label.zh} · {blank.label.en or ''}"
            )
            if not ok or not value.strip():
                return False
            filled[blank.id] = value.strip()
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.prompts
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.matches(QKeySequence.StandardKey.Copy)
        ):
            item = self.prompts.currentItem()
            if item is not None:
                self.use(str(item.data(PROMPT_ID)), copy=True)
            return True
        return False

    def _stage_picked(self) -> None:
        self.refresh()
        self.stageChanged.emit(self.current_stage())

    def _type_picked(self) -> None:
        kind = self.current_type()
        if kind:
            self.customerTypeChosen.emit(kind)
            self.show_stage("customer_type")
        self.refresh()
