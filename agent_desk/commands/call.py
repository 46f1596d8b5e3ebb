"""`agent-desk call ring NUMBER [--call-id ID]`, `call answer ID`, `call end ID`: simulated
calls sent to the running desk (the one under AGENT_DESK_HOME) through its CTI bridge.

`ring` prints only the call id on standard output, so a script can keep it:
`ID=$(agent-desk call ring 13800138000) && agent-desk call end "$ID"`.

Exit status: 0 the desk took the event, 1 no desk runs or it failed, 2 the desk refused the
event as wrong (unknown call id, out of order, bad number).
"""

from __future__ import annotations

import argparse
import secrets
from typing import Any

# Refusals that mean "what you asked is wrong", not "the desk or the machine failed".
_BAD_INPUT_STATUSES = frozenset({400, 404, 409, 422})


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    call = commands.add_parser("call", help="simulated calls: ring, answer and end at the desk")
    actions = call.add_subparsers(dest="call_command", metavar="ACTION", required=True)
    ring = actions.add_parser("ring", help="a call from NUMBER rings at the running desk")
    ring.add_argument("number", metavar="NUMBER", help="the caller's number, as a switch sends it")
    ring.add_argument("--call-id", metavar="ID", type=_call_id, help="default: a new sim id")
    ring.add_argument("--dnis", metavar="NUMBER", default="", help="the number dialled")
    ring.set_defaults(handler=cmd_call, call_event="ringing")
    for name, event, what in (
        ("answer", "answered", "the call is answered"),
        ("end", "ended", "the caller hangs up"),
    ):
        action = actions.add_parser(name, help=what)
        action.add_argument("call_id", metavar="ID", type=_call_id)
        action.set_defaults(handler=cmd_call, call_event=event, number="", dnis="")


def _call_id(text: str) -> str:
    from agent_desk.telephony.source import MAX_CALL_ID_LENGTH

    if not text.strip() or len(text) > MAX_CALL_ID_LENGTH or not text.isprintable():
        raise argparse.ArgumentTypeError(
            f"a call id has 1-{MAX_CALL_ID_LENGTH} printable characters"
        )
    return text


def cmd_call(args: argparse.Namespace) -> int:
    import datetime as dt

    from agent_desk.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, CliError
    from agent_desk.telephony.client import CtiClientError, send_call_event
    from agent_desk.telephony.simulator import new_call_id

    call_id = args.call_id or new_call_id("cli", dt.datetime.now(dt.UTC), secrets.token_hex(2))
    try:
        send_call_event(args.call_event, call_id, args.number, args.dnis)
    except CtiClientError as exc:
        code = EXIT_BAD_INPUT if exc.status in _BAD_INPUT_STATUSES else EXIT_FAILED
        raise CliError(str(exc), code) from None
    if args.call_event == "ringing":
        print(call_id)
    else:
        print(f"call {call_id} {args.call_event}")
    return EXIT_OK
