"""Customer look-ups for the screen pop, the search box and the new-customer prompt.

Every function takes a Session inside the caller's short transaction (one per user action)
and returns the frozen values of `agent_desk.core.customers`, never ORM objects, so the
result can cross to the GUI thread. The screen pop is a fixed handful of indexed queries,
whatever the size of the customer's history: no lazy loads.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from agent_desk.core import phones as phone_rules
from agent_desk.core.customers import (
    CLOSED_COMPLAINT_STATUSES,
    CustomerError,
    CustomerSummary,
    HistoryCursor,
    HistoryItem,
    HistoryPage,
    OpenComplaint,
    ProductLine,
    PromiseLine,
    ScreenPop,
    clean_language,
    clean_name,
    clean_phones,
    complaint_overdue,
    is_overdue,
    merge_history_page,
    normalise_tags,
    warranty_status,
)
from agent_desk.store.models import (
    Agent,
    CallSession,
    Complaint,
    Customer,
    CustomerPhone,
    Promise,
    Purchase,
)
from agent_desk.store.values import escape_like, utc, utc_or_none

__all__ = [
    "CustomerError",
    "CustomerNotFound",
    "create_customer",
    "find_by_phone",
    "history_page",
    "load_screen_pop",
    "search_customers",
]

HISTORY_PAGE = 20
MAX_LIMIT = 500


class CustomerNotFound(LookupError):
    def __init__(self, customer_id: int) -> None:
        super().__init__(f"no customer with id {customer_id}")
        self.customer_id = customer_id


def find_by_phone(
    session: Session, number: str, region: str = phone_rules.DEFAULT_REGION
) -> list[CustomerSummary]:
    """Every customer with this number (a family or a company may share one), by id.

    `number` is normalised first (an E.164 number stays as it is), so a raw ANI works too;
    PhoneNumberError when it is no number at all, e.g. a withheld caller id.
    """
    e164 = phone_rules.normalise_number(number, region)
    # Two steps, not a subquery: with the ids as literals the planner always takes the
    # primary key, even on tables whose statistics are stale after a bulk load.
    ids = _ids(session, select(CustomerPhone.customer_id).where(CustomerPhone.e164 == e164))
    return _summaries(session, ids) if ids else []


def load_screen_pop(
    session: Session,
    customer_id: int,
    history_limit: int = HISTORY_PAGE,
    *,
    now: dt.datetime | None = None,
) -> ScreenPop:
    """Everything the customer panel shows, with the first page of history.

    `now` (timezone-aware) decides overdue promises and complaints and, in the desk's own
    time zone, which day warranties are measured against.
    """
    now = utc(now or dt.datetime.now(dt.UTC))
    head = _customer_head(session, customer_id)
    if head is None:
        raise CustomerNotFound(customer_id)
    summary, language, special_needs = head
    promises = _promises(session, customer_id, now)
    products = _products(session, customer_id, promises, today=now.astimezone().date())
    # What is left is tied to no purchase of this customer's: it still shows.
    loose = tuple(p for lines in promises.values() for p in lines)
    return ScreenPop(
        summary,
        language,
        special_needs,
        products,
        loose,
        _open_complaints(session, customer_id, now),
        history_page(session, customer_id, None, history_limit),
    )


def history_page(
    session: Session, customer_id: int, before: HistoryCursor | None, limit: int = HISTORY_PAGE
) -> HistoryPage:
    """Past calls (and their notes) and complaints, newest first, after `before`.

    Keyset paging: pass the page's `next_cursor` back to get the next one. Items added since
    the first page never shift later pages, and every item appears exactly once.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    # limit + 2 rows: the row the cursor points into may be cut, and one more tells the caller
    # whether another page follows.
    fetch = limit + 2
    return merge_history_page(
        (
            _session_items(session, customer_id, before, fetch),
            _complaint_items(session, customer_id, before, fetch),
        ),
        before,
        limit,
    )


def search_customers(
    session: Session, text: str, limit: int = 20, region: str = phone_rules.DEFAULT_REGION
) -> list[CustomerSummary]:
    """Customers matching `text` by phone, complaint reference, serial number or name, the
    surest matches first; it stops querying once it has `limit` customers."""
    text = text.strip()
    if not text or limit < 1:
        return []
    found: list[int] = []
    for query in _search_queries(text, limit, region):
        found.extend(cid for cid in _ids(session, query) if cid not in found)
        if len(found) >= limit:
            break
    found = found[:limit]
    by_id = {s.id: s for s in _summaries(session, found)} if found else {}
    return [by_id[cid] for cid in found if cid in by_id]


