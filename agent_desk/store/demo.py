"""Demo data: plausible customers, purchases, promises, past calls and complaints.

Fast enough for 100,000 customers and a million session events in well under two minutes,
because the ORM is bypassed: ids are assigned here, rows are plain tuples, and they stream
to the database through COPY (PostgreSQL) or one executemany per table (SQLite), all in one
transaction. The schema must already be migrated; this never creates tables.

The same seed, `now` and starting database give the same rows. A second run adds to the
first: ids continue from the current maxima and every unique text key embeds an id.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from random import Random
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from agent_desk.core.roles import Role
from agent_desk.store import demo_vocab as V
from agent_desk.store.agents import DEMO_AGENTS, ensure_demo_agents
from agent_desk.store.models import Agent

Progress = Callable[[str, int, int], None]
Row = tuple[Any, ...]
T = TypeVar("T")

DAY = 86_400
HOUR = 3_600
CHINA_UTC_OFFSET = 8 * HOUR  # business hours and complaint reference dates are Beijing time
SESSION_DAYS = 180
PROGRESS_EVERY = 50_000
# uuid5 namespace for demo idempotency keys: deterministic, and distinct per complaint id.
DEMO_NAMESPACE = uuid.UUID("6f0b3c1e-5d1a-4c33-9a57-3f4e2d0c8b71")

# Written in this order so every foreign key points at rows already inserted.
TABLES = (
    "customers",
    "customer_phones",
    "purchases",
    "promises",
    "call_sessions",
    "session_events",
    "complaints",
    "complaint_events",
)


@dataclass
class SeedReport:
    """Rows written per table (agents: demo agents created now) and the wall time."""

    agents: int = 0
    customers: int = 0
    customer_phones: int = 0
    purchases: int = 0
    promises: int = 0
    call_sessions: int = 0
    session_events: int = 0
    complaints: int = 0
    complaint_events: int = 0
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "seconds"}

    @property
    def rows(self) -> int:
        return sum(self.counts().values())

    def summary(self) -> str:
        """One line for people, e.g. '100,000 customers, 1,000,000 session events, ...'."""
        parts = [f"{n:,} {table.replace('_', ' ')}" for table, n in self.counts().items() if n]
        return ", ".join(parts) or "nothing"


def seed_demo(
    engine: Engine,
    customers: int,
    sessions: int,
    *,
    events_per_session: int = 10,
    seed: int = 20261123,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> SeedReport:
    """Add demo data in one transaction: all of it, or nothing on error.

    `now` anchors every date (warranties, overdue complaints); it defaults to the current time.
    """
    if min(customers, sessions, events_per_session) < 0:
        raise ValueError("customers, sessions and events_per_session must not be negative")
    started = time.perf_counter()
    anchor = now or dt.datetime.now(dt.UTC)
    if anchor.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    report = SeedReport()
    with engine.connect() as conn:
        sink = _sink_for(conn)
        sink.lock()
        report.agents, agents = _demo_agents(conn)
        first = {table: sink.first_id(table) for table in TABLES}
        # Mixing the first customer id into the seed keeps a second run from repeating the
        # first run's names and numbers, while a run on an empty database uses `seed` as is.
        rng = Random(seed + ((first["customers"] - 1) << 32))
        gen = _Generator(rng, int(anchor.timestamp()), agents, first, events_per_session, sink)
        written = gen.write_all(customers, sessions, progress)
        for table, count in written.items():
            setattr(report, table, count)
        sink.finish()
        conn.commit()
    _refresh_statistics(engine)
    report.seconds = time.perf_counter() - started
    return report


def _refresh_statistics(engine: Engine) -> None:
    """A bulk load leaves the planner's statistics stale; the first screen pops after it
    should not pay for that with a full scan."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE " + ", ".join(TABLES))
        else:
            conn.exec_driver_sql("ANALYZE")


def _demo_agents(conn: Connection) -> tuple[int, dict[Role, tuple[int, str]]]:
    """Make sure the demo agents exist; map each role to the (id, agent_no) that acts in it."""
    # The Session joins the connection's transaction; it neither commits nor rolls it back.
    with Session(bind=conn) as orm:
        created = ensure_demo_agents(orm)
        orm.flush()
        numbers = [no for no, _name, _role in DEMO_AGENTS]
        rows = orm.execute(select(Agent.id, Agent.agent_no).where(Agent.agent_no.in_(numbers)))
        by_no = {no: agent_id for agent_id, no in rows}
    return len(created), {role: (by_no[no], no) for no, _name, role in DEMO_AGENTS}


