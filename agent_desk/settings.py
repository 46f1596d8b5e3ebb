"""Desk settings, declared once with their type and default, stored as JSON in the config dir.

A database password is never a setting: `store.credentials` keeps it in the OS keyring, and
`save()` refuses a URL that carries one.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from agent_desk.core.calls import DEFAULT_WRAP_UP_LABELS, WrapUpPolicy
from agent_desk.core.complaints import DEFAULT_CATEGORIES, Choice, parse_categories
from agent_desk.paths import UserPaths, user_paths

DEFAULT_AGENT_NO = "1001"
DEFAULT_CTI_PORT = 47080


class SettingsError(ValueError):
    """A setting has a value the desk cannot use."""


@dataclass
class Settings:
    db_url: str = ""  # empty: the embedded SQLite file under the user's data dir
    agent_no: str = DEFAULT_AGENT_NO
    cti_port: int = DEFAULT_CTI_PORT
    cti_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # Wrap-up codes as "code=label" (the label is what the operator picks from).
    wrap_up_codes: list[str] = field(
        default_factory=lambda: [
            f"{code}={label}" for code, label in DEFAULT_WRAP_UP_LABELS.items()
        ]
    )
    wrap_up_default: str = "other"
    # Complaint categories, "code=中文 · English", and the departments a complaint goes to.
    complaint_categories: list[str] = field(
        default_factory=lambda: [f"{c.code}={c.zh} · {c.en}" for c in DEFAULT_CATEGORIES]
    )
    complaint_departments: list[str] = field(
        default_factory=lambda: [
            "售后服务部 · After-sales",
            "维修中心 · Repair centre",
            "物流配送部 · Delivery",
            "安装服务部 · Installation",
            "财务部 · Billing",
            "客户关系部 · Customer relations",
        ]
    )
    repeat_window_days: int = 90
    # Where call recordings are kept (a shared folder in a real centre); empty: the data dir.
    recordings_root: str = ""
    # The microphone the desk records calls from (its description); empty: the default.
    audio_input: str = ""
    after_call_work_seconds: int = 60

    def complaint_category_choices(self) -> tuple[Choice, ...]:
        try:
            return parse_categories(self.complaint_categories)
        except ValueError as exc:
            raise SettingsError(f"complaint categories: {exc}") from None

    def wrap_up_policy(self) -> WrapUpPolicy:
        """The wrap-up rules these settings describe (SettingsError when they make none)."""
        pairs = [entry.partition("=") for entry in self.wrap_up_codes]
        labels = {code.strip(): (label.strip() or code.strip()) for code, _, label in pairs}
        try:
            return WrapUpPolicy(
                codes=tuple(code.strip() for code, _, _ in pairs),
                default_code=self.wrap_up_default,
                after_call_work_seconds=self.after_call_work_seconds,
                labels=labels,
            )
        except ValueError as exc:
            raise SettingsError(f"wrap-up settings: {exc}") from None

    def validate(self) -> None:
        if not self.agent_no.strip():
            raise SettingsError("agent number must not be empty")
        if not all(isinstance(entry, str) for entry in self.wrap_up_codes):
            raise SettingsError("wrap-up codes must be text like 'repair=报修 · Repair'")
        self.wrap_up_policy()
        self.complaint_category_choices()
        if self.repeat_window_days < 1:
            raise SettingsError("the repeat-fault window must be at least one day")
        if not 0 <= self.cti_port <= 65535:
            raise SettingsError(f"CTI port {self.cti_port} is not between 0 and 65535")
        if self.db_url:
            try:
                url = make_url(self.db_url)
            except Exception as exc:  # sqlalchemy raises ArgumentError with its own wording
                raise SettingsError(f"database URL is not valid: {exc}") from exc
            if url.password:
                raise SettingsError(
                    "database URL must not contain a password: use 'agent-desk db login URL'"
                )


def load_settings(paths: UserPaths | None = None) -> Settings:
    """Read the config file; a missing file gives defaults (and is written, so the CTI
    token stays the same between runs)."""
    paths = (paths or user_paths()).ensure()
    path = paths.config_file
    if not path.exists():
        settings = Settings()
        save_settings(settings, paths)
        return settings
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read settings: {exc}") from exc
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: settings must be a JSON object")
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            continue  # written by a newer desk: keep going with what we understand
        expected = type(getattr(Settings(), key))
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise SettingsError(f"{path}: setting {key!r} must be {expected.__name__}")
        values[key] = value
    settings = Settings(**values)
    settings.validate()
    return settings


def save_settings(settings: Settings, paths: UserPaths | None = None) -> Path:
    settings.validate()
    paths = (paths or user_paths()).ensure()
    path = paths.config_file
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a config file
    return path


def recordings_root(settings: Settings, paths: UserPaths | None = None) -> Path:
    if settings.recordings_root:
        return Path(settings.recordings_root).expanduser()
    return (paths or user_paths()).recordings_dir


def resolve_db_url(settings: Settings, override: str | None, paths: UserPaths | None = None) -> str:
    """--db beats AGENT_DESK_DB_URL (handled by the caller) beats the settings file."""
    if override:
        return override
    if settings.db_url:
        return settings.db_url
    paths = (paths or user_paths()).ensure()
    return f"sqlite:///{paths.default_sqlite_file}"