def _search_queries(text: str, limit: int, region: str) -> Iterator[Select[int]]:
    """Customer-id queries, surest first: exact phone, reference and serial; then what
    begins with the text; names containing it last, the only ones that read every row."""
    phone_like = phone_rules.looks_like_phone(text, region)
    if phone_like:
        try:
            e164 = phone_rules.normalise_number(text, region)
        except phone_rules.PhoneNumberError:
            pass
        else:
            yield (
                select(CustomerPhone.customer_id)
                .where(CustomerPhone.e164 == e164)
                .order_by(CustomerPhone.customer_id)
            )
    keys = sorted({text, text.upper()})
    yield select(Complaint.customer_id).where(Complaint.reference.in_(keys)).order_by(Complaint.id)
    yield select(Purchase.customer_id).where(Purchase.serial.in_(keys)).order_by(Purchase.id)
    if phone_like:
        for prefix in phone_rules.e164_prefixes(text, region):
            yield _starting_with(CustomerPhone.customer_id, CustomerPhone.e164, prefix, limit)
    if len(text) >= 3 and text.isascii() and not any(ch.isspace() for ch in text):
        code = text.upper()  # references and serials are written in capitals
        yield _starting_with(Complaint.customer_id, Complaint.reference, code, limit)
        yield _starting_with(Purchase.customer_id, Purchase.serial, code, limit)
    if not phone_like:
        likeliest = (Customer.name != text, func.length(Customer.name), Customer.id)
        escaped = escape_like(text)
        yield (
            _starting_with(Customer.id, Customer.name, text, limit)
            .where(Customer.name.like(escaped + "%", escape="\\"))
            .order_by(None)
            .order_by(*likeliest)
        )
        yield (
            select(Customer.id)
            .where(Customer.name.ilike("%" + escaped + "%", escape="\\"))
            .order_by(*likeliest)
            .limit(limit)
        )


def _starting_with(
    id_col: InstrumentedAttribute[int],
    key: InstrumentedAttribute[Any],
    prefix: str,
    limit: int,
) -> Select[int]:
    # A range, not LIKE 'x%': SQLite's LIKE ignores case and so never uses an index.
    return (
        select(id_col).where(key >= prefix, key < _after(prefix)).order_by(key, id_col).limit(limit)
    )


def create_customer(
    session: Session,
    name: str,
    phones: Sequence[str],
    address: str = "",
    tags: Iterable[str] = (),
    language: str = "zh",
    special_needs: str = "",
    *,
    region: str = phone_rules.DEFAULT_REGION,
) -> CustomerSummary:
    """A new customer (no external id: the desk made it). Everything is checked before
    anything is written, so a CustomerError leaves the session as it was."""
    clean = clean_name(name)
    numbers = clean_phones(phones, region)
    lang = clean_language(language)
    tag_list = list(normalise_tags(tags))
    customer = Customer(
        name=clean,
        address=address.strip(),
        language=lang,
        tags=tag_list,
        special_needs=special_needs.strip(),
        phones=[
            CustomerPhone(e164=e164, label=phone_rules.phone_label(e164), position=position)
            for position, e164 in enumerate(numbers)
        ],
    )
    session.add(customer)
    session.flush()
    return CustomerSummary(customer.id, clean, numbers, customer.address, tuple(tag_list))


# --- helpers --------------------------------------------------------------------------------


def _summaries(session: Session, ids: Sequence[int]) -> list[CustomerSummary]:
    """Summaries of these customers, by id, phones included: one query."""
    rows = session.execute(
        select(Customer.id, Customer.name, Customer.address, Customer.tags, CustomerPhone.e164)
        .outerjoin(CustomerPhone, CustomerPhone.customer_id == Customer.id)
        .where(Customer.id.in_(sorted(set(ids))))
        .order_by(Customer.id, CustomerPhone.position, CustomerPhone.id)
    )
    out: list[CustomerSummary] = []
    current: list[Any] | None = None
    numbers: list[str] = []
    for cid, name, address, tags, e164 in rows:
        if current is None or current[0] != cid:
            if current is not None:
                out.append(_summary(current, numbers))
            current, numbers = [cid, name, address, tags], []
        if e164 is not None:
            numbers.append(e164)
    if current is not None:
        out.append(_summary(current, numbers))
    return out


def _summary(head: list[Any], numbers: list[str]) -> CustomerSummary:
    cid, name, address, tags = head
    return CustomerSummary(cid, name, tuple(numbers), address, tuple(tags or ()))


def _customer_head(session: Session, customer_id: int) -> tuple[CustomerSummary, str, str] | None:
    rows = session.execute(
        select(
            Customer.name,
            Customer.address,
            Customer.tags,
            Customer.language,
            Customer.special_needs,
            CustomerPhone.e164,
        )
        .outerjoin(CustomerPhone, CustomerPhone.customer_id == Customer.id)
        .where(Customer.id == customer_id)
        .order_by(CustomerPhone.position, CustomerPhone.id)
    ).all()
    if not rows:
        return None
    name, address, tags, language, special_needs, _ = rows[0]
    numbers = tuple(r[5] for r in rows if r[5] is not None)
    return (
        CustomerSummary(customer_id, name, numbers, address, tuple(tags or ())),
        language,
        special_needs,
    )


