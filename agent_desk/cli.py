"""`agent-desk` command line: `agent-desk` alone opens the desk; no sub-command opens the GUI.

Exit status: 0 done, 1 the database or the machine failed us, 2 bad input.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from agent_desk import __version__

DB_URL_ENV = "AGENT_DESK_DB_URL"
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

# Each adds its sub-commands with `register(commands, common)`; their handlers import what
# they need when they run, so `agent-desk --help` stays quick.
COMMAND_MODULES: tuple[str, ...] = (
    "agent_desk.commands.crm",
    "agent_desk.commands.call",
    "agent_desk.commands.pack",
    "agent_desk.commands.recordings",
)


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help=f"database URL (default: ${DB_URL_ENV}, then settings, then the embedded SQLite file)",
    )
    parser = argparse.ArgumentParser(
        prog="agent-desk",
        parents=[common],
        description="Agent Desk: the call-centre agent's workstation. "
        "Without a command it opens the desk window.",
    )
    parser.add_argument("--version", action="version", version=f"agent-desk {__version__}")
    parser.add_argument("--cti-port", type=int, metavar="PORT", help="CTI bridge port")
    parser.add_argument(
        "--open",
        metavar="LINK",
        dest="open_link",
        help="open the desk at agent-desk://session/ID?t=SECONDS (replay)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    db = commands.add_parser("db", help="database: upgrade, login, seed-demo, status")
    db_cmds = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_cmds.add_parser(
        "upgrade", parents=[common], help="apply the schema migrations"
    ).set_defaults(handler=cmd_db_upgrade)
    db_cmds.add_parser("status", parents=[common], help="show the schema state").set_defaults(
        handler=cmd_db_status
    )
    login = db_cmds.add_parser(
        "login", parents=[common], help="store a database password in the OS keyring"
    )
    login.add_argument("url", metavar="URL")
    login.set_defaults(handler=cmd_db_login)
    seed = db_cmds.add_parser("seed-demo", parents=[common], help="generate demo data")
    seed.add_argument("--customers", type=_positive, default=500)
    seed.add_argument("--sessions", type=_positive, default=2000)
    seed.add_argument(
        "--if-empty", action="store_true", help="do nothing when the database already has customers"
    )
    seed.set_defaults(handler=cmd_db_seed_demo)

    agents = commands.add_parser("agents", help="agents and roles")
    agent_cmds = agents.add_subparsers(dest="agents_command", metavar="ACTION", required=True)
    add = agent_cmds.add_parser("add", parents=[common], help="register an agent")
    add.add_argument("agent_no", metavar="AGENT_NO")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=["operator", "team_lead", "trainer", "admin"])
    add.set_defaults(handler=cmd_agents_add)
    agent_cmds.add_parser("list", parents=[common], help="list agents").set_defaults(
        handler=cmd_agents_list
    )

    bench = commands.add_parser("bench", parents=[common], help="run a benchmark")
    bench.add_argument("name", metavar="NAME")
    bench.add_argument("--repeat", type=_positive, default=None)
    bench.add_argument("--customers", type=_positive, default=100_000)
    bench.add_argument("--sessions", type=_positive, default=100_000)
    bench.set_defaults(handler=cmd_bench)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands, common)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def db_url_from(args: argparse.Namespace) -> str:
    from agent_desk.settings import load_settings, resolve_db_url

    override = getattr(args, "db", None) or os.environ.get(DB_URL_ENV)
    return resolve_db_url(load_settings(), override)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from agent_desk.app import main as gui_main

        return gui_main(["agent-desk", *argv])
    try:
        return _dispatch(args)
    except CliError as exc:
        print(f"agent-desk: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("agent-desk: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from agent_desk.settings import SettingsError

    try:
        return int(args.handler(args))
    except SettingsError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None


def open_for_command(args: argparse.Namespace, *, need_writable: bool = True):  # type: ignore[no-untyped-def]
    from agent_desk.store.db import DatabaseUnavailable, open_database

    try:
        database = open_database(db_url_from(args))
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None
    if need_writable and not database.writable:
        database.close()
        raise CliError(f"{database.describe()}: {database.status.explain()}")
    return database


def _with_schema_engine(args: argparse.Namespace, work: Any) -> tuple[str, Any]:
    """Run `work(engine)` on the command's database, connection errors in the user's words."""
    from agent_desk.store import migrations
    from agent_desk.store.db import DatabaseUnavailable, check_reachable, describe_url, make_engine

    url = db_url_from(args)
    engine = make_engine(url)
    try:
        check_reachable(engine)
        return describe_url(url), work(engine)
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None
    except migrations.SchemaMismatch as exc:
        raise CliError(f"{describe_url(url)}: {exc}") from None
    finally:
        engine.dispose()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from agent_desk.store import migrations

    where, (before, after) = _with_schema_engine(
        args, lambda engine: (migrations.schema_status(engine), migrations.upgrade(engine))
    )
    was = before.database_revision or "empty"
    if was == after.database_revision:
        print(f"{where}: schema already current ({was})")
    else:
        print(f"{where}: upgraded schema {was} -> {after.database_revision}")
    return EXIT_OK


def cmd_db_status(args: argparse.Namespace) -> int:
    from agent_desk.store import migrations

    where, status = _with_schema_engine(args, migrations.schema_status)
    print(f"{where}: {status.explain()}")
    return EXIT_OK if status.ok else EXIT_FAILED


def read_password(prompt: str) -> str:
    """From the terminal without echo, or one line of standard input when it is not one."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def cmd_db_login(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from agent_desk.store import credentials
    from agent_desk.store.db import DatabaseUnavailable, check_reachable, describe_url, make_engine

    try:
        url = make_url(args.url)
    except ArgumentError as exc:
        raise CliError(f"not a database URL: {args.url!r} ({exc})", EXIT_BAD_INPUT) from None
    if url.get_backend_name() == "sqlite":
        raise CliError("an SQLite database has no password", EXIT_BAD_INPUT)
    if url.password:
        raise CliError("give the URL without a password; you will be asked for it", EXIT_BAD_INPUT)
    password = read_password(f"Password for {describe_url(url)}: ")
    if not password:
        raise CliError("no password given; nothing stored", EXIT_BAD_INPUT)
    engine = make_engine(url.set(password=password))
    try:
        check_reachable(engine)
        verified = True
    except DatabaseUnavailable as exc:
        if "password" in str(exc).lower() or "authentication" in str(exc).lower():
            raise CliError(f"{exc}; nothing stored") from None
        print(f"warning: could not verify the password now: {exc}", file=sys.stderr)
        verified = False
    finally:
        engine.dispose()
    try:
        where = credentials.store_password(url, password)
    except credentials.KeyringUnavailable as exc:
        raise CliError(str(exc)) from None
    state = "verified and stored" if verified else "stored"
    print(f"password for {describe_url(url)} {state} in the {where}")
    return EXIT_OK


