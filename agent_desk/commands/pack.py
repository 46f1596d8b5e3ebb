"""`agent-desk pack …`: script packs from the command line.

`pack validate FILE…` prints every problem as `FILE:LINE: message` on standard output,
sorted by file then line, so editors and CI can jump to them. Exit status: 0 every file is
a valid pack (one summary line each), 1 some file has problems, 2 some file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    pack = commands.add_parser("pack", help="script packs: validate, publish, list, activate")
    actions = pack.add_subparsers(dest="pack_command", metavar="ACTION", required=True)
    for add in ACTIONS:
        add(actions, common)


def add_validate(actions: Any, common: argparse.ArgumentParser) -> None:
    # No database involved, so no --db (the `common` parent) here.
    validate = actions.add_parser(
        "validate", help="check pack files; every problem as FILE:LINE: message"
    )
    validate.add_argument("files", metavar="FILE", nargs="+")
    validate.set_defaults(handler=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    from agent_desk.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
    from agent_desk.core.scripts import PackInvalid, PackUnreadable, load_pack, summary

    problems = []
    summaries = []
    unreadable = False
    for file in args.files:
        try:
            summaries.append(f"{file}: {summary(load_pack(file))}")
        except PackInvalid as exc:
            problems += exc.problems
        except PackUnreadable as exc:
            print(f"agent-desk: {exc}", file=sys.stderr)
            unreadable = True
    # Files that share an include report its problems once.
    for problem in sorted(dict.fromkeys(problems)):
        print(problem)
    for line in summaries:
        print(line)
    if unreadable:
        return EXIT_BAD_INPUT
    return EXIT_FAILED if problems else EXIT_OK


# Each adds one ACTION under `agent-desk pack`: a new one is a function and a line here.
ACTIONS: tuple[Callable[[Any, argparse.ArgumentParser], None], ...] = (add_validate,)


def add_publish(actions: Any, common: argparse.ArgumentParser) -> None:
    publish = actions.add_parser(
        "publish", parents=[common], help="validate a pack file and publish it as a new version"
    )
    publish.add_argument("file", metavar="FILE")
    publish.add_argument(
        "--activate", action="store_true", help="make it the pack every desk uses at once"
    )
    publish.add_argument(
        "--as",
        dest="agent_no",
        metavar="AGENT_NO",
        default=None,
        help="who publishes (default: the desk's agent number)",
    )
    publish.set_defaults(handler=cmd_publish)


def add_list(actions: Any, common: argparse.ArgumentParser) -> None:
    actions.add_parser("list", parents=[common], help="published versions").set_defaults(
        handler=cmd_list
    )


def add_activate(actions: Any, common: argparse.ArgumentParser) -> None:
    activate = actions.add_parser(
        "activate", parents=[common], help="make a published version active (or roll back)"
    )
    activate.add_argument("pack_id", metavar="PACK_ID")
    activate.add_argument("version", metavar="VERSION")
    activate.add_argument("--as", dest="agent_no", metavar="AGENT_NO", default=None)
    activate.set_defaults(handler=cmd_activate)


def _agent_id(database: Any, agent_no: str | None) -> int | None:
    from agent_desk.cli import EXIT_BAD_INPUT, CliError
    from agent_desk.settings import load_settings
    from agent_desk.store.agents import find_agent

    number = agent_no or load_settings().agent_no
    with database.sessions.begin() as session:
        agent = find_agent(session, number)
        if agent is None:
            raise CliError(f"agent {number} is not registered: give --as AGENT_NO", EXIT_BAD_INPUT)
        return agent.id


def cmd_publish(args: argparse.Namespace) -> int:
    from agent_desk.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, CliError, open_for_command
    from agent_desk.core.scripts import PackInvalid, PackUnreadable, summary
    from agent_desk.store.pack_publishing import publish_pack_file
    from agent_desk.store.packs import PackStoreError

    database = open_for_command(args)
    try:
        published = publish_pack_file(
            database.sessions, args.file, _agent_id(database, args.agent_no), activate=args.activate
        )
    except PackInvalid as exc:
        for problem in sorted(exc.problems):
            print(problem)
        print(f"agent-desk: {args.file} is not valid: nothing published", file=sys.stderr)
        return EXIT_FAILED
    except PackUnreadable as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None
    except PackStoreError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None
    finally:
        database.close()
    state = "published and activated" if published.version.active else "published"
    print(f"{summary(published.pack)}: {state}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from agent_desk.cli import EXIT_OK, open_for_command
    from agent_desk.store.packs import list_packs

    database = open_for_command(args, need_writable=False)
    try:
        with database.sessions.begin() as session:
            versions = list_packs(session)
    finally:
        database.close()
    for v in versions:
        mark = "*" if v.active else " "
        when = v.published_at.astimezone().strftime("%Y-%m-%d %H:%M")
        print(
            f"{mark} {v.pack_id:<24} {v.version:<10} {when}  {v.published_by or '-':<8} "
            f"{v.checksum[:12]}"
        )
    if not versions:
        print("no packs published yet: the desks use the default pack they ship with")
    return EXIT_OK


def cmd_activate(args: argparse.Namespace) -> int:
    from agent_desk.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, CliError, open_for_command
    from agent_desk.core.scripts import PackInvalid
    from agent_desk.store.pack_publishing import activate_version
    from agent_desk.store.packs import PackStoreError

    database = open_for_command(args)
    try:
        version = activate_version(
            database.sessions, args.pack_id, args.version, _agent_id(database, args.agent_no)
        )
    except PackStoreError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None
    except PackInvalid as exc:
        for problem in sorted(exc.problems):
            print(problem)
        print(
            f"agent-desk: {args.pack_id} {args.version} is not valid: not activated",
            file=sys.stderr,
        )
        return EXIT_FAILED
    finally:
        database.close()
    print(f"{version.pack_id} {version.version} is now active on every desk")
    return EXIT_OK


ACTIONS = (*ACTIONS, add_publish, add_list, add_activate)
