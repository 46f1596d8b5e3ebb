"""Customers and purchases from the company's CRM export (CSV), imported or updated by id.

Each bad row becomes one `FILE:LINE: message` and is skipped; the good rows go in. The work
is done in chunks, each in its own transaction with a few bulk statements, so 100,000 rows
take seconds, and a database failure mid-file keeps the chunks before it and says where the
import stopped. Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from agent_desk.core import phones as phone_rules
from agent_desk.core.customers import (
    CustomerError,
    clean_language,
    clean_name,
    clean_phones,
    normalise_tags,
)
from agent_desk.store.models import Base, Customer, CustomerPhone, Purchase

Progress = Callable[[int, int], None]

CUSTOMER_COLUMNS = ("external_id", "name", "phones", "address", "tags", "language")
PURCHASE_COLUMNS = (
    "customer_external_id",
    "product",
    "model",
    "serial",
    "purchase_date",
    "warranty_until",
    "notes",
)
CHUNK_ROWS = 2_000
# ";" between phones and between tags; the full-width "；" too, as a Chinese IME types it.
LIST_SEPARATOR = re.compile(r"[;；]")
EXTERNAL_ID_MAX = 64
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Core tables, not ORM objects: bulk statements without per-row bookkeeping.
_customers = Base.metadata.tables[Customer.__tablename__]
_phones = Base.metadata.tables[CustomerPhone.__tablename__]
_purchases = Base.metadata.tables[Purchase.__tablename__]


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    rows: int = 0  # data rows read from the file
    bad_rows: int = 0
    unusable: bool = False  # the file itself could not be read: nothing was imported
    stopped_at_line: int | None = None  # a database failure ended the import here

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        text = f"{self.inserted:,} inserted, {self.updated:,} updated, {self.unchanged:,} unchanged"
        if self.bad_rows:
            text += f", {self.bad_rows:,} bad rows skipped"
        if self.stopped_at_line is not None:
            text += f"; stopped at line {self.stopped_at_line} by a database error"
        return f"{text} ({self.elapsed:.1f} s)"


@dataclass
class _Chunk:
    """What one chunk did; it reaches the report only once its transaction committed."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, line: int, message: str) -> None:
        self.rejected.append((line, message))


class _Rejected(Exception):
    """The file cannot be imported at all; the message is its one error line."""


@dataclass(frozen=True)
class _CustomerRow:
    line: int
    external_id: str
    name: str
    phones: tuple[str, ...]
    address: str
    tags: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class _PurchaseRow:
    line: int
    customer_external_id: str
    product: str
    model: str
    serial: str | None
    purchase_date: dt.date | None
    warranty_until: dt.date | None
    notes: str


def import_customers(
    engine: Engine, path: str | Path, progress: Progress | None = None
) -> ImportReport:
    """Insert new customers, update changed ones (their phones replaced), by external_id."""
    return _run(engine, path, CUSTOMER_COLUMNS, _parse_customer, _store_customers, progress)


def import_purchases(
    engine: Engine, path: str | Path, progress: Progress | None = None
) -> ImportReport:
    """Insert or update purchases of known customers; a purchase is the same one when it has
    the same customer and serial number (or, without a serial, product, model and date)."""
    return _run(engine, path, PURCHASE_COLUMNS, _parse_purchase, _store_purchases, progress)


# --- the common run: read, check the header, chunk, report -----------------------------------


Record = tuple[int, "dict[str, str] | str"]  # (line, values by column, or what is wrong)


