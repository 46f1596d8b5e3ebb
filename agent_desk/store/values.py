"""How values come back from either database, made the same: one place for both backends."""

from __future__ import annotations

import datetime as dt


def utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC datetime. SQLite hands back naive ones; everything the desk writes is UTC,
    so a naive value is read as UTC, never as the desk's local time."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def utc_or_none(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else utc(moment)


def escape_like(text: str) -> str:
    """Text to match literally inside a LIKE pattern (with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
