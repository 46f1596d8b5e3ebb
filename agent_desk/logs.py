"""The desk's log file under the user's log dir; database passwords are scrubbed from it."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

from agent_desk.paths import UserPaths

# user:password@host in any URL a library might log
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z0-9+]+://[^:/@\s]*):(?P<pw>[^@\s]+)@", re.IGNORECASE)


class RedactPasswords(logging.Filter):
    """Last line of defence: nothing we log should carry a password, but a library might."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = _URL_PASSWORD.sub(r"\g<scheme>:***@", message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def redact(text: str) -> str:
    return _URL_PASSWORD.sub(r"\g<scheme>:***@", text)


def setup_logging(paths: UserPaths, level: int = logging.INFO) -> Path:
    """Route the root logger to a rotating file; idempotent (tests launch many desks)."""
    paths.ensure()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_agent_desk", False):
            root.removeHandler(handler)
            handler.close()
    handler = logging.handlers.RotatingFileHandler(
        paths.log_file, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handler._agent_desk = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactPasswords())
    root.addHandler(handler)
    root.setLevel(level)
    return paths.log_file
