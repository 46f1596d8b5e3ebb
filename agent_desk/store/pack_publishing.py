"""From a trainer's pack file to the version every desk uses: validate, publish in the
self-contained form, activate; and for a desk, the active pack parsed and ready.

A pack that fails validation can never become active: it is validated before it is
published, and again, from what the database holds, before it is activated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from agent_desk.core.scripts import ScriptPack, dump_pack, load_pack, pack_checksum, parse_pack
from agent_desk.store.packs import (
    ActivePack,
    PackVersion,
    activate_pack,
    active_pack,
    pack_content,
    publish_pack,
)


@dataclass(frozen=True)
class Published:
    version: PackVersion
    pack: ScriptPack


def publish_pack_file(
    sessions: sessionmaker[Session],
    path: str | Path,
    agent_id: int | None,
    *,
    activate: bool = False,
) -> Published:
    """Raises PackInvalid / PackUnreadable (nothing written) or PackStoreError."""
    pack = load_pack(path)
    return publish_loaded(sessions, pack, agent_id, activate=activate)


def publish_loaded(
    sessions: sessionmaker[Session],
    pack: ScriptPack,
    agent_id: int | None,
    *,
    activate: bool = False,
) -> Published:
    content = dump_pack(pack)  # includes resolved: desks have no folder to resolve them in
    with sessions.begin() as session:
        version = publish_pack(
            session, pack.pack_id, pack.version, content, pack_checksum(content), agent_id
        )
        if activate:
            version = activate_pack(session, pack.pack_id, pack.version, agent_id)
    return Published(version, pack)


def activate_version(
    sessions: sessionmaker[Session], pack_id: str, version: str, agent_id: int | None
) -> PackVersion:
    with sessions.begin() as session:
        content = pack_content(session, pack_id, version)
        parse_pack(content, f"{pack_id} {version}")  # PackInvalid: it stays inactive
        return activate_pack(session, pack_id, version, agent_id)


def current_pack(sessions: sessionmaker[Session]) -> ActivePack | None:
    with sessions.begin() as session:
        return active_pack(session)


def load_active(sessions: sessionmaker[Session], active: ActivePack) -> ScriptPack:
    with sessions.begin() as session:
        content = pack_content(session, active.pack_id, active.version)
    return parse_pack(content, f"{active.pack_id} {active.version}")
