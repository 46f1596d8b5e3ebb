"""CRM import: every bad row as `FILE:LINE: message`, the good rows in, idempotent; and the
`customers import` / `purchases import` commands' exit codes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from agent_desk.cli import main
from agent_desk.commands import crm as crm_command
from agent_desk.store import crm_import
from agent_desk.store.crm_import import ImportReport, import_customers, import_purchases
from agent_desk.store.customers import find_by_phone
from agent_desk.store.models import Customer, CustomerPhone, Purchase
from tests.conftest import url_text

CUSTOMER_HEADER = "external_id,name,phones,address,tags,language"
PURCHASE_HEADER = "customer_external_id,product,model,serial,purchase_date,warranty_until,notes"

CUSTOMERS = f"""{CUSTOMER_HEADER}
C1,王建国,138-0013-8000;010-62345678,北京市海淀区中关村大街1号,VIP;elderly,zh
C2,李四,12345,上海市,,zh
C3,,13911112222,广州市,,zh
C4,赵六
,
C5,"Smith, John","+44 20 7946 0958","Flat 2
10 Downing St",vip,en
C1,王建国,13800138000,北京,,zh
,无编号,13911112222,,,zh
C7,孙七,13911112222,,,中文
C6,周八,,,special_needs; 回头客 ,
"""

PURCHASES = f"""{PURCHASE_HEADER}
C1,冰箱,BCD-470,RF1,2024-01-05,2026-01-05,送两张金卡
C1,电视机,55Q,TV1,2024/01/05,2026-01-05,
C1,空调,KFR,AC1,2024-01-05,2023-12-31,
C404,冰箱,BCD,RF9,2024-01-05,2026-01-05,
C5,,BCD,RF8,2024-01-05,2026-01-05,
C5,洗衣机,XQG,WM1,2024-01-05,2024-02-30,
C5,燃气灶,JZY,,2023-06-01,,
C6,冰箱
C1,冰箱,BCD-470,RF1,2024-01-05,2026-01-05,
"""


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _customers(engine: Engine) -> dict[str, tuple[str, list[str], str, list[str], str]]:
    with Session(engine) as s:
        rows = s.scalars(select(Customer).order_by(Customer.external_id)).all()
        return {
            c.external_id or "": (c.name, [p.e164 for p in c.phones], c.address, c.tags, c.language)
            for c in rows
        }


def _count(engine: Engine, column: Any) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count(column))) or 0)


def test_customers_bad_rows_reported_and_good_rows_imported(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "customers.csv", CUSTOMERS)
    report = import_customers(engine, path)
    f = str(path)
    assert report.errors == [
        f"{f}:3: bad phone '12345': not a valid number in CN",
        f"{f}:4: missing name",
        f"{f}:5: expected 6 columns, found 2",
        f"{f}:9: external_id 'C1' repeats line 2",
        f"{f}:10: missing external_id",
        f"{f}:11: bad language '中文': expected a code such as zh or en",
    ]
    assert (report.inserted, report.updated, report.unchanged) == (3, 0, 0)
    assert (report.rows, report.bad_rows, report.unusable) == (9, 6, False)
    assert _customers(engine) == {
        "C1": (
            "王建国",
            ["+8613800138000", "+861062345678"],
            "北京市海淀区中关村大街1号",
            ["VIP", "elderly"],
            "zh",
        ),
        "C5": ("Smith, John", ["+442079460958"], "Flat 2\n10 Downing St", ["VIP"], "en"),
        "C6": ("周八", [], "", ["special_needs", "回头客"], "zh"),
    }
    with Session(engine) as s:
        labels = {
            e164: label
            for e164, label in s.execute(select(CustomerPhone.e164, CustomerPhone.label))
        }
    assert labels["+861062345678"] == "landline" and labels["+8613800138000"] == "mobile"
    assert "6 bad rows skipped" in report.summary()


def test_reimport_changes_nothing_and_a_changed_row_updates(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "customers.csv", CUSTOMERS)
    first = import_customers(engine, path)
    before = _customers(engine)
    again = import_customers(engine, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert again.errors == first.errors
    assert _customers(engine) == before

    changed = _write(
        tmp_path,
        "changed.csv",
        f"""{CUSTOMER_HEADER}
