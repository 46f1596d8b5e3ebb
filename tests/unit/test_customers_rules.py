"""The rules a screen pop reads by: warranty, overdue promises, history order, clean input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_desk.core.customers import (
    CustomerError,
    HistoryItem,
    clean_language,
    clean_name,
    clean_phones,
    complaint_overdue,
    is_overdue,
    merge_history_page,
    newest_first,
    normalise_tags,
    warranty_status,
)

TODAY = dt.date(2026, 11, 24)
NOW = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("until", "status"),
    [
        (None, "unknown"),
        (TODAY - dt.timedelta(days=1), "expired"),
        (TODAY, "expiring"),  # the last day still counts
        (TODAY + dt.timedelta(days=30), "expiring"),
        (TODAY + dt.timedelta(days=31), "in_warranty"),
        (dt.date(2030, 1, 1), "in_warranty"),
    ],
)
def test_warranty_status(until: dt.date | None, status: str) -> None:
    assert warranty_status(until, TODAY) == status


def test_overdue() -> None:
    assert is_overdue(NOW - dt.timedelta(seconds=1), NOW)
    assert not is_overdue(NOW, NOW)
    assert not is_overdue(NOW + dt.timedelta(hours=1), NOW)
    assert not is_overdue(None, NOW)


@pytest.mark.parametrize(
    ("status", "overdue"),
    [
        ("received", True),
        ("assigned", True),
        ("in_progress", True),
        ("customer_informed", False),
        ("resolved", False),
        ("closed", False),
    ],
)
def test_a_complaint_is_overdue_only_while_the_customer_waits(status: str, overdue: bool) -> None:
    assert complaint_overdue(status, NOW - dt.timedelta(hours=1), NOW) is overdue
    assert complaint_overdue(status, NOW + dt.timedelta(hours=1), NOW) is False


def _at(minutes: int) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


def test_history_is_newest_first_with_a_stable_tie_break() -> None:
    items = [
        HistoryItem.make(_at(10), "session", 1, "inquiry", ""),
        HistoryItem.make(_at(10), "note", 1, "", "called back"),
        HistoryItem.make(_at(5), "complaint", 7, "TS-1", ""),
        HistoryItem.make(_at(5), "session", 7, "repair_booking", ""),  # same moment and id
        HistoryItem.make(_at(5), "session", 3, "other", ""),
        HistoryItem.make(_at(20), "complaint", 2, "TS-0", ""),
    ]
    order = [(i.kind, i.key.row_id) for i in newest_first(reversed(items))]
    assert order == [
        ("session", 7),
        ("complaint", 7),
        ("session", 3),
        ("note", 1),
        ("session", 1),
        ("complaint", 2),
    ]
    assert newest_first(items) == newest_first(reversed(items))  # input order does not matter


@given(
    st.lists(
        st.tuples(
            st.integers(0, 6), st.sampled_from(["session", "complaint", "note"]), st.integers(1, 5)
        ),
        unique=True,
        max_size=40,
    ),
    st.integers(1, 7),
)
def test_paging_merged_sources_yields_each_item_once_in_order(
    rows: list[tuple[int, str, int]], limit: int
) -> None:
    items = [HistoryItem.make(_at(m), kind, rid, "", "") for m, kind, rid in rows]  # type: ignore[arg-type]
    sources = [
        [i for i in items if i.kind == "complaint"],
        [i for i in items if i.kind != "complaint"],
    ]
    seen: list[HistoryItem] = []
    cursor = None
    for _ in range(len(items) + 1):
        page = merge_history_page(sources, cursor, limit)
        assert len(page.items) <= limit
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == newest_first(items)


def test_merge_rejects_a_zero_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        merge_history_page([], None, 0)


def test_clean_input() -> None:
    assert clean_name("  王   小燕 ") == "王 小燕"
    with pytest.raises(CustomerError, match=r"^missing name$"):
        clean_name("   ")
    with pytest.raises(CustomerError, match="longer than 200"):
        clean_name("x" * 201)
    assert clean_language("") == "zh" and clean_language("en") == "en"
    assert clean_language("zh-Hant") == "zh-Hant"
    with pytest.raises(CustomerError, match="bad language 'chinese!'"):
        clean_language("chinese!")
    assert clean_phones(["138 0013 8000", "", "+8613800138000", "010-62345678"]) == (
        "+8613800138000",
        "+861062345678",
    )
    with pytest.raises(CustomerError, match=r"^bad phone '123': too short$"):
        clean_phones(["13800138000", "123"])
    with pytest.raises(CustomerError, match=r"^bad phone '12345': not a valid number in CN$"):
        clean_phones(["12345"])
    assert normalise_tags(["vip", " elderly ", "", "VIP", "回头客"]) == ("VIP", "elderly", "回头客")
