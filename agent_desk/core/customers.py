"""What a screen pop shows, as plain values, and the rules that decide how it reads.

The store fills these from the database; the customer panel only displays them. They are
frozen so a worker thread can hand them to the GUI thread without copying.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from agent_desk.core.phones import DEFAULT_REGION, PhoneNumberError, normalise_number

WarrantyStatus = Literal["in_warranty", "expiring", "expired", "unknown"]
HistoryKind = Literal["session", "complaint", "note"]

EXPIRING_WITHIN_DAYS = 30
# A complaint leaves the "open" list once it is solved; until the customer has been told the
# outcome, the promised reply time is what the operator must keep.
CLOSED_COMPLAINT_STATUSES: frozenset[str] = frozenset({"resolved", "closed"})
REPLIED_COMPLAINT_STATUSES: frozenset[str] = frozenset({"customer_informed"})
KNOWN_TAGS: tuple[str, ...] = ("VIP", "elderly", "special_needs")
NAME_MAX_CHARS = 200  # customers.name
DEFAULT_LANGUAGE = "zh"
# BCP 47-ish: "zh", "en", "yue", "zh-Hant"; fits customers.language (16 characters).
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,2}$")
# Within one moment and one source row, a session's notes read above the session itself.
_KIND_RANK: dict[HistoryKind, int] = {"complaint": 0, "session": 1, "note": 2}


def warranty_status(warranty_until: dt.date | None, today: dt.date) -> WarrantyStatus:
    """In warranty, expiring (its last 30 days, the last day included), expired or unknown."""
    if warranty_until is None:
        return "unknown"
    if warranty_until < today:
        return "expired"
    if (warranty_until - today).days <= EXPIRING_WITHIN_DAYS:
        return "expiring"
    return "in_warranty"


def is_overdue(promised: dt.datetime | None, now: dt.datetime) -> bool:
    """A promise (reply time, callback) not kept by its time; None promised nothing."""
    return promised is not None and promised < now


def complaint_overdue(status: str, promised_reply_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Overdue only while the customer still waits for the promised reply."""
    if status in CLOSED_COMPLAINT_STATUSES or status in REPLIED_COMPLAINT_STATUSES:
        return False
    return is_overdue(promised_reply_at, now)


class CustomerError(ValueError):
    """Customer data the desk will not store; the message says which field and why."""


def clean_name(raw: str) -> str:
    name = " ".join(raw.split())  # a pasted name often carries doubled or trailing blanks
    if not name:
        raise CustomerError("missing name")
    if len(name) > NAME_MAX_CHARS:
        raise CustomerError(f"name is longer than {NAME_MAX_CHARS} characters")
    return name


def clean_language(raw: str) -> str:
    language = raw.strip()
    if not language:
        return DEFAULT_LANGUAGE
    if len(language) > 16 or not _LANGUAGE.match(language):
        raise CustomerError(f"bad language {language!r}: expected a code such as zh or en")
    return language


def clean_phones(raws: Iterable[str], region: str = DEFAULT_REGION) -> tuple[str, ...]:
    """E.164 numbers in the given order, blanks skipped and repeats dropped."""
    out: list[str] = []
    for raw in raws:
        if not raw.strip():
            continue
        try:
            e164 = normalise_number(raw.strip(), region)
        except PhoneNumberError as exc:
            raise CustomerError(f"bad phone {exc.value!r}: {exc.reason}") from None
        if e164 not in out:
            out.append(e164)
    return tuple(out)


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, without blanks or repeats, known tags in their canonical spelling ("vip")."""
    canonical = {t.casefold(): t for t in KNOWN_TAGS}
    out: list[str] = []
    for raw in tags:
        tag = raw.strip()
        tag = canonical.get(tag.casefold(), tag)
        if tag and tag not in out:
            out.append(tag)
    return tuple(out)


@dataclass(frozen=True)
class CustomerSummary:
    """One line of a "who is calling" choice, or the head of the customer panel."""

    id: int
    name: str
    phones: tuple[str, ...]  # E.164, in the customer's own order
    address: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class PromiseLine:
    text: str
    due_at: dt.datetime | None
    kept: bool
    overdue: bool


@dataclass(frozen=True)
class ProductLine:
    purchase_id: int
    product: str
    model: str
    serial: str | None
    purchase_date: dt.date | None
    warranty_until: dt.date | None
    warranty: WarrantyStatus
    promises: tuple[PromiseLine, ...]


@dataclass(frozen=True)
class OpenComplaint:
    id: int
    reference: str
    category: str
    status: str
    promised_reply_at: dt.datetime | None
    overdue: bool


@dataclass(frozen=True, order=True)
class HistoryCursor:
    """Where a history item sits in the newest-first order; also the key to page from.

    Ordered by time, then the source row id, then the kind rank, so two items at the same
    moment still have one fixed order and a page boundary between them loses nothing.
    """

    at: dt.datetime
    row_id: int
    rank: int


@dataclass(frozen=True)
class HistoryItem:
    at: dt.datetime
    kind: HistoryKind
    key: HistoryCursor
    title: str
    detail: str

    @staticmethod
    def make(
        at: dt.datetime, kind: HistoryKind, row_id: int, title: str, detail: str
    ) -> HistoryItem:
        return HistoryItem(at, kind, HistoryCursor(at, row_id, _KIND_RANK[kind]), title, detail)


class HistoryPage(NamedTuple):
    """A page of history; unpacks as `items, next_cursor`."""

    items: tuple[HistoryItem, ...]
    next_cursor: HistoryCursor | None  # None: this was the oldest page

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


@dataclass(frozen=True)
class ScreenPop:
    customer: CustomerSummary
    language: str
    special_needs: str
    products: tuple[ProductLine, ...]
    promises: tuple[PromiseLine, ...]  # promises not tied to one product
    open_complaints: tuple[OpenComplaint, ...]
    history: HistoryPage

    @property
    def tags(self) -> tuple[str, ...]:
        return self.customer.tags

    @property
    def has_more_history(self) -> bool:
        return self.history.has_more


def newest_first(items: Iterable[HistoryItem]) -> list[HistoryItem]:
    """The history order: newest first; ties broken by source row, then notes over sessions."""
    return sorted(items, key=lambda item: item.key, reverse=True)


def merge_history_page(
    sources: Iterable[Iterable[HistoryItem]], before: HistoryCursor | None, limit: int
) -> HistoryPage:
    """One page from several sources, newest first.

    Each source must hold at least its first `limit + 1` items older than `before`, or all it
    has: then the page is exact and one item to spare says whether another page follows.
    Items not strictly older than `before` are dropped, so a source may over-fetch rows that
    share the cursor's moment.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    merged = newest_first(
        item for source in sources for item in source if before is None or item.key < before
    )
    page = tuple(merged[:limit])
    more = len(merged) > limit
    return HistoryPage(page, page[-1].key if more else None)