C1,王建国,13911112222,北京市朝阳区,VIP,zh
C5,"Smith, John","+44 20 7946 0958","Flat 2
10 Downing St",VIP,en
C9,新客户,13700137000,,,
""",
    )
    report = import_customers(engine, changed)
    assert report.errors == []
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 1)
    after = _customers(engine)
    assert after["C1"] == ("王建国", ["+8613911112222"], "北京市朝阳区", ["VIP"], "zh")
    assert after["C5"] == before["C5"] and after["C6"] == before["C6"]
    with Session(engine) as s:  # the old numbers went with the update
        assert find_by_phone(s, "+8613800138000") == []
        assert [c.name for c in find_by_phone(s, "+8613911112222")] == ["王建国"]
    assert _count(engine, CustomerPhone.id) == 3


def test_purchases_bad_rows_reported_and_good_rows_imported(engine: Engine, tmp_path: Path) -> None:
    import_customers(engine, _write(tmp_path, "customers.csv", CUSTOMERS))
    path = _write(tmp_path, "purchases.csv", PURCHASES)
    report = import_purchases(engine, path)
    f = str(path)
    assert report.errors == [
        f"{f}:3: bad purchase_date '2024/01/05': expected YYYY-MM-DD",
        f"{f}:4: warranty_until 2023-12-31 is before purchase_date 2024-01-05",
        f"{f}:5: unknown customer external id 'C404'",
        f"{f}:6: missing product",
        f"{f}:7: bad warranty_until '2024-02-30': expected YYYY-MM-DD",
        f"{f}:9: expected 7 columns, found 2",
        f"{f}:10: the same purchase as line 2",
    ]
    assert (report.inserted, report.updated, report.unchanged) == (2, 0, 0)
    with Session(engine) as s:
        rows = s.execute(
            select(
                Purchase.product,
                Purchase.serial,
                Purchase.purchase_date,
                Purchase.warranty_until,
                Purchase.notes,
            ).order_by(Purchase.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("冰箱", "RF1", dt.date(2024, 1, 5), dt.date(2026, 1, 5), "送两张金卡"),
        ("燃气灶", None, dt.date(2023, 6, 1), None, ""),
    ]

    again = import_purchases(engine, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    changed = _write(
        tmp_path,
        "p2.csv",
        f"""{PURCHASE_HEADER}
