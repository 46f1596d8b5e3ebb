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
    ActionSpec("answer", "&Answer · 接听", "F2", "Answer the ringing call"),
    ActionSpec("hold", "&Hold / resume · 保持", "F3", "Put the caller on hold, or back"),
    ActionSpec("end", "&End call · 挂断", "F4", "Hang up: wrap-up begins"),
    ActionSpec(
        "finishWrapUp",
        "&Finish wrap-up · 完成小结",
        "Ctrl+Return",
        "Done with this call (a wrap-up code is needed)",
    ),
    ActionSpec(
        "ready", "&Ready · 就绪", "F9", "Take calls (in wrap-up: finish it first, with a code)"
    ),
    ActionSpec(
        "notReady",
        "&Not ready · 未就绪",
        "F10",
        "Stop taking calls (during a call: once it is done)",
    ),
    ActionSpec(
        "searchCustomer",
        "&Find customer · 查找客户",
        "Ctrl+F",
        "Search by name, phone, serial number or complaint reference",
    ),
    ActionSpec(
        "simulateCall",
        "&Simulate incoming call… · 模拟来电",
        "Ctrl+Shift+I",
        "Ring this desk from a number you type (training and demos)",
    ),
    ActionSpec(
        "newComplaint",
        "New &complaint · 新建投诉",
        "Ctrl+Shift+C",
        "Open the complaint form, filled in from the caller's record",
    ),
    ActionSpec(
        "sessionReplay",
        "&Replay and score sessions… · 录音回放质检",
        "Ctrl+Shift+R",
        "Replay recorded sessions in time with what happened on screen, and score them",
    ),
    ActionSpec(
        "packManager",
        "Script &packs… · 话术包管理",
        "Ctrl+Shift+K",
        "Write, validate, preview, publish and roll back script packs (trainers)",
    ),
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
