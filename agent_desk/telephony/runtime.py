"""`cti.json` in the user's data dir: where a running desk's CTI bridge listens.

Clients (`agent-desk call …`, QA scripts) find the desk through it, which is what lets a desk
started on port 0 be driven at all. The token is not in it: it stays in the config file.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from agent_desk.paths import UserPaths, user_paths

log = logging.getLogger(__name__)

RUNTIME_FILE = "cti.json"


@dataclass(frozen=True)
class DeskRuntime:
    host: str
    port: int
    pid: int

    @property
    def url(self) -> str:
        return base_url(self.host, self.port)


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def runtime_path(paths: UserPaths | None = None) -> Path:
    return (paths or user_paths()).data_dir / RUNTIME_FILE


def write_runtime(host: str, port: int, paths: UserPaths | None = None) -> Path:
    paths = (paths or user_paths()).ensure()
    path = runtime_path(paths)
    previous = read_runtime(paths)
    if previous is not None and previous.pid != os.getpid():
        log.warning("%s named another desk (pid %d); this desk takes over", path, previous.pid)
    tmp = path.with_name(f".{RUNTIME_FILE}.{os.getpid()}.tmp")
    data = {"host": host, "port": port, "pid": os.getpid()}
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)  # atomic: a client never reads half a file
    return path


def remove_runtime(paths: UserPaths | None = None, port: int | None = None) -> None:
    """Remove the file if this process wrote it (for `port`, when given); another desk's
    stays, so a desk that failed to start never hides one that runs."""
    path = runtime_path(paths)
    current = read_runtime(paths)
    if current is None or current.pid != os.getpid():
        return
    if port is not None and current.port != port:
        return
    path.unlink(missing_ok=True)


def read_runtime(paths: UserPaths | None = None) -> DeskRuntime | None:
    """The running desk's address, or None when no desk has published one (or the file is
    unreadable: a client then reports that no desk runs, which is the useful answer)."""
    path = runtime_path(paths)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("cannot read %s: %s", path, exc)
        return None
    if not isinstance(raw, dict):
        return None
    host, port, pid = raw.get("host", "127.0.0.1"), raw.get("port"), raw.get("pid")
    if not isinstance(host, str) or type(port) is not int or type(pid) is not int:
        log.warning("%s does not name a desk: %r", path, raw)
        return None
    return DeskRuntime(host, port, pid)
