"""Run blocking work (database, disk, network) off the GUI thread, then report back on it.

Modelled on Anki's QueryOp: the function runs in Qt's global thread pool; its result or its
exception comes back through a queued signal and is handled on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QThreadPool, Signal

T = TypeVar("T")
log = logging.getLogger(__name__)


class _Relay(QObject):
    succeeded = Signal(object)
    failed = Signal(object)


class BackgroundOp(Generic[T]):
    """`BackgroundOp(parent, fn, on_success, on_failure).start()`

    `parent` owns the relay object, so a callback never runs after its widget is gone.
    """

    def __init__(
        self,
        parent: QObject,
        fn: Callable[[], T],
        on_success: Callable[[T], None],
        on_failure: Callable[[Exception], None],
    ) -> None:
        self._fn = fn
        self._relay = _Relay(parent)
        self._relay.succeeded.connect(on_success)
        self._relay.failed.connect(on_failure)
        self._relay.succeeded.connect(self._relay.deleteLater)
        self._relay.failed.connect(self._relay.deleteLater)

    def start(self) -> None:
        # A plain callable, not a QRunnable subclass: the pool then owns no Python wrapper
        # whose C++ half it deletes behind Python's back.
        QThreadPool.globalInstance().start(self._run)

    def _run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # handed to the GUI thread, which decides what the user sees
            log.debug("background work failed", exc_info=True)
            self._emit(self._relay.failed, exc.with_traceback(None))
        else:
            self._emit(self._relay.succeeded, result)
        finally:
            self._fn = _done  # drop what the work held (connections, rows) right away

    @staticmethod
    def _emit(signal: Any, value: object) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the window that asked was closed meanwhile: nobody to tell
            log.debug("background result dropped: its receiver is gone")


def _done() -> Any:
    raise RuntimeError("background work already ran")