def _run(
    engine: Engine,
    path: str | Path,
    columns: Sequence[str],
    parse: Callable[[int, dict[str, str]], Any],
    store: Callable[[Connection, list[Any], _Chunk], None],
    progress: Progress | None,
) -> ImportReport:
    started = time.perf_counter()
    name = str(path)
    report = ImportReport()
    try:
        records = _records(Path(path), name, columns)
    except _Rejected as exc:
        report.errors.append(str(exc))
        report.unusable = True
        report.elapsed = time.perf_counter() - started
        return report
    report.rows = len(records)
    problems: list[tuple[int, str]] = []

    def reject(line: int, message: str) -> None:
        problems.append((line, message))
        report.bad_rows += 1

    if progress is not None:
        progress(0, report.rows)
    seen: dict[tuple[Any, ...], int] = {}
    for first in range(0, len(records), CHUNK_ROWS):
        chunk = records[first : first + CHUNK_ROWS]
        good = _parse_chunk(chunk, parse, seen, reject)
        if good:
            done = _Chunk()
            try:
                with engine.begin() as conn:
                    store(conn, good, done)
            except SQLAlchemyError as exc:
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
                line = chunk[0][0]
                problems.append(
                    (
                        line,
                        f"database error, import stopped here (the good rows before line "
                        f"{line} are imported): {reason[0] if reason else type(exc).__name__}",
                    )
                )
                report.stopped_at_line = line
                break
            report.inserted += done.inserted
            report.updated += done.updated
            report.unchanged += done.unchanged
            for rejected in done.rejected:
                reject(*rejected)
        if progress is not None:
            progress(first + len(chunk), report.rows)
    problems.sort(key=lambda p: p[0])  # stable: a line's own messages keep their order
    report.errors.extend(f"{name}:{line}: {message}" for line, message in problems)
    report.elapsed = time.perf_counter() - started
    return report


def _parse_chunk(
    chunk: list[Record],
    parse: Callable[[int, dict[str, str]], Any],
    seen: dict[tuple[Any, ...], int],
    reject: Callable[[int, str], None],
) -> list[Any]:
    """The chunk's rows that pass every check the file alone can decide."""
    good: list[Any] = []
    for line, values in chunk:
        if isinstance(values, str):
            reject(line, values)
            continue
        try:
            row = parse(line, values)
        except CustomerError as exc:
            reject(line, str(exc))
            continue
        key = _identity(row)
        if key in seen:
            reject(line, _duplicate_message(row, seen[key]))
            continue
        seen[key] = line
        good.append(row)
    return good


