"""`agent-desk recordings import CALL_ID FILE`: attach a recording made elsewhere (a PBX
export, say) to a call's session, after the call."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    recordings = commands.add_parser("recordings", help="call recordings: import")
    actions = recordings.add_subparsers(dest="recordings_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "import", parents=[common], help="convert a recording and attach it to a call's session"
    )
    add.add_argument("call_id", metavar="CALL_ID")
    add.add_argument("file", metavar="FILE", type=Path)
    add.set_defaults(handler=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from agent_desk.audio.attach import UnknownSession, attach_call_recording
    from agent_desk.audio.recordings import RecordingError
    from agent_desk.cli import EXIT_BAD_INPUT, EXIT_OK, CliError, open_for_command
    from agent_desk.settings import load_settings, recordings_root

    database = open_for_command(args)
    try:
        attached = attach_call_recording(
            database.sessions, args.call_id, args.file, recordings_root(load_settings())
        )
    except (RecordingError, UnknownSession) as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None
    finally:
        database.close()
    info = attached.info
    print(
        f"{args.call_id}: {info.path} ({info.duration_ms / 1000:.1f} s, {info.codec}, "
        f"{info.bytes:,} bytes)"
    )
    return EXIT_OK
