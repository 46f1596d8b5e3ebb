from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from agent_desk.ui.paged_model import PagedListModel

PAGE = 5


@pytest.fixture
def owner(qtbot: QtBot) -> QWidget:
    """Models live inside a widget at the desk; so they do here, and go with it."""
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def pages(total: int):  # type: ignore[no-untyped-def]
    def fetch(cursor: int | None) -> tuple[list[int], int | None]:
        start = cursor or 0
        items = list(range(start, min(start + PAGE, total)))
        nxt = start + PAGE
        return items, (nxt if nxt < total else None)

    return fetch


def test_pages_load_in_order_and_the_model_is_consistent(
    qtbot: QtBot, qtmodeltester: ModelTester, owner: QWidget
) -> None:
    model: PagedListModel[int, int] = PagedListModel(lambda n: f"item {n}", parent=owner)
    first, cursor = pages(12)(None)
    model.reset(pages(12), first, cursor, has_more=True)
    qtmodeltester.check(model)  # the tester itself asks for more rows
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    while model.canFetchMore():
        with qtbot.waitSignal(model.pageLoaded, timeout=5000):
            model.fetchMore()
    assert model.items == list(range(12))
    assert model.data(model.index(3, 0)) == "item 3"
    qtmodeltester.check(model)


def test_a_page_for_a_replaced_list_is_dropped(qtbot: QtBot, owner: QWidget) -> None:
    release = threading.Event()

    def slow(cursor: int | None) -> tuple[list[int], int | None]:
        release.wait(5)
        return [99], None

    model: PagedListModel[int, int] = PagedListModel(str, parent=owner)
    model.reset(slow, [1], 1, has_more=True)
    model.fetchMore()
    model.reset(None, [7])  # the next caller's record replaces it meanwhile
    release.set()
    with qtbot.assertNotEmitted(model.pageLoaded, wait=300):
        pass
    assert model.items == [7]


def test_a_failed_page_is_reported_and_can_be_retried(qtbot: QtBot, owner: QWidget) -> None:
    calls = []

    def flaky(cursor: int | None) -> tuple[list[int], int | None]:
        calls.append(cursor)
        if len(calls) == 1:
            raise OSError("server closed the connection")
        return [2], None

    model: PagedListModel[int, int] = PagedListModel(str, parent=owner)
    model.reset(flaky, [1], 1, has_more=True)
    with qtbot.waitSignal(model.loadFailed, timeout=5000) as failed:
        model.fetchMore()
    assert "server closed" in failed.args[0]
    assert model.canFetchMore()
    with qtbot.waitSignal(model.pageLoaded, timeout=5000):
        model.fetchMore()
    assert model.items == [1, 2]