def _records(path: Path, name: str, columns: Sequence[str]) -> list[Record]:
    """(line, values by column) for every non-blank data row, or what is wrong with it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _Rejected(f"{name}: cannot read: {exc.strerror or exc}") from None
    text = _decode(data, name)
    expected = ",".join(columns)
    if not text.strip():
        raise _Rejected(f"{name}:1: empty file: expected the header {expected}")
    reader = csv.reader(io.StringIO(text, newline=""))
    out: list[Record] = []
    try:
        given = [h.strip() for h in next(reader)]
        header = [h.lower() for h in given]  # "External_ID" is still the external_id column
        _check_header(header, given, columns, name, expected)
        line = reader.line_num + 1  # where the next record starts: a quoted field may span lines
        for values in reader:
            if any(v.strip() for v in values):
                if len(values) != len(header):
                    out.append((line, f"expected {len(header)} columns, found {len(values)}"))
                else:
                    out.append((line, dict(zip(header, values, strict=True))))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise _Rejected(f"{name}:{reader.line_num}: not a readable CSV file: {exc}") from None
    return out


def _decode(data: bytes, name: str) -> str:
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = "save it as CSV UTF-8"
        try:
            data.decode("gb18030")
            hint = "it looks like GBK/GB18030 (Excel's default on Chinese Windows): " + hint
        except UnicodeDecodeError:
            pass
        bad = data[exc.start : exc.start + 1].hex()
        raise _Rejected(f"{name}:{line}: not UTF-8 text (byte 0x{bad}); {hint}") from None


def _check_header(
    header: list[str], given: list[str], columns: Sequence[str], name: str, expected: str
) -> None:
    if header == list(columns):
        return
    problems = []
    missing = [c for c in columns if c not in header]
    unknown = [g for h, g in zip(header, given, strict=True) if h not in columns]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if missing:
        problems.append("missing column " + ", ".join(missing))
    if unknown:
        problems.append("unknown column " + ", ".join(repr(u) for u in unknown))
    if repeated:
        problems.append("repeated column " + ", ".join(repeated))
    if not problems:
        return  # the right columns in another order: read by name
    if len(given) == 1 and (";" in given[0] or "\t" in given[0]):
        problems.append("columns must be separated by commas")
    raise _Rejected(f"{name}:1: bad header: {'; '.join(problems)}; expected {expected}")


def _identity(row: _CustomerRow | _PurchaseRow) -> tuple[Any, ...]:
    if isinstance(row, _CustomerRow):
        return ("customer", row.external_id)
    if row.serial:
        return ("purchase", row.customer_external_id, row.serial)
    return ("purchase", row.customer_external_id, row.product, row.model, row.purchase_date)


def _duplicate_message(row: _CustomerRow | _PurchaseRow, first_line: int) -> str:
    if isinstance(row, _CustomerRow):
        return f"external_id {row.external_id!r} repeats line {first_line}"
    return f"the same purchase as line {first_line}"


# --- customers --------------------------------------------------------------------------------


def _parse_customer(line: int, values: dict[str, str]) -> _CustomerRow:
    external_id = values["external_id"].strip()
    if not external_id:
        raise CustomerError("missing external_id")
    if len(external_id) > EXTERNAL_ID_MAX:
        raise CustomerError(f"external_id is longer than {EXTERNAL_ID_MAX} characters")
    return _CustomerRow(
        line,
        external_id,
        clean_name(values["name"]),
        clean_phones(LIST_SEPARATOR.split(values["phones"])),
        values["address"].strip(),
        normalise_tags(LIST_SEPARATOR.split(values["tags"])),
        clean_language(values["language"]),
    )


def _store_customers(conn: Connection, rows: list[_CustomerRow], done: _Chunk) -> None:
    by_ext = {r.external_id: r for r in rows}
    existing = {
        ext: (cid, cur_name, address, list(tags or ()), language)
        for cid, ext, cur_name, address, tags, language in conn.execute(
            select(
                _customers.c.id,
                _customers.c.external_id,
                _customers.c.name,
                _customers.c.address,
                _customers.c.tags,
                _customers.c.language,
            ).where(_customers.c.external_id.in_(list(by_ext)))
        )
    }
    numbers: dict[int, list[str]] = {cid: [] for cid, *_ in existing.values()}
    if numbers:
        for cid, e164 in conn.execute(
            select(_phones.c.customer_id, _phones.c.e164)
            .where(_phones.c.customer_id.in_(list(numbers)))
            .order_by(_phones.c.customer_id, _phones.c.position, _phones.c.id)
        ):
            numbers[cid].append(e164)

    new = [r for r in rows if r.external_id not in existing]
    changed: list[tuple[int, _CustomerRow]] = []
    for row in rows:
        if row.external_id not in existing:
            continue
        cid, cur_name, address, tags, language = existing[row.external_id]
        now = (cur_name, address, tags, language, numbers[cid])
        wanted = (row.name, row.address, list(row.tags), row.language, list(row.phones))
        if now == wanted:
            done.unchanged += 1
        else:
            changed.append((cid, row))

    phone_owner: list[tuple[int, _CustomerRow]] = list(changed)
    if new:
        inserted = conn.execute(
            insert(_customers).returning(_customers.c.id, _customers.c.external_id),
            [
                {
                    "external_id": r.external_id,
                    "name": r.name,
                    "address": r.address,
                    "tags": list(r.tags),
                    "language": r.language,
                }
                for r in new
            ],
        )
        phone_owner += [(cid, by_ext[ext]) for cid, ext in inserted]
        done.inserted += len(new)
    if changed:
        conn.execute(
            update(_customers)
            .where(_customers.c.id == bindparam("b_id"))
            .values(
                name=bindparam("b_name"),
                address=bindparam("b_address"),
                tags=bindparam("b_tags"),
                language=bindparam("b_language"),
            ),
            [
                {
                    "b_id": cid,
                    "b_name": r.name,
                    "b_address": r.address,
                    "b_tags": list(r.tags),
                    "b_language": r.language,
                }
                for cid, r in changed
            ],
        )
        # Replaced, not merged: the CRM is the record of which numbers a customer has.
        conn.execute(delete(_phones).where(_phones.c.customer_id.in_([c for c, _ in changed])))
        done.updated += len(changed)
    phone_rows = [
        {
            "customer_id": cid,
            "e164": e164,
            "label": phone_rules.phone_label(e164),
            "position": position,
        }
        for cid, row in phone_owner
        for position, e164 in enumerate(row.phones)
    ]
    if phone_rows:
        conn.execute(insert(_phones), phone_rows)


# --- purchases --------------------------------------------------------------------------------


def _parse_purchase(line: int, values: dict[str, str]) -> _PurchaseRow:
    external_id = values["customer_external_id"].strip()
    if not external_id:
        raise CustomerError("missing customer_external_id")
    product = values["product"].strip()
    if not product:
        raise CustomerError("missing product")
    bought = _date(values["purchase_date"], "purchase_date")
    until = _date(values["warranty_until"], "warranty_until")
    if bought is not None and until is not None and until < bought:
        raise CustomerError(f"warranty_until {until} is before purchase_date {bought}")
    serial = values["serial"].strip() or None
    for column, value, limit in (("product", product, 100), ("serial", serial or "", 64)):
        if len(value) > limit:
            raise CustomerError(f"{column} is longer than {limit} characters")
    model = values["model"].strip()
    if len(model) > 100:
        raise CustomerError("model is longer than 100 characters")
    return _PurchaseRow(
        line, external_id, product, model, serial, bought, until, values["notes"].strip()
    )


def _date(raw: str, column: str) -> dt.date | None:
    text = raw.strip()
    if not text:
        return None
    if _DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise CustomerError(f"bad {column} {text!r}: expected YYYY-MM-DD")


def _store_purchases(conn: Connection, rows: list[_PurchaseRow], done: _Chunk) -> None:
    wanted_ext = sorted({r.customer_external_id for r in rows})
    owners: dict[str, int] = {
        ext: cid
        for ext, cid in conn.execute(
            select(_customers.c.external_id, _customers.c.id).where(
                _customers.c.external_id.in_(wanted_ext)
            )
        )
    }
    known: list[tuple[int, _PurchaseRow]] = []
    for row in rows:
        cid = owners.get(row.customer_external_id)
        if cid is None:
            done.reject(row.line, f"unknown customer external id {row.customer_external_id!r}")
        else:
            known.append((cid, row))
    if not known:
        return
    existing: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for pid, cid, product, model, serial, bought, until, notes in conn.execute(
        select(
            _purchases.c.id,
            _purchases.c.customer_id,
            _purchases.c.product,
            _purchases.c.model,
            _purchases.c.serial,
            _purchases.c.purchase_date,
            _purchases.c.warranty_until,
            _purchases.c.notes,
        )
        .where(_purchases.c.customer_id.in_(sorted({cid for cid, _ in known})))
        .order_by(_purchases.c.id)
    ):
        key = _purchase_key(cid, serial, product, model, bought)
        existing.setdefault(key, (pid, product, model, serial, bought, until, notes))

    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for cid, row in known:
        values = {
            "product": row.product,
            "model": row.model,
            "serial": row.serial,
            "purchase_date": row.purchase_date,
            "warranty_until": row.warranty_until,
            "notes": row.notes,
        }
        current = existing.get(
            _purchase_key(cid, row.serial, row.product, row.model, row.purchase_date)
        )
        if current is None:
            new.append({"customer_id": cid, **values})
        elif current[1:] == tuple(values.values()):
            done.unchanged += 1
        else:
            changed.append({"b_id": current[0], **{f"b_{k}": v for k, v in values.items()}})
    if new:
        conn.execute(insert(_purchases), new)
        done.inserted += len(new)
    if changed:
        conn.execute(
            update(_purchases)
            .where(_purchases.c.id == bindparam("b_id"))
            .values({k: bindparam(f"b_{k}") for k in _PURCHASE_VALUES}),
            changed,
        )
        done.updated += len(changed)


_PURCHASE_VALUES = ("product", "model", "serial", "purchase_date", "warranty_until", "notes")


def _purchase_key(
    customer_id: int, serial: str | None, product: str, model: str, bought: dt.date | None
) -> tuple[Any, ...]:
    if serial:
        return (customer_id, serial)
    return (customer_id, None, product, model, bought)
