"""Screen pop, history paging, search and the new-customer prompt on both databases."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core.customers import HistoryItem
from agent_desk.core.phones import PhoneNumberError
from agent_desk.core.roles import Role
from agent_desk.store.customers import (
    CustomerError,
    CustomerNotFound,
    create_customer,
    find_by_phone,
    history_page,
    load_screen_pop,
    search_customers,
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

# Noon in Beijing, so "today" is the same date wherever the test machine's clock is set.
NOW = dt.datetime(2026, 11, 24, 4, 0, tzinfo=dt.UTC)
TODAY = NOW.astimezone().date()
MOBILE, OTHER_MOBILE, LANDLINE = "+8613800138000", "+8613911112222", "+861062345678"


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield sessionmaker(engine, expire_on_commit=False)


def _customer(session: Session, name: str, *numbers: str, **extra: object) -> Customer:
    customer = Customer(
        name=name,
        phones=[CustomerPhone(e164=n, position=i) for i, n in enumerate(numbers)],
        **extra,
    )
    session.add(customer)
    session.flush()
    return customer


def _complaint(
    session: Session, customer: Customer, ref: str, status: str, reply_in_h: float, **extra: object
) -> Complaint:
    complaint = Complaint(
        reference=ref,
        idempotency_key=f"key-{ref}",
        customer_id=customer.id,
        category="product_quality",
        severity="normal",
        description=f"description of {ref}",
        promised_reply_at=NOW + dt.timedelta(hours=reply_in_h),
        status=status,
        **extra,
    )
    session.add(complaint)
    return complaint


@pytest.fixture
def wang(sessions: sessionmaker[Session]) -> int:
    """One customer with everything a screen pop shows, and a neighbour sharing a number."""
    with sessions.begin() as s:
        agent = Agent(agent_no="1001", name="王小燕", role=Role.OPERATOR)
        s.add(agent)
        wang = _customer(
            s,
            "王建国",
            MOBILE,
            LANDLINE,
            address="北京市海淀区中关村大街1号",
            tags=["VIP", "elderly"],
            language="zh",
            special_needs="听力不好，请大声慢说",
        )
        days = dt.timedelta(days=1)
        fridge = Purchase(
            customer_id=wang.id,
            product="冰箱",
            model="BCD-470",
            serial="RF1",
            purchase_date=TODAY - 400 * days,
            warranty_until=TODAY + 10 * days,
        )
        tv = Purchase(
            customer_id=wang.id,
            product="电视机",
            model="55Q",
            serial="TV1",
            purchase_date=TODAY - 100 * days,
            warranty_until=TODAY + 300 * days,
        )
        old = Purchase(
            customer_id=wang.id,
            product="空调",
            model="KFR",
            serial="AC1",
            purchase_date=TODAY - 2000 * days,
            warranty_until=TODAY - 1000 * days,
        )
        unknown = Purchase(customer_id=wang.id, product="燃气灶", model="", serial=None)
        s.add_all([fridge, tv, old, unknown])
        s.flush()
        s.add_all(
            [
                Promise(
                    customer_id=wang.id,
                    purchase_id=fridge.id,
                    text="两张金卡",
                    promised_at=NOW - 20 * days,
                    due_at=NOW - 1 * days,
                ),
                Promise(
                    customer_id=wang.id,
                    purchase_id=fridge.id,
                    text="上门回访",
                    promised_at=NOW - 30 * days,
                    due_at=NOW - 25 * days,
                    kept_at=NOW - 26 * days,
                ),
                Promise(
                    customer_id=wang.id,
                    purchase_id=None,
                    text="下周回电话",
                    promised_at=NOW - 2 * days,
                    due_at=NOW + 5 * days,
                ),
            ]
        )
        _complaint(s, wang, "TS-20261120-000001", "in_progress", -3)  # overdue
        _complaint(s, wang, "TS-20261122-000002", "received", 20)
        _complaint(s, wang, "TS-20261101-000003", "customer_informed", -100)
        _complaint(s, wang, "TS-20261001-000004", "closed", -1000)
        s.add(
            CallSession(
                call_id="c-1",
                number=MOBILE,
                customer_id=wang.id,
                agent_id=agent.id,
                started_at=NOW - 3 * days,
                answered_at=NOW - 3 * days,
                ended_at=NOW - 3 * days + dt.timedelta(seconds=252),
                wrap_up_code="inquiry",
                notes="询问保修期，已告知",
            )
        )
        neighbour = _customer(s, "李四", MOBILE, OTHER_MOBILE)
        _complaint(s, neighbour, "TS-20261123-000005", "received", -1)
        s.add(
            CallSession(
                call_id="c-2", number=OTHER_MOBILE, customer_id=neighbour.id, started_at=NOW - days
            )
        )
        return wang.id


def test_screen_pop_shows_the_whole_record(sessions: sessionmaker[Session], wang: int) -> None:
    with sessions.begin() as s:
        pop = load_screen_pop(s, wang, now=NOW)
    assert pop.customer.name == "王建国"
    assert pop.customer.phones == (MOBILE, LANDLINE)
    assert pop.tags == ("VIP", "elderly")
    assert pop.customer.address == "北京市海淀区中关村大街1号"
    assert (pop.language, pop.special_needs) == ("zh", "听力不好，请大声慢说")

    products = {p.product: p for p in pop.products}
    # Newest purchase first; one without a date last.
    assert [p.product for p in pop.products] == ["电视机", "冰箱", "空调", "燃气灶"]
    assert {name: p.warranty for name, p in products.items()} == {
        "冰箱": "expiring",
        "电视机": "in_warranty",
        "空调": "expired",
        "燃气灶": "unknown",
    }
    fridge = products["冰箱"]
    assert (fridge.model, fridge.serial) == ("BCD-470", "RF1")
    assert [(p.text, p.kept, p.overdue) for p in fridge.promises] == [
        ("两张金卡", False, True),
        ("上门回访", True, False),
    ]
    assert [(p.text, p.overdue) for p in pop.promises] == [("下周回电话", False)]

    assert [(c.reference, c.status, c.overdue) for c in pop.open_complaints] == [
        ("TS-20261101-000003", "customer_informed", False),  # replied: no longer waiting
        ("TS-20261120-000001", "in_progress", True),
        ("TS-20261122-000002", "received", False),
    ]
    assert all(c.promised_reply_at and c.promised_reply_at.tzinfo for c in pop.open_complaints)

    kinds = [(i.kind, i.title) for i in pop.history.items]
    assert ("session", "inquiry") in kinds and ("note", "1001 王小燕") in kinds
    assert sum(k == "complaint" for k, _ in kinds) == 4  # closed ones stay in the history
    assert all(i.at.tzinfo is not None for i in pop.history.items)
    note = next(i for i in pop.history.items if i.kind == "note")
    assert note.detail == "询问保修期，已告知"
    session_item = next(i for i in pop.history.items if i.kind == "session")
    assert session_item.detail == "inbound · 138 0013 8000 · 1001 王小燕 · 4:12"
    assert not pop.has_more_history and pop.history.next_cursor is None
    assert "TS-20261123-000005" not in {i.title.split(" ")[0] for i in pop.history.items}


def test_unknown_customer_id(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s, pytest.raises(CustomerNotFound, match="no customer with id 999"):
        load_screen_pop(s, 999)


def test_a_shared_number_finds_every_customer(sessions: sessionmaker[Session], wang: int) -> None:
    with sessions.begin() as s:
        both = find_by_phone(s, MOBILE)
        only = find_by_phone(s, OTHER_MOBILE)
        nobody = find_by_phone(s, "+8613012345678")
    assert [c.name for c in both] == ["王建国", "李四"]
    assert both[0].id == wang and both[1].phones == (MOBILE, OTHER_MOBILE)
    assert [c.name for c in only] == ["李四"]
    assert nobody == []
    with sessions.begin() as s:  # a raw caller id is normalised first
        assert find_by_phone(s, "138-0013-8000") == both
        assert find_by_phone(s, "+86 139 1111 2222") == only
        with pytest.raises(PhoneNumberError, match="not a phone number: 'anonymous'"):
            find_by_phone(s, "anonymous")


def test_paging_yields_every_history_item_once_newest_first(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        customer = _customer(s, "赵敏", "+8615000000001")
        base = NOW - dt.timedelta(days=30)
        for i in range(23):
            # Every third call shares its start with the one before: ties cross page edges.
            at = base + dt.timedelta(hours=i - i % 3)
            s.add(
                CallSession(
                    call_id=f"p-{i}",
                    number="+8615000000001",
                    customer_id=customer.id,
                    started_at=at,
                    notes=f"note {i}" if i % 2 else "",
                )
            )
        for i in range(6):
            _complaint(
                s, customer, f"TS-P-{i}", "closed", 0, created_at=base + dt.timedelta(hours=3 * i)
            )
        customer_id = customer.id
    expected_count = 23 + 11 + 6

    for limit in (1, 4, 7, 50):
        seen: list[HistoryItem] = []
        with sessions.begin() as s:
            page = load_screen_pop(s, customer_id, history_limit=limit, now=NOW).history
        seen.extend(page.items)
        while page.next_cursor is not None:
            with sessions.begin() as s:  # one short transaction per "show more"
                page = history_page(s, customer_id, page.next_cursor, limit)
            assert 0 < len(page.items) <= limit
            seen.extend(page.items)
        assert len(seen) == expected_count
        assert len({i.key for i in seen}) == expected_count
        assert [i.key for i in seen] == sorted((i.key for i in seen), reverse=True)
        assert all(a.at >= b.at for a, b in itertools.pairwise(seen))
    # A note sits right above its own session.
    for upper, lower in itertools.pairwise(seen):
        if upper.kind == "note":
            assert lower.kind == "session" and lower.key.row_id == upper.key.row_id


def test_new_history_never_shifts_later_pages(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        customer = _customer(s, "钱七", "+8615000000002")
        for i in range(6):
            s.add(
                CallSession(
                    call_id=f"n-{i}",
                    number="x",
                    customer_id=customer.id,
                    started_at=NOW - dt.timedelta(hours=10 - i),
                )
            )
        cid = customer.id
    with sessions.begin() as s:
        first = history_page(s, cid, None, 3)
    with sessions.begin() as s:  # a call arrives while the operator reads the first page
        s.add(CallSession(call_id="n-new", number="x", customer_id=cid, started_at=NOW))
    with sessions.begin() as s:
        second = history_page(s, cid, first.next_cursor, 3)
    assert [i.key for i in second.items] == sorted((i.key for i in second.items), reverse=True)
    assert {i.key for i in first.items}.isdisjoint(i.key for i in second.items)
    assert second.next_cursor is None and len(first.items + second.items) == 6


def test_history_page_limits(sessions: sessionmaker[Session], wang: int) -> None:
    with sessions.begin() as s, pytest.raises(ValueError, match="limit"):
        history_page(s, wang, None, 0)


SEARCHES = [
    ("王建国", ["王建国"]),
    ("建国", ["王建国"]),  # inside the name
    ("王", ["王建国"]),
    ("李", ["李四"]),
    ("13800138000", ["王建国", "李四"]),  # shared number
    ("+86 139 1111 2222", ["李四"]),
    ("１３９１１１１２２２２", ["李四"]),
    ("139 1111", ["李四"]),  # the start of a number
    ("010-6234", ["王建国"]),  # the start of a landline
    ("rf1", ["王建国"]),  # serial, any case
    ("TV1", ["王建国"]),
    ("TS-20261123-000005", ["李四"]),  # complaint reference
    ("ts-20261122", ["王建国"]),  # the start of one
    ("nobody", []),
    ("   ", []),
]


def test_search_by_each_key(sessions: sessionmaker[Session], wang: int) -> None:
    # One database for all the cases: each is a read.
    with sessions.begin() as s:
        found = {text: [c.name for c in search_customers(s, text)] for text, _ in SEARCHES}
    assert found == dict(SEARCHES)


def test_search_finds_latin_names_whatever_the_case(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        for name in ("John Smith", "Smithers", "Anna_Smith%"):
            _customer(s, name)
    with sessions.begin() as s:
        assert [c.name for c in search_customers(s, "smith")] == [
            "Smithers",
            "John Smith",
            "Anna_Smith%",
        ]
        assert [c.name for c in search_customers(s, "Smith")] == [
            "Smithers",
            "John Smith",
            "Anna_Smith%",
        ]
        assert [c.name for c in search_customers(s, "_smith%")] == ["Anna_Smith%"]
        assert len(search_customers(s, "smith", limit=1)) == 1


def test_create_customer(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        made = create_customer(
            s,
            " 孙 悟空 ",
            ["138-0013-8000", "+86 10 6234 5678", "13800138000"],
            address="花果山",
            tags=["vip", "elderly"],
            language="zh",
            special_needs="请慢说",
        )
    assert made.name == "孙 悟空" and made.phones == (MOBILE, LANDLINE)
    assert made.tags == ("VIP", "elderly")
    with sessions.begin() as s:
        assert find_by_phone(s, LANDLINE) == [made]
        labels = s.execute(
            select(CustomerPhone.e164, CustomerPhone.label).order_by(CustomerPhone.position)
        ).all()
        assert [tuple(r) for r in labels] == [(MOBILE, "mobile"), (LANDLINE, "landline")]
        pop = load_screen_pop(s, made.id, now=NOW)
        assert (pop.language, pop.special_needs) == ("zh", "请慢说")


@pytest.mark.parametrize(
    ("name", "phones", "language", "message"),
    [
        ("  ", ["13800138000"], "zh", "missing name"),
        ("张三", ["13800138000", "abc"], "zh", "bad phone 'abc': not a phone number"),
        ("张三", ["123"], "zh", "bad phone '123': too short"),
        ("张三", [], "中文", "bad language '中文'"),
    ],
)
def test_create_customer_refuses_bad_input_and_writes_nothing(
    sessions: sessionmaker[Session], name: str, phones: list[str], language: str, message: str
) -> None:
    with sessions.begin() as s:
        with pytest.raises(CustomerError) as err:
            create_customer(s, name, phones, language=language)
        assert str(err.value).startswith(message)
        assert isinstance(err.value, ValueError)
        assert s.scalar(select(func.count(Customer.id))) == 0
        assert s.scalar(select(func.count(CustomerPhone.id))) == 0