C1,冰箱,BCD-470,RF1,2024-01-05,2027-01-05,延保一年
C5,燃气灶,JZY,,2023-06-01,,
""",
    )
    report = import_purchases(engine, changed)
    assert (report.inserted, report.updated, report.unchanged, report.errors) == (0, 1, 1, [])
    with Session(engine) as s:
        fridge = s.scalars(select(Purchase).where(Purchase.serial == "RF1")).one()
        assert (fridge.warranty_until, fridge.notes) == (dt.date(2027, 1, 5), "延保一年")
    assert _count(engine, Purchase.id) == 2


def test_excel_bom_full_width_separators_and_columns_in_any_order(
    engine: Engine, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "excel.csv",
        "Name,External_ID,Language,Tags,Address,Phones\r\n"
        "王建国,C1,zh,VIP；elderly,北京,13800138000；010-62345678\r\n",
        encoding="utf-8-sig",
    )
    report = import_customers(engine, path)
    assert (report.errors, report.inserted) == ([], 1)
    assert _customers(engine)["C1"] == (
        "王建国",
        ["+8613800138000", "+861062345678"],
        "北京",
        ["VIP", "elderly"],
        "zh",
    )


@pytest.mark.parametrize(
    ("content", "encoding", "message"),
    [
        (
            f"{CUSTOMER_HEADER}\nC1,王建国,13800138000,北京,,zh\n",
            "gbk",
            ":2: not UTF-8 text (byte 0xcd); it looks like GBK/GB18030 (Excel's default on "
            "Chinese Windows): save it as CSV UTF-8",
        ),
        ("", "utf-8", f":1: empty file: expected the header {CUSTOMER_HEADER}"),
        ("\n\n", "utf-8", f":1: empty file: expected the header {CUSTOMER_HEADER}"),
        (
            "external_id,name,phone,address,tags,language\nC1,王建国,13800138000,北京,,zh\n",
            "utf-8",
            f":1: bad header: missing column phones; unknown column 'phone'; "
            f"expected {CUSTOMER_HEADER}",
        ),
        (
            "C1,王建国,13800138000,北京,,zh\n",
            "utf-8",
            ":1: bad header: missing column external_id, name, phones, address, tags, language; "
            "unknown column 'C1', '王建国', '13800138000', '北京', '', 'zh'; "
            f"expected {CUSTOMER_HEADER}",
        ),
        (
            "external_id;name;phones;address;tags;language\nC1;王建国;13800138000;北京;;zh\n",
            "utf-8",
            ":1: bad header: missing column external_id, name, phones, address, tags, language; "
            "unknown column 'external_id;name;phones;address;tags;language'; "
            f"columns must be separated by commas; expected {CUSTOMER_HEADER}",
        ),
        (
            f"{CUSTOMER_HEADER},name\nC1,王建国,13800138000,北京,,zh,x\n",
            "utf-8",
            f":1: bad header: repeated column name; expected {CUSTOMER_HEADER}",
        ),
    ],
)
def test_an_unusable_file_is_one_error_and_nothing_imported(
    engine: Engine, tmp_path: Path, content: str, encoding: str, message: str
) -> None:
    path = _write(tmp_path, "bad.csv", content, encoding)
    report = import_customers(engine, path)
    assert report.errors == [f"{path}{message}"]
    assert report.unusable and report.inserted == 0
    assert _count(engine, Customer.id) == 0


def test_header_only_is_fine(engine: Engine, tmp_path: Path) -> None:
    report = import_customers(engine, _write(tmp_path, "h.csv", CUSTOMER_HEADER + "\n"))
    assert report.ok and report.rows == 0 and not report.unusable


def test_a_database_failure_keeps_earlier_chunks_and_says_where_it_stopped(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crm_import, "CHUNK_ROWS", 2)
    real = crm_import._store_customers
    calls = []

    def failing_second_chunk(*args: Any) -> None:
        calls.append(1)
        real(*args)  # written, then rolled back with the chunk's transaction
        if len(calls) == 2:
            raise OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(crm_import, "_store_customers", failing_second_chunk)
    rows = "\n".join(f"C{i},客户{i},1380013800{i},,," for i in range(6))
    path = _write(tmp_path, "c.csv", f"{CUSTOMER_HEADER}\n{rows}\n")
    progress: list[tuple[int, int]] = []
    report = import_customers(engine, path, progress=lambda d, t: progress.append((d, t)))
    assert report.errors == [
        f"{path}:4: database error, import stopped here (the good rows before line 4 are "
        "imported): disk full"
    ]
    assert report.stopped_at_line == 4 and report.inserted == 2
    assert "stopped at line 4" in report.summary()
    assert sorted(_customers(engine)) == ["C0", "C1"]
    assert progress == [(0, 6), (2, 6)]


def test_progress_reaches_the_total(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crm_import, "CHUNK_ROWS", 4)
    rows = "\n".join(f"C{i},客户{i},13800138{i:03d},,," for i in range(10))
    seen: list[tuple[int, int]] = []
    report = import_customers(
        engine,
        _write(tmp_path, "c.csv", f"{CUSTOMER_HEADER}\n{rows}\n"),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert report.inserted == 10
    assert seen == [(0, 10), (4, 10), (8, 10), (10, 10)]


# --- the commands ------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str], db_url: URL, tmp_path: Path) -> None:
    db = url_text(db_url)
    good = _write(tmp_path, "good.csv", f"{CUSTOMER_HEADER}\nC1,王建国,13800138000,北京,VIP,zh\n")
    code, out, err = _cli(capsys, "customers", "import", str(good), "--db", db)
    assert code == 0 and err == ""
    assert out.strip().startswith(f"{good}: 1 rows: 1 inserted, 0 updated, 0 unchanged (")

    mixed = _write(tmp_path, "mixed.csv", CUSTOMERS)
    code, out, err = _cli(capsys, "customers", "import", str(mixed), "--db", db)
    assert code == 1
    assert f"{mixed}:3: bad phone '12345': not a valid number in CN" in err.splitlines()
    assert len(err.splitlines()) == 6
    assert "2 inserted, 1 updated, 0 unchanged, 6 bad rows skipped" in out

    bad = _write(tmp_path, "bad.csv", "id,name\n1,x\n")
    code, out, err = _cli(capsys, "customers", "import", str(bad), "--db", db)
    assert code == 2 and out == ""
    assert err.splitlines()[0].startswith(f"{bad}:1: bad header: missing column external_id")
    assert err.splitlines()[-1] == f"{bad}: nothing imported"

    code, _, err = _cli(capsys, "customers", "import", str(tmp_path / "nope.csv"), "--db", db)
    assert code == 2 and "nope.csv: no such file" in err

    purchases = _write(tmp_path, "p.csv", f"{PURCHASE_HEADER}\nC1,冰箱,BCD,RF1,2024-01-05,,\n")
    code, out, err = _cli(capsys, "purchases", "import", str(purchases), "--db", db)
    assert (code, err) == (0, "") and "1 inserted" in out
    lost = _write(tmp_path, "lost.csv", f"{PURCHASE_HEADER}\nC404,冰箱,BCD,RF2,2024-01-05,,\n")
    code, out, err = _cli(capsys, "purchases", "import", str(lost), "--db", db)
    assert code == 1 and err.strip() == f"{lost}:2: unknown customer external id 'C404'"


def test_cli_shows_progress_on_big_files(
    capsys: pytest.CaptureFixture[str],
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crm_command, "PROGRESS_MIN_ROWS", 3)
    monkeypatch.setattr(crm_import, "CHUNK_ROWS", 2)
    rows = "\n".join(f"C{i},客户{i},13800138{i:03d},,," for i in range(5))
    path = _write(tmp_path, "c.csv", f"{CUSTOMER_HEADER}\n{rows}\n")
    code, _, err = _cli(capsys, "customers", "import", str(path), "--db", url_text(db_url))
    assert code == 0
    lines = err.splitlines()
    assert lines[0] == "  customers: 0/5 rows" and lines[-1] == "  customers: 5/5 rows"


def test_report_summary() -> None:
    report = ImportReport(inserted=1200, updated=3, unchanged=4, elapsed=1.25)
    assert report.summary() == "1,200 inserted, 3 updated, 4 unchanged (1.2 s)"