def cmd_db_seed_demo(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from agent_desk.store.demo import seed_demo
    from agent_desk.store.models import Customer

    database = open_for_command(args)
    try:
        if args.if_empty:
            with database.sessions.begin() as session:
                if session.scalar(select(func.count(Customer.id))):
                    print(f"{database.describe()}: already has customers; demo data not loaded")
                    return EXIT_OK
        started = time.perf_counter()
        last = [0.0]

        def progress(table: str, done: int, total: int) -> None:
            now = time.perf_counter()
            if done == total or now - last[0] > 1.0:
                last[0] = now
                print(f"  {table}: {done:,}/{total:,}", file=sys.stderr, flush=True)

        report = seed_demo(
            database.engine, customers=args.customers, sessions=args.sessions, progress=progress
        )
        elapsed = time.perf_counter() - started
    finally:
        database.close()
    print(f"{database.describe()}: seeded {report.summary()} in {elapsed:.2f} s")
    return EXIT_OK


def cmd_agents_add(args: argparse.Namespace) -> int:
    from agent_desk.store.agents import AgentError, add_agent, parse_role

    database = open_for_command(args)
    try:
        with database.sessions.begin() as session:
            agent = add_agent(session, args.agent_no, args.name, parse_role(args.role))
            print(f"added agent {agent.agent_no} {agent.name} ({agent.role.value})")
    except AgentError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None
    finally:
        database.close()
    return EXIT_OK


def cmd_agents_list(args: argparse.Namespace) -> int:
    from agent_desk.store.agents import list_agents

    database = open_for_command(args, need_writable=False)
    try:
        with database.sessions.begin() as session:
            rows = [(a.agent_no, a.role.value, a.name) for a in list_agents(session)]
    finally:
        database.close()
    for agent_no, role, name in rows:
        print(f"{agent_no:<8} {role:<10} {name}")
    if not rows:
        print("no agents yet: add one with 'agent-desk agents add AGENT_NO NAME --role ROLE'")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from agent_desk import bench

    options = bench.BenchOptions(
        db_url=getattr(args, "db", None),
        repeat=args.repeat or 0,
        customers=args.customers,
        sessions=args.sessions,
    )
    try:
        bench.run(args.name, options, emit=lambda line: print(line, flush=True))
    except KeyError as exc:
        raise CliError(str(exc.args[0]), EXIT_BAD_INPUT) from None
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