# --- database sinks ---------------------------------------------------------------------------


class _Sink:
    """How rows reach one backend; subclasses differ in locking, id ranges and bulk path."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.raw: Any = conn.connection.driver_connection
        self.last_ids: dict[str, int] = {}

    def lock(self) -> None:
        raise NotImplementedError

    def first_id(self, table: str) -> int:
        raise NotImplementedError

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        raise NotImplementedError

    def finish(self) -> None:
        """Called after the last write, inside the transaction."""

    @staticmethod
    def ts(epoch: int) -> Any:
        raise NotImplementedError

    @staticmethod
    def day(value: dt.date) -> Any:
        raise NotImplementedError

    @staticmethod
    def flag(value: bool) -> Any:
        return value


class _SQLiteSink(_Sink):
    def lock(self) -> None:
        # Take the write lock before reading max(id): a deferred transaction could otherwise
        # read ids that another writer uses before our first insert. (An engine that begins
        # transactions itself already holds one; then the first insert takes the lock.)
        if not self.raw.in_transaction:
            self.conn.exec_driver_sql("BEGIN IMMEDIATE")

    def first_id(self, table: str) -> int:
        cur = self.raw.cursor()
        try:
            (last,) = cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()
        finally:
            cur.close()
        return int(last) + 1

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        marks = ", ".join("?" * len(columns))
        counted = _Counted(rows)
        cur = self.raw.cursor()
        try:
            # One executemany over an iterator: rows stream through, none is kept.
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", counted)
        finally:
            cur.close()
        return counted.count

    @staticmethod
    def ts(epoch: int) -> Any:
        # SQLAlchemy's own SQLite DATETIME text (UTC, no zone), so string comparison and the
        # ORM's reads agree with rows the desk writes itself.
        return time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime(epoch))

    @staticmethod
    def day(value: dt.date) -> Any:
        return value.isoformat()

    @staticmethod
    def flag(value: bool) -> Any:
        return int(value)


class _PostgresSink(_Sink):
    def lock(self) -> None:
        # Other writers wait for the seed, so ids taken from max(id) cannot be taken twice;
        # plain readers (ACCESS SHARE) carry on.
        self.conn.exec_driver_sql(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE")

    def _sequence(self, table: str) -> str:
        name = self.conn.exec_driver_sql(
            "SELECT pg_get_serial_sequence(%(t)s, 'id')", {"t": table}
        ).scalar_one()
        return str(name)

    def first_id(self, table: str) -> int:
        seq = self._sequence(table)
        # Past the sequence too: a value handed out to a transaction not yet committed must
        # not be reused by us.
        last = self.conn.exec_driver_sql(
            f"SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}),"
            f" (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {seq}))"
        ).scalar_one()
        return int(last) + 1

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        count = 0
        last_id = None
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self.raw.cursor() as cur, cur.copy(sql) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
                count += 1
                last_id = row[0]
        if last_id is not None:
            self.last_ids[table] = last_id
        return count

    def finish(self) -> None:
        for table, last_id in self.last_ids.items():
            seq = self._sequence(table)
            # Never backwards: someone may have drawn a value meanwhile without inserting yet.
            self.conn.exec_driver_sql(
                f"SELECT setval(%(s)s, GREATEST(%(v)s, (SELECT last_value FROM {seq})))",
                {"s": seq, "v": last_id},
            )

    @staticmethod
    def ts(epoch: int) -> Any:
        return dt.datetime.fromtimestamp(epoch, dt.UTC)

    @staticmethod
    def day(value: dt.date) -> Any:
        return value


def _sink_for(conn: Connection) -> _Sink:
    backend = conn.dialect.name
    if backend == "sqlite":
        return _SQLiteSink(conn)
    if backend == "postgresql" and conn.dialect.driver == "psycopg":
        return _PostgresSink(conn)
    raise ValueError(f"seed_demo supports SQLite and PostgreSQL with psycopg 3, not {backend}")


class _Counted:
    """Passes rows through and counts them."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Row]:
        for row in self.rows:
            self.count += 1
            yield row


