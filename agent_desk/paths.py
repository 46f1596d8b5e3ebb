"""Per-user paths: platformdirs by default, everything under AGENT_DESK_HOME when it is set.

AGENT_DESK_HOME exists so that tests and several desks on one machine never share a
config file, a database or a log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "agent-desk"
HOME_ENV = "AGENT_DESK_HOME"


@dataclass(frozen=True)
class UserPaths:
    config_dir: Path
    data_dir: Path
    log_dir: Path
    outbox_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.json"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "agent-desk.log"

    @property
    def recordings_dir(self) -> Path:
        """Where recordings go when the settings name no shared folder."""
        return self.data_dir / "recordings"

    @property
    def default_sqlite_file(self) -> Path:
        return self.data_dir / "agent-desk.sqlite3"

    def ensure(self) -> UserPaths:
        for directory in (self.config_dir, self.data_dir, self.log_dir, self.outbox_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return self


def user_paths() -> UserPaths:
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser()
        return UserPaths(root / "config", root / "data", root / "logs", root / "outbox")
    data = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return UserPaths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data_dir=data,
        log_dir=data / "logs",
        outbox_dir=data / "outbox",
    )
