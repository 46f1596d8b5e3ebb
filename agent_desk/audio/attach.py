"""A call's recording into the recordings store and onto its session: from the phone
system's file (the CTI bridge's `recording` field), the desk's own capture, or a file
imported later. A bad file is reported and never breaks the session."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent_desk.audio.peaks import import_recording_with_peaks, shared_cache_dir
from agent_desk.audio.recordings import RecordingInfo
from agent_desk.store.models import CallSession
from agent_desk.store.qa import attach_recording
from agent_desk.store.values import utc

log = logging.getLogger(__name__)


class UnknownSession(LookupError):
    pass


@dataclass(frozen=True)
class Attached:
    call_id: str
    session_id: int
    info: RecordingInfo


def attach_call_recording(
    sessions: sessionmaker[Session],
    call_id: str,
    source: Path,
    root: Path,
    *,
    starts_at_ms: int | None = None,
    recorded_from: dt.datetime | None = None,
) -> Attached:
    """Convert and store `source`, peaks cached on the way (so every desk's first replay is
    a cache read), then point the call's session at it. RecordingError when the file is
    missing, empty, truncated or not audio; UnknownSession when no such call was recorded.

    Where the audio begins in the session: `starts_at_ms`, or `recorded_from` (a moment,
    e.g. the desk's capture's first sound), or by default the answer."""
    with sessions.begin() as session:
        found = session.execute(
            select(CallSession.id, CallSession.started_at).where(CallSession.call_id == call_id)
        ).first()
    if found is None:
        raise UnknownSession(f"no session for call {call_id}")
    session_id, session_started = found
    if starts_at_ms is None and recorded_from is not None:
        offset = recorded_from - utc(session_started)
        starts_at_ms = max(0, round(offset.total_seconds() * 1000))
    info, _peaks = import_recording_with_peaks(source, root, call_id, shared_cache_dir(root))
    with sessions.begin() as session:
        attach_recording(
            session,
            session_id,
            info.path,
            checksum=info.checksum,
            duration_ms=info.duration_ms,
            size=info.bytes,
            codec=info.codec,
            starts_at_ms=starts_at_ms,
        )
    log.info("recording of %s stored as %s (%d ms)", call_id, info.path, info.duration_ms)
    return Attached(call_id, session_id, info)