# --- generation ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Customer:
    id: int
    phones: list[str]
    purchases: list[tuple[int, str]]  # (purchase id, product)


@dataclass(slots=True)
class _Call:
    id: int
    call_id: str
    started: int
    answered: bool
    ring_ms: int
    talk_ms: int
    number: str
    customer: _Customer | None
    agent_no: str
    agent_id: int
    code: str
    defaulted: bool
    complaint_ref: str | None


@dataclass(slots=True)
class _PendingComplaint:
    id: int
    reference: str
    call: _Call
    created: int


class _Generator:
    def __init__(
        self,
        rng: Random,
        now: int,
        agents: dict[Role, tuple[int, str]],
        first: dict[str, int],
        events_per_session: int,
        sink: _Sink,
    ) -> None:
        self.rand = rng.random  # bound once: it is called millions of times
        self.now = now
        self.today = dt.datetime.fromtimestamp(now + CHINA_UTC_OFFSET, dt.UTC).date()
        self.agents = agents
        self.first = first
        self.per_session = events_per_session
        self.sink = sink
        self.used_phones: set[str] = set()

    def write_all(self, customers: int, sessions: int, progress: Progress | None) -> dict[str, int]:
        """Generate and write every table in foreign-key order; rows written per table."""
        people, customer_rows, phone_rows = self.customers(customers)
        purchase_rows, promise_rows = self.purchases(people)
        calls, pending = self.calls(sessions, people)
        plan: list[tuple[str, Sequence[str], Iterable[Row], int]] = [
            ("customers", CUSTOMER_COLUMNS, customer_rows, len(customer_rows)),
            ("customer_phones", PHONE_COLUMNS, phone_rows, len(phone_rows)),
            ("purchases", PURCHASE_COLUMNS, purchase_rows, len(purchase_rows)),
            ("promises", PROMISE_COLUMNS, promise_rows, len(promise_rows)),
            ("call_sessions", SESSION_COLUMNS, map(self.session_row, calls), len(calls)),
            # The big one streams: a million event tuples are never held at once.
            ("session_events", EVENT_COLUMNS, self.events(calls), len(calls) * self.per_session),
        ]
        written: dict[str, int] = {}
        for table, columns, rows, total in plan:
            rows = _progress(rows, table, total, progress)
            written[table] = self.sink.write(table, columns, rows)
        complaint_rows, audit_rows = self.complaints(pending)
        for table, columns, rows in (
            ("complaints", COMPLAINT_COLUMNS, complaint_rows),
            ("complaint_events", AUDIT_COLUMNS, audit_rows),
        ):
            written[table] = self.sink.write(
                table, columns, _progress(rows, table, len(rows), progress)
            )
        return written

    # customers -----------------------------------------------------------------------------

    def customers(self, count: int) -> tuple[list[_Customer], list[Row], list[Row]]:
        rand, ts = self.rand, self.sink.ts
        people: list[_Customer] = []
        rows: list[Row] = []
        phone_rows: list[Row] = []
        phone_id = self.first["customer_phones"]
        for cid in range(self.first["customers"], self.first["customers"] + count):
            english = rand() < 0.02
            province, city, area, districts, streets = _pick(V.CITIES, rand)
            tags, needs = self.tags()
            phones = [(self.mobile(), "mobile")]
            if rand() < 0.2:
                phones.append((self.mobile(), "mobile"))
            if rand() < 0.05:
                phones.append((self.landline(area), "home"))
            for position, (number, label) in enumerate(phones):
                phone_rows.append((phone_id, cid, number, label, position))
                phone_id += 1
            people.append(_Customer(cid, [number for number, _label in phones], []))
            created = ts(self.now - int(rand() * 3 * 365 * DAY))
            rows.append(
                (
                    cid,
                    f"DEMO-C{cid:09d}",
                    _pick(V.ENGLISH_NAMES, rand) if english else self.chinese_name(),
                    self.address(province, city, districts, streets),
                    "en" if english else "zh",
                    json.dumps(tags),
                    needs,
                    created,
                    created,
                )
            )
        return people, rows, phone_rows

    def chinese_name(self) -> str:
        rand = self.rand
        # The product of two draws leans towards the front of the list, the common names.
        surname = V.SURNAMES[int(rand() * rand() * len(V.SURNAMES))]
        r = rand()
        if r < 0.25:
            return surname + _pick(V.GIVEN_NAMES, rand)
        if r < 0.55:
            return surname + _pick(V.GIVEN_CHARS, rand)
        return surname + _pick(V.GIVEN_CHARS, rand) + _pick(V.GIVEN_CHARS, rand)

    def address(
        self, province: str, city: str, districts: tuple[str, ...], streets: tuple[str, ...]
    ) -> str:
        rand = self.rand
        place = city if province == city else province + city
        street = f"{_pick(streets, rand)}{1 + int(rand() * 300)}号"
        if rand() < 0.8:  # most people live in a numbered block: 单元 (entrance) and flat
            floor = 1 + int(rand() * 28)
            street += f"{1 + int(rand() * 6)}单元{floor}{1 + int(rand() * 4):02d}"
        return f"{place}{_pick(districts, rand)}{street}"

    def tags(self) -> tuple[list[str], str]:
        rand = self.rand
        tags: list[str] = []
        if rand() < 0.08:
            tags.append("VIP")
        elderly = rand() < 0.12
        if elderly:
            tags.append("elderly")
        needs = ""
        if rand() < (0.25 if elderly else 0.02):
            tags.append("special_needs")
            needs = _pick(V.SPECIAL_NEEDS, rand)
        return tags, needs

    def mobile(self) -> str:
        rand = self.rand
        while True:
            number = f"+86{_pick(V.MOBILE_PREFIXES, rand)}{int(rand() * 100_000_000):08d}"
            if number not in self.used_phones:  # one owner per number within a run
                self.used_phones.add(number)
                return number

    def landline(self, area: str) -> str:
        rand = self.rand
        first = _pick(V.LANDLINE_FIRST_DIGITS, rand)
        return f"+86{area}{first}{int(rand() * 10_000_000):07d}"

    # purchases and promises -------------------------------------------------------------------

    def purchases(self, people: list[_Customer]) -> tuple[list[Row], list[Row]]:
        rand, day = self.rand, self.sink.day
        rows: list[Row] = []
        promise_rows: list[Row] = []
        pid = self.first["purchases"]
        for person in people:
            r = rand()
            count = 0 if r < 0.15 else 1 if r < 0.6 else 2 if r < 0.88 else 3
            for _ in range(count):
                product, models, prefix = _pick(V.PRODUCTS, rand)
                bought = self.today - dt.timedelta(days=10 + int(rand() * 6 * 365))
                # 1-3 years of warranty on purchases up to 6 years old: many have run out.
                warranty = bought + dt.timedelta(days=365 * (1 + int(rand() * 3)))
                notes = _pick(V.PURCHASE_NOTES, rand) if rand() < 0.3 else ""
                person.purchases.append((pid, product))
                rows.append(
                    (
                        pid,
                        person.id,
                        product,
                        _fill(_pick(models, rand), rand),
                        f"{prefix}{bought:%Y%m}{pid:09d}",
                        day(bought),
                        day(warranty),
                        notes,
                    )
                )
                if rand() < 0.08:
                    promise_rows.append(self.promise(len(promise_rows), person.id, pid, bought))
                pid += 1
        return rows, promise_rows

    def promise(self, index: int, customer_id: int, purchase_id: int, bought: dt.date) -> Row:
        rand, ts = self.rand, self.sink.ts
        since = int(dt.datetime(bought.year, bought.month, bought.day, tzinfo=dt.UTC).timestamp())
        promised = since + int(rand() * max(self.now - since, DAY))
        promised = min(promised, self.now - HOUR)
        due = promised + (2 + int(rand() * 28)) * DAY
        kept = None
        if due < self.now and rand() < 0.6:
            kept = ts(promised + int(rand() * (due - promised)))
        agents = (self.agents[Role.OPERATOR][0], self.agents[Role.TEAM_LEAD][0])
        return (
            self.first["promises"] + index,
            customer_id,
            purchase_id,
            _pick(V.PROMISES, rand),
            ts(promised),
            ts(due),
            kept,
            agents[rand() < 0.3],
        )

    # calls ----------------------------------------------------------------------------------

    def calls(
        self, count: int, people: list[_Customer]
    ) -> tuple[list[_Call], list[_PendingComplaint]]:
        rand = self.rand
        operator, lead = self.agents[Role.OPERATOR], self.agents[Role.TEAM_LEAD]
        calls: list[_Call] = []
        pending: list[_PendingComplaint] = []
        complaint_id = self.first["complaints"]
        # Ids grow with start time, as they do when calls arrive one after another.
        for offset, started in enumerate(self.start_times(count)):
            sid = self.first["call_sessions"] + offset
            person = _pick(people, rand) if people and rand() < 0.92 else None
            number = _pick(person.phones, rand) if person else self.mobile()
            answered = rand() >= 0.03
            agent_id, agent_no = lead if rand() < 0.15 else operator
            ring_ms = 2_000 + int(rand() * 18_000)
            if not answered:  # the caller sat through the queue announcements, then gave up
                ring_ms = 20_000 + int(rand() * 100_000)
            code, defaulted = "abandoned", True
            ref = None
            if answered:
                code, defaulted = self.wrap_up(person)
                if code == V.COMPLAINT_WRAP_UP and person is not None:
                    ref = _reference(complaint_id, started)
            call = _Call(
                id=sid,
                call_id=f"demo-{started}.{sid}",
                started=started,
                answered=answered,
                ring_ms=ring_ms,
                talk_ms=(30_000 + int(rand() * rand() * 900_000)) if answered else 0,
                number=number,
                customer=person,
                agent_no=agent_no,
                agent_id=agent_id,
                code=code,
                defaulted=defaulted,
                complaint_ref=ref,
            )
            calls.append(call)
            if ref is not None:
                created = started + (call.ring_ms + call.talk_ms) // 1000
                pending.append(_PendingComplaint(complaint_id, ref, call, created))
                complaint_id += 1
        return calls, pending

    def start_times(self, count: int) -> list[int]:
        rand = self.rand
        local_midnight = (self.now + CHINA_UTC_OFFSET) // DAY * DAY - CHINA_UTC_OFFSET
        times = []
        for _ in range(count):
            # Business hours 08:00-21:00 Beijing time on one of the last SESSION_DAYS days.
            start = local_midnight - int(rand() * SESSION_DAYS) * DAY + 8 * HOUR
            start += int(rand() * 13 * HOUR)
            if start > self.now - HOUR:  # later today has not happened yet
                start -= DAY
            times.append(start)
        times.sort()
        return times

    def wrap_up(self, person: _Customer | None) -> tuple[str, bool]:
        rand = self.rand
        # Complaints come only from known customers: ~1 in 20 calls overall.
        if person is not None and rand() < 0.054:
            return V.COMPLAINT_WRAP_UP, False
        code = _pick(V.WRAP_UPS, rand)[0]
        if code == V.OUTBOUND_WRAP_UP and person is None:
            code = "other"  # nobody calls back a number that matches no customer
        return code, rand() < 0.03

    def session_row(self, call: _Call) -> Row:
        rand, ts = self.rand, self.sink.ts
        ended = call.started + (call.ring_ms + call.talk_ms) // 1000
        owned = call.customer.purchases if call.customer else []
        product = _pick(owned, rand)[1] if owned else "产品"
        notes = ""
        if call.code == V.COMPLAINT_WRAP_UP:
            notes = f"客户投诉，已登记 {call.complaint_ref}"
        elif call.answered:
            for code, templates in V.WRAP_UPS:
                if code == call.code:
                    notes = _pick(templates, rand).format(p=product)
        # Demo calls have no audio: naming files that do not exist would only make every
        # replay say so. Their timelines replay alone.
        recording = None
        return (
            call.id,
            call.call_id,
            "outbound" if call.code == V.OUTBOUND_WRAP_UP else "inbound",
            call.number,
            call.agent_id,
            call.customer.id if call.customer else None,
            ts(call.started),
            ts(call.started + call.ring_ms // 1000) if call.answered else None,
            ts(ended),
            call.code,
            self.sink.flag(call.defaulted),
            notes,
            recording,
        )

    # session events -----------------------------------------------------------------------------

    def events(self, calls: list[_Call]) -> Iterator[Row]:
        event_id = self.first["session_events"]
        n = self.per_session
        if n == 0:
            return
        for call in calls:
            sid = call.id
            if call.answered:
                timeline = self.answered_timeline(call, n)
            else:
                timeline = self.abandoned_timeline(call, n)
            for offset, kind, payload in timeline:
                yield (event_id, sid, offset, kind, payload)
                event_id += 1

    def answered_timeline(self, call: _Call, n: int) -> list[tuple[int, str, str]]:
        rand = self.rand
        pop_ms = 40 + int(rand() * rand() * 900)
        customer = call.customer.id if call.customer else "null"
        answered_at = call.ring_ms
        ended_at = answered_at + call.talk_ms
        ani, dnis = call.number, V.DNIS
        if call.code == V.OUTBOUND_WRAP_UP:
            ani, dnis = dnis, ani
        head = [
            (0, "ringing", f'{{"ani":"{ani}","dnis":"{dnis}"}}'),
            (pop_ms, "screen_pop", f'{{"ms":{pop_ms},"customer_id":{customer}}}'),
            (answered_at, "answered", f'{{"agent":"{call.agent_no}"}}'),
        ]
        if n <= len(head):
            return head[:n]
        middle = self.middle_events(call, answered_at, call.talk_ms, max(n - 5, 0))
        tail = [
            (ended_at, "ended", _ENDED_BY[rand() < 0.8]),
            (
                ended_at + 5_000 + int(rand() * 60_000),
                "wrap_up",
                f'{{"code":"{call.code}","defaulted":{_JSON_BOOL[call.defaulted]}}}',
            ),
        ]
        return (head + middle + tail)[:n]

    def middle_events(
        self, call: _Call, start: int, span: int, m: int
    ) -> list[tuple[int, str, str]]:
        """m events spread over the talk time, each later than the one before."""
        rand = self.rand
        step = span // (m + 1)
        out: list[tuple[int, str, str]] = []
        complaint_at = int(rand() * m) if call.complaint_ref else -1
        on_hold_since = -1
        for i in range(m):
            offset = start + step * (i + 1) + int(rand() * (step // 3))
            if i == complaint_at:
                out.append((offset, "complaint_saved", f'{{"reference":"{call.complaint_ref}"}}'))
                continue
            if on_hold_since >= 0:
                out.append((offset, "unhold", f'{{"held_ms":{offset - on_hold_since}}}'))
                on_hold_since = -1
                continue
            kind = _MIDDLE_KINDS[int(rand() * len(_MIDDLE_KINDS))]
            if kind == "hold" and i == m - 1:
                kind = "note_saved"  # a hold needs room for its unhold
            if kind == "hold":
                on_hold_since = offset
                payload = _pick(_HOLD_PAYLOADS, rand)
            elif kind == "note_saved":
                payload = f'{{"chars":{5 + int(rand() * 120)}}}'
            elif kind == "coaching_warning":
                payload = _pick(_COACHING_PAYLOADS, rand)
            else:
                payload = _pick(_PROMPT_PAYLOADS, rand)
            out.append((offset, kind, payload))
        return out

    def abandoned_timeline(self, call: _Call, n: int) -> list[tuple[int, str, str]]:
        """The caller waited in the queue, heard announcements and hung up."""
        pop_ms = 40 + int(self.rand() * 400)
        customer = call.customer.id if call.customer else "null"
        out = [
            (0, "ringing", f'{{"ani":"{call.number}","dnis":"{V.DNIS}"}}'),
            (pop_ms, "screen_pop", f'{{"ms":{pop_ms},"customer_id":{customer}}}'),
        ]
        announcements = max(n - 3, 0)
        waited = call.ring_ms
        for k in range(announcements):
            at = 1_000 + (waited - 1_000) * k // announcements
            out.append((at, "queue_announcement", f'{{"position":{max(5 - k, 1)}}}'))
        out.append((waited, "abandoned", f'{{"waited_ms":{waited}}}'))
        return out[:n]

    # complaints -----------------------------------------------------------------------------

    def complaints(self, pending: list[_PendingComplaint]) -> tuple[list[Row], list[Row]]:
        """Complaint rows and their audit trails."""
        rand, ts = self.rand, self.sink.ts
        rows: list[Row] = []
        audit: list[Row] = []
        lead_id = self.agents[Role.TEAM_LEAD][0]
        audit_id = self.first["complaint_events"]
        last_by_customer: dict[int, int] = {}
        for item in pending:
            call = item.call
            person = call.customer
            assert person is not None  # complaints are only raised for known customers
            category = _pick(V.COMPLAINT_CATEGORIES, rand)
            purchase_id, product = None, "产品"
            if person.purchases and category not in ("staff_attitude", "other"):
                purchase_id, product = _pick(person.purchases, rand)
            description, wants = _pick(V.COMPLAINT_TEXT[category], rand)
            severity = _pick(V.SEVERITIES, rand)
            reply_hours = {"urgent": 24, "high": 24, "normal": 48, "low": 72}[severity]
            promised = item.created + reply_hours * HOUR
            status_index = self.complaint_progress(item.created)
            status = V.COMPLAINT_FLOW[status_index]
            overdue = promised < self.now and status_index < 3
            escalation = (1 + int(rand() * 2)) if overdue else 0
            department = V.DEPARTMENTS[category] if status_index >= 1 else ""
            assignee = _pick(V.ASSIGNEES, rand) if status_index >= 1 else ""
            repeat_of = last_by_customer.get(person.id) if rand() < 0.5 else None
            last_by_customer[person.id] = item.id
            trail = self.complaint_trail(item, status_index, promised, escalation)
            for at, actor, action, before, after, reason, payload in trail:
                actor_id = lead_id if actor == "lead" else call.agent_id
                if action == "assigned":
                    payload = json.dumps(
                        {"department": department, "assignee": assignee}, ensure_ascii=False
                    )
                audit.append(
                    (audit_id, item.id, ts(at), actor_id, action, before, after, reason, payload)
                )
                audit_id += 1
            rows.append(
                (
                    item.id,
                    item.reference,
                    str(uuid.uuid5(DEMO_NAMESPACE, f"complaint/{item.id}")),
                    person.id,
                    purchase_id,
                    call.id,
                    category,
                    severity,
                    description.format(p=product),
                    wants,
                    ts(promised),
                    department,
                    assignee,
                    call.number,
                    status,
                    escalation,
                    repeat_of,
                    call.agent_id,
                    ts(item.created),
                    ts(trail[-1][0]),
                    len(trail),
                )
            )
        return rows, audit

    def complaint_progress(self, created: int) -> int:
        """How far along the workflow a complaint of this age is; some get stuck."""
        rand = self.rand
        if rand() < 0.12:
            return int(rand() * 4)  # stuck before informing the customer: these go overdue
        age_days = (self.now - created) // DAY
        step = min(len(V.COMPLAINT_FLOW) - 1, age_days + int(rand() * 2))
        if step == len(V.COMPLAINT_FLOW) - 1 and rand() < 0.2:
            step -= 1  # resolved, but the customer never confirmed, so it is not closed
        return step

    def complaint_trail(
        self, item: _PendingComplaint, status_index: int, promised: int, escalation: int
    ) -> list[tuple[int, str, str, str | None, str | None, str, str]]:
        """Audit rows (at, actor, action, from, to, reason, payload), oldest first."""
        span = min(int((self.now - item.created) * 0.9), status_index * DAY)
        trail: list[tuple[int, str, str, str | None, str | None, str, str]] = []
        before: str | None = None
        for step in range(status_index + 1):
            status = V.COMPLAINT_FLOW[step]
            at = item.created + (span * step // status_index if status_index else 0)
            actor = "lead" if status in ("assigned", "closed") else "agent"
            payload = "{}"
            if step == 0:
                payload = f'{{"reference":"{item.reference}"}}'
            trail.append(
                (
                    at,
                    actor,
                    V.COMPLAINT_ACTIONS[status],
                    before,
                    status,
                    _STATUS_REASONS[status],
                    payload,
                )
            )
            before = status
        for level in range(1, escalation + 1):
            at = max(min(promised + level * 12 * HOUR, self.now - 60), trail[-1][0] + 1)
            trail.append(
                (
                    at,
                    "lead",
                    "escalated",
                    before,
                    before,
                    "超过承诺回复时间未回复客户",
                    f'{{"level":{level}}}',
                )
            )
        return trail


# --- helpers and fixed payloads -------------------------------------------------------------------


def _pick(items: Sequence[T], rand: Callable[[], float]) -> T:
    return items[int(rand() * len(items))]


def _fill(template: str, rand: Callable[[], float]) -> str:
    """A model code from its template: '#' becomes a digit, '@' a capital letter."""
    out = []
    for ch in template:
        if ch == "#":
            out.append(str(int(rand() * 10)))
        elif ch == "@":
            out.append(chr(65 + int(rand() * 26)))
        else:
            out.append(ch)
    return "".join(out)


def _reference(complaint_id: int, created: int) -> str:
    # TS-<Beijing date>-<6 digits>; the digits come from the id, so runs never collide
    # (until a database holds a million complaints).
    local = time.gmtime(created + CHINA_UTC_OFFSET)
    return f"TS-{time.strftime('%Y%m%d', local)}-{complaint_id % 1_000_000:06d}"


def _progress(
    rows: Iterable[Row], table: str, total: int, progress: Progress | None
) -> Iterator[Row]:
    if progress is None:
        yield from rows
        return
    progress(table, 0, total)
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % PROGRESS_EVERY == 0:
            progress(table, done, total)
    if done % PROGRESS_EVERY:  # the last chunk was not reported yet
        progress(table, done, total)


_JSON_BOOL = ("false", "true")
_ENDED_BY = ('{"by":"agent"}', '{"by":"customer"}')
_MIDDLE_KINDS = (
    "prompt_shown",
    "prompt_shown",
    "prompt_shown",
    "prompt_used",
    "prompt_used",
    "note_saved",
    "note_saved",
    "hold",
    "coaching_warning",
    "prompt_shown",
)
_PROMPT_PAYLOADS = tuple(json.dumps({"pack": "appliance-service", "prompt": p}) for p in V.PROMPTS)
_HOLD_PAYLOADS = tuple(json.dumps({"reason": r}, ensure_ascii=False) for r in V.HOLD_REASONS)
_COACHING_PAYLOADS = tuple(
    json.dumps({"phrase": p, "suggestion": s}, ensure_ascii=False) for p, s in V.COACHING
)
_STATUS_REASONS = {
    "received": "",
    "assigned": "按类别分派",
    "in_progress": "",
    "customer_informed": "已电话告知客户处理方案",
    "resolved": "已上门处理",
    "closed": "客户确认满意",
}

CUSTOMER_COLUMNS = (
    "id",
    "external_id",
    "name",
    "address",
    "language",
    "tags",
    "special_needs",
    "created_at",
    "updated_at",
)
PHONE_COLUMNS = ("id", "customer_id", "e164", "label", "position")
PURCHASE_COLUMNS = (
    "id",
    "customer_id",
    "product",
    "model",
    "serial",
    "purchase_date",
    "warranty_until",
    "notes",
)
PROMISE_COLUMNS = (
    "id",
    "customer_id",
    "purchase_id",
    "text",
    "promised_at",
    "due_at",
    "kept_at",
    "promised_by_id",
)
SESSION_COLUMNS = (
    "id",
    "call_id",
    "direction",
    "number",
    "agent_id",
    "customer_id",
    "started_at",
    "answered_at",
    "ended_at",
    "wrap_up_code",
    "wrap_up_defaulted",
    "notes",
    "recording_ref",
)
EVENT_COLUMNS = ("id", "session_id", "offset_ms", "kind", "payload")
COMPLAINT_COLUMNS = (
    "id",
    "reference",
    "idempotency_key",
    "customer_id",
    "purchase_id",
    "session_id",
    "category",
    "severity",
    "description",
    "customer_wants",
    "promised_reply_at",
    "department",
    "assignee",
    "callback_number",
    "status",
    "escalation_level",
    "repeat_of_id",
    "created_by_id",
    "created_at",
    "updated_at",
    "version",
)
AUDIT_COLUMNS = (
    "id",
    "complaint_id",
    "at",
    "actor_id",
    "action",
    "from_status",
    "to_status",
    "reason",
    "payload",
)
