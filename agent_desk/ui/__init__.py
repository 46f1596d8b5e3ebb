"""Qt widgets: the only layer that imports PySide6."""

from __future__ import annotations

import linecache
import sys
from types import ModuleType

import PySide6.QtCore  # noqa: F401  (loads shiboken's import hook, adjusted below)


def _mentions_pyside(module: ModuleType) -> bool:
    """Whether the module's source mentions PySide6, read without keeping it."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False
    try:
        with open(path, "rb") as source:
            return b"PySide6" in source.read()
    except OSError:
        return False


def _stop_keeping_every_source() -> None:
    """PySide6's import hook asks of every module imported after it whether its source
    mentions "PySide6" (for `from __feature__ import ...`) with `inspect.getsource`, which
    keeps each file's lines in `linecache` for good: 20-25 MB of a running desk. The same
    question, asked of the file without the cache, and what it kept of the modules imported
    before this one dropped. Without that hook (another PySide6), nothing changes."""
    feature = sys.modules.get("shibokensupport.feature")
    if feature is not None and callable(getattr(feature, "_mod_uses_pyside", None)):
        feature._mod_uses_pyside = _mentions_pyside  # type: ignore[attr-defined]
        linecache.clearcache()  # read again on demand, for a traceback


_stop_keeping_every_source()
