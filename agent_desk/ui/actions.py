"""Every desk command declared once: text, shortcut, tip. Menus, toolbars and shortcuts all
use the same QAction objects (Picard's action registry)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    shortcut: str | QKeySequence.StandardKey | None
    tip: str


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("ready", "&Ready · 就绪", "F9", "Take calls: tell the ACD you are ready"),
    ActionSpec("notReady", "&Not ready · 未就绪", "F10", "Stop taking calls for now"),
    ActionSpec(
        "reconnect",
        "Re&connect database",
        "Ctrl+R",
        "Open the database again (after fixing the settings or the network)",
    ),
    # QKeySequence.Preferences is empty on most Linux desktops: use the common Ctrl+,.
    ActionSpec("settings", "&Settings… · 设置", "Ctrl+,", "Database, agent number, CTI port"),
    ActionSpec("openLog", "Open &log folder", None, "Where the desk writes its log"),
    ActionSpec("quit", "&Quit", QKeySequence.StandardKey.Quit, "Close the desk"),
)


def create_actions(parent: QWidget) -> dict[str, QAction]:
    actions: dict[str, QAction] = {}
    for spec in ACTIONS:
        action = QAction(parent.tr(spec.text), parent)
        action.setObjectName(f"action_{spec.name}")
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
        tip = parent.tr(spec.tip)
        shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
        action.setStatusTip(tip)
        actions[spec.name] = action
    return actions
