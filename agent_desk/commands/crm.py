"""`agent-desk customers import FILE.csv` and `agent-desk purchases import FILE.csv`.

Exit status: 0 every row imported, 1 some rows were bad (or the database failed part way),
2 the file itself cannot be used (unreadable, not UTF-8, empty, wrong header).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

PROGRESS_MIN_ROWS = 5_000  # smaller files finish before a progress line would help
PROGRESS_EVERY_S = 1.0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    for noun, what in (("customers", "customers"), ("purchases", "customers' purchases")):
        group = commands.add_parser(noun, help=f"{what} from the CRM")
        actions = group.add_subparsers(dest=f"{noun}_command", metavar="ACTION", required=True)
        action = actions.add_parser(
            "import",
            parents=[common],
            help=f"import or update {what} from a CRM export (CSV, UTF-8)",
        )
        action.add_argument("file", metavar="FILE.csv")
        action.set_defaults(handler=cmd_import, import_kind=noun)


def cmd_import(args: argparse.Namespace) -> int:
    from agent_desk.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, CliError, open_for_command
    from agent_desk.store import crm_import

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{args.file}: no such file", EXIT_BAD_INPUT)
    run = (
        crm_import.import_customers
        if args.import_kind == "customers"
        else crm_import.import_purchases
    )
    database = open_for_command(args)
    try:
        report = run(database.engine, args.file, _ProgressLine(args.import_kind))
    finally:
        database.close()
    for line in report.errors:
        print(line, file=sys.stderr)
    if report.unusable:
        print(f"{args.file}: nothing imported", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{args.file}: {report.rows:,} rows: {report.summary()}")
    return EXIT_OK if report.ok else EXIT_FAILED


class _ProgressLine:
    """`done/total rows` on stderr for big files, at most once a second."""

    def __init__(self, noun: str) -> None:
        self.noun = noun
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN_ROWS:
            return
        now = time.perf_counter()
        if done in (0, total) or now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            print(f"  {self.noun}: {done:,}/{total:,} rows", file=sys.stderr, flush=True)