def _promises(
    session: Session, customer_id: int, now: dt.datetime
) -> dict[int | None, list[PromiseLine]]:
    """The customer's promises by purchase id, newest first."""
    by_purchase: dict[int | None, list[PromiseLine]] = defaultdict(list)
    rows = session.execute(
        select(Promise.purchase_id, Promise.text, Promise.due_at, Promise.kept_at)
        .where(Promise.customer_id == customer_id)
        .order_by(Promise.promised_at.desc(), Promise.id.desc())
    )
    for purchase_id, text, due_at, kept_at in rows:
        due, kept = utc_or_none(due_at), kept_at is not None
        by_purchase[purchase_id].append(
            PromiseLine(text, due, kept, not kept and is_overdue(due, now))
        )
    return by_purchase


def _products(
    session: Session,
    customer_id: int,
    promises: dict[int | None, list[PromiseLine]],
    today: dt.date,
) -> tuple[ProductLine, ...]:
    """Newest purchase first, each with its promises (taken out of `promises`)."""
    rows = session.execute(
        select(
            Purchase.id,
            Purchase.product,
            Purchase.model,
            Purchase.serial,
            Purchase.purchase_date,
            Purchase.warranty_until,
        )
        .where(Purchase.customer_id == customer_id)
        .order_by(Purchase.purchase_date.desc().nulls_last(), Purchase.id.desc())
    )
    return tuple(
        ProductLine(
            pid,
            product,
            model,
            serial,
            bought,
            until,
            warranty_status(until, today),
            tuple(promises.pop(pid, ())),
        )
        for pid, product, model, serial, bought, until in rows
    )


def _open_complaints(
    session: Session, customer_id: int, now: dt.datetime
) -> tuple[OpenComplaint, ...]:
    """Not yet resolved, the most pressing reply first."""
    rows = session.execute(
        select(
            Complaint.id,
            Complaint.reference,
            Complaint.category,
            Complaint.status,
            Complaint.promised_reply_at,
        )
        .where(
            Complaint.customer_id == customer_id,
            Complaint.status.not_in(sorted(CLOSED_COMPLAINT_STATUSES)),
        )
        .order_by(Complaint.promised_reply_at, Complaint.id)
    )
    out = []
    for cid, ref, category, status, promised in rows:
        reply = utc_or_none(promised)
        out.append(
            OpenComplaint(cid, ref, category, status, reply, complaint_overdue(status, reply, now))
        )
    return tuple(out)


def _session_items(
    session: Session, customer_id: int, before: HistoryCursor | None, fetch: int
) -> list[HistoryItem]:
    started = CallSession.started_at
    query = (
        select(
            CallSession.id,
            started,
            CallSession.answered_at,
            CallSession.ended_at,
            CallSession.direction,
            CallSession.number,
            CallSession.wrap_up_code,
            CallSession.notes,
            Agent.agent_no,
            Agent.name,
        )
        .outerjoin(Agent, Agent.id == CallSession.agent_id)
        .where(CallSession.customer_id == customer_id)
    )
    if before is not None:
        query = query.where(*_at_or_before(started, CallSession.id, before))
    query = query.order_by(started.desc(), CallSession.id.desc()).limit(fetch)
    items: list[HistoryItem] = []
    for row in session.execute(query):
        sid, at, answered, ended, direction, number, code, notes, agent_no, agent = row
        at = utc(at)
        who = f"{agent_no} {agent}" if agent_no else ""
        title = code or ("unanswered" if ended is not None and answered is None else "in_progress")
        parts = [direction, phone_rules.display_number(number), who]
        if answered is not None and ended is not None:
            parts.append(_duration(utc(ended) - utc(answered)))
        items.append(HistoryItem.make(at, "session", sid, title, " · ".join(p for p in parts if p)))
        if notes and notes.strip():
            items.append(HistoryItem.make(at, "note", sid, who, notes.strip()))
    return items


def _complaint_items(
    session: Session, customer_id: int, before: HistoryCursor | None, fetch: int
) -> list[HistoryItem]:
    created = Complaint.created_at
    query = select(
        Complaint.id,
        created,
        Complaint.reference,
        Complaint.category,
        Complaint.status,
        Complaint.description,
    ).where(Complaint.customer_id == customer_id)
    if before is not None:
        query = query.where(*_at_or_before(created, Complaint.id, before))
    query = query.order_by(created.desc(), Complaint.id.desc()).limit(fetch)
    return [
        HistoryItem.make(utc(at), "complaint", cid, f"{ref} · {category} · {status}", text)
        for cid, at, ref, category, status, text in session.execute(query)
    ]


def _at_or_before(at_col: Any, id_col: Any, before: HistoryCursor) -> tuple[Any, ...]:
    """Rows whose (time, id) is at or before the cursor's; the merge drops the cursor's own.

    The plain `<=` on time comes first so the (customer_id, time) index bounds the scan.
    """
    at = utc(before.at)
    return (at_col <= at, or_(at_col < at, and_(at_col == at, id_col <= before.row_id)))


def _ids(session: Session, query: Select[Any]) -> list[int]:
    return [int(v) for v in session.scalars(query)]


def _after(prefix: str) -> str:
    """A string above every string starting with `prefix`, in code point order."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _duration(delta: dt.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}"
