"""A list model that loads its rows a page at a time, in the background, as the view
scrolls (Qt's canFetchMore/fetchMore protocol). Used for a customer's history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from agent_desk.ui.background import BackgroundOp

Item = TypeVar("Item")
Cursor = TypeVar("Cursor")
Index = QModelIndex | QPersistentModelIndex

# fetch(cursor) -> (items, next cursor or None when there is nothing more)
PageFetcher = Callable[[Cursor | None], tuple[Sequence[Item], Cursor | None]]
ItemRole = Qt.ItemDataRole.UserRole + 1


class PagedListModel(QAbstractListModel, Generic[Item, Cursor]):
    pageLoaded = Signal(int)  # rows added
    loadFailed = Signal(str)

    def __init__(
        self,
        display: Callable[[Item], str],
        tooltip: Callable[[Item], str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._display, self._tooltip = display, tooltip
        self._items: list[Item] = []
        self._fetch: PageFetcher[Cursor, Item] | None = None
        self._cursor: Cursor | None = None
        self._more = False
        self._loading = False
        self._generation = 0  # a page that arrives after reset() belongs to the old list

    def reset(
        self,
        fetch: PageFetcher[Cursor, Item] | None,
        first_page: Sequence[Item] = (),
        next_cursor: Cursor | None = None,
        has_more: bool = False,
    ) -> None:
        """Show a new list; `first_page` came with the screen pop, so nothing waits on it."""
        self.beginResetModel()
        self._generation += 1
        self._fetch, self._items = fetch, list(first_page)
        self._cursor, self._more, self._loading = next_cursor, has_more and fetch is not None, False
        self.endResetModel()

    @property
    def items(self) -> list[Item]:
        return list(self._items)

    @property
    def loading(self) -> bool:
        return self._loading

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item)
        if role == Qt.ItemDataRole.ToolTipRole and self._tooltip is not None:
            return self._tooltip(item)
        if role == ItemRole:
            return item
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent) or self._fetch is None:
            return
        self._loading = True
        fetch, cursor, generation = self._fetch, self._cursor, self._generation
        BackgroundOp(
            self,
            lambda: fetch(cursor),
            lambda page: self._append(generation, page),
            lambda exc: self._failed(generation, exc),
        ).start()

    def _append(self, generation: int, page: tuple[Sequence[Item], Cursor | None]) -> None:
        if generation != self._generation:
            return
        items, next_cursor = page
        self._loading = False
        self._cursor, self._more = next_cursor, next_cursor is not None
        if items:
            first = len(self._items)
            self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
            self._items.extend(items)
            self.endInsertRows()
        self.pageLoaded.emit(len(items))

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._loading = False  # the view may ask again: the next scroll retries
        self.loadFailed.emit(str(exc))
