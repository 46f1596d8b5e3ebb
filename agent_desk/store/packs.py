"""Script packs in the shared database: published versions, the one active pack, and what
a desk needs to notice that it changed.

Validation is the caller's business (core.scripts); this module refuses only what the
database must never hold: a duplicate version, or an activation nobody can name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent_desk.store.models import Agent, ScriptPack
from agent_desk.store.values import utc


class PackStoreError(ValueError):
    """A publish or activation the database cannot take; the message says why."""


@dataclass(frozen=True)
class PackVersion:
    pack_id: str
    version: str
    checksum: str
    published_at: dt.datetime
    published_by: str | None  # agent number
    active: bool
    activated_at: dt.datetime | None


@dataclass(frozen=True)
class ActivePack:
    """What a desk compares every few seconds to know a new pack is active."""

    pack_id: str
    version: str
    checksum: str


def publish_pack(
    session: Session, pack_id: str, version: str, content: str, checksum: str, agent_id: int | None
) -> PackVersion:
    existing = session.scalar(
        select(ScriptPack).where(ScriptPack.pack_id == pack_id, ScriptPack.version == version)
    )
    if existing is not None:
        if existing.checksum == checksum:
            raise PackStoreError(f"{pack_id} {version} is already published (same content)")
        raise PackStoreError(
            f"{pack_id} {version} is already published with other content: raise the version number"
        )
    row = ScriptPack(
        pack_id=pack_id,
        version=version,
        content=content,
        checksum=checksum,
        published_by_id=agent_id,
        active=False,
        published_at=dt.datetime.now(dt.UTC),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another trainer published the same version meanwhile
        raise PackStoreError(f"{pack_id} {version} was just published by someone else") from None
    return _version(session, row)


def activate_pack(
    session: Session, pack_id: str, version: str, agent_id: int | None
) -> PackVersion:
    """Make this version the one every desk uses (an earlier one: a rollback)."""
    row = session.scalar(
        select(ScriptPack).where(ScriptPack.pack_id == pack_id, ScriptPack.version == version)
    )
    if row is None:
        known = ", ".join(v.version for v in list_packs(session) if v.pack_id == pack_id)
        raise PackStoreError(
            f"no published pack {pack_id} {version}" + (f" (published: {known})" if known else "")
        )
    session.execute(update(ScriptPack).where(ScriptPack.active.is_(True)).values(active=False))
    session.flush()
    row.active = True
    row.activated_at = dt.datetime.now(dt.UTC)
    row.activated_by_id = agent_id
    session.flush()
    return _version(session, row)


def list_packs(session: Session) -> Sequence[PackVersion]:
    rows = session.scalars(
        select(ScriptPack).order_by(ScriptPack.pack_id, ScriptPack.published_at, ScriptPack.id)
    ).all()
    return [_version(session, row) for row in rows]


def active_pack(session: Session) -> ActivePack | None:
    row = session.execute(
        select(ScriptPack.pack_id, ScriptPack.version, ScriptPack.checksum).where(
            ScriptPack.active.is_(True)
        )
    ).first()
    return ActivePack(*row) if row is not None else None


def pack_content(session: Session, pack_id: str, version: str) -> str:
    content = session.scalar(
        select(ScriptPack.content).where(
            ScriptPack.pack_id == pack_id, ScriptPack.version == version
        )
    )
    if content is None:
        raise PackStoreError(f"no published pack {pack_id} {version}")
    return content


def _version(session: Session, row: ScriptPack) -> PackVersion:
    by = (
        session.scalar(select(Agent.agent_no).where(Agent.id == row.published_by_id))
        if row.published_by_id is not None
        else None
    )
    return PackVersion(
        row.pack_id,
        row.version,
        row.checksum,
        utc(row.published_at),
        by,
        row.active,
        utc(row.activated_at) if row.activated_at else None,
    )
