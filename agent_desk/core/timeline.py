"""A session's events as a team lead replays them: labelled, in order, mapped to the audio.

Offsets are milliseconds since the session started (the first ring). A recording may start
later (a PBX usually records from the answer): `audio_offset_ms` is the session offset at
which the recording's second zero lies, and every position the replay passes in or gets
back is a position in the audio.
"""

from __future__ import annotations

import bisect
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, urlsplit

from agent_desk.core.script_model import ScriptPack


@dataclass(frozen=True)
class RecordedEvent:
    """One stored session event, as plain values (the store hands these over)."""

    offset_ms: int
    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class TimelineEvent:
    offset_ms: int  # since the session started
    kind: str
    label: str  # "接听 · Answered"
    detail: str  # the payload in words, "" when there is nothing to add
    payload: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None


# kind -> (zh, en). Every kind the desk records, and the demo data's older names.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "ringing": ("振铃", "Ringing"),
    "queued": ("排队", "Queued"),
    "queue_announcement": ("排队播报", "Queue announcement"),
    "abandoned": ("客户放弃", "Abandoned"),
    "answered": ("接听", "Answered"),
    "hold": ("保留", "On hold"),
    "resumed": ("恢复通话", "Resumed"),
    "unhold": ("恢复通话", "Resumed"),
    "ended": ("挂断", "Call ended"),
    "wrap_up_started": ("话后处理", "Wrap-up started"),
    "wrap_up_code": ("选择小结代码", "Wrap-up code chosen"),
    "wrap_up": ("话后小结完成", "Wrap-up done"),
    "missed": ("未接", "Missed"),
    "agent_state": ("坐席状态", "Agent state"),
    "not_ready_pending": ("待示忙", "Not ready after this call"),
    "screen_pop": ("弹屏", "Screen pop"),
    "note_saved": ("保存备注", "Notes saved"),
    "stage": ("通话阶段", "Call stage"),
    "customer_type": ("客户类型", "Customer type"),
    "prompt_shown": ("显示话术", "Prompt shown"),
    "prompt_used": ("使用话术", "Prompt used"),
    "prompt_copied": ("复制话术", "Prompt copied"),
    "coaching_warning": ("禁忌语提醒", "Coaching warning"),
    "complaint_submitted": ("提交投诉", "Complaint submitted"),
    "complaint_saved": ("提交投诉", "Complaint submitted"),
    "recording": ("录音", "Recording attached"),
    "recording_started": ("坐席录音开始", "Desk recording started"),
    "recording_problem": ("坐席录音问题", "Desk recording problem"),
    "recording_failed": ("录音未保存", "Recording not stored"),
    "qa_mark": ("质检标记", "QA mark"),
}

STAGE_LABELS: dict[str, tuple[str, str]] = {
    "opening": ("开场", "Opening"),
    "understanding": ("了解需求", "Understanding the need"),
    "customer_type": ("识别客户类型", "Customer type"),
    "solving": ("解决问题", "Solving"),
    "complaint": ("投诉处理", "Complaint"),
    "closing": ("结束语", "Closing"),
}

_ENDED_BY = {"agent": "坐席挂机 · agent hung up", "customer": "客户挂机 · customer hung up"}
_DETAIL_CHARS = 80


def label_for(kind: str) -> str:
    """ "接听 · Answered"; an unknown kind is shown as it is stored, never dropped."""
    zh, en = KIND_LABELS.get(kind, (kind, ""))
    return f"{zh} · {en}" if en else zh


def describe(kind: str, payload: Mapping[str, Any], pack: ScriptPack | None = None) -> str:
    """The payload of an event in a line of words (the timeline's second column)."""
    p = payload
    if kind == "ended":
        return _ENDED_BY.get(str(p.get("by")), str(p.get("by") or ""))
    if kind in ("wrap_up", "wrap_up_code"):
        text = str(p.get("code") or "")
        if p.get("defaulted"):
            text += " (超时默认 · defaulted)"
        return text
    if kind == "screen_pop":
        parts = []
        if p.get("customer_id") is not None:
            parts.append(f"客户 #{p['customer_id']} · customer #{p['customer_id']}")
        elif "customer_id" in p:
            parts.append("未识别来电 · unknown caller")
        if p.get("matches") not in (None, 0, 1):
            parts.append(f"{p['matches']} 个匹配 · matches")
        if isinstance(p.get("ms"), int | float):
            parts.append(f"{float(p['ms']):.0f} ms")
        return " · ".join(parts)
    if kind == "note_saved":
        return f"{p.get('chars', 0)} 字 · chars"
    if kind == "stage":
        return _stage(str(p.get("stage") or ""), pack)
    if kind == "customer_type":
        type_id = str(p.get("customer_type") or "")
        found = pack.customer_type(type_id) if pack else None
        return _bilingual(found.title.zh, found.title.en) if found else type_id
    if kind in ("prompt_used", "prompt_copied", "prompt_shown"):
        prompt_id = str(p.get("prompt_id") or p.get("prompt") or "")
        text = str(p.get("text") or "")
        prompt = pack.prompt(prompt_id) if pack and prompt_id else None
        name = prompt.title.zh if prompt and prompt.title else prompt_id
        return _short(f"{name}：{text}" if text and name else text or name)
    if kind == "coaching_warning":
        matched = str(p.get("matched") or p.get("phrase") or "")
        better = str(p.get("better") or p.get("suggestion") or "")
        severity = " [严重 · critical]" if p.get("severity") == "critical" else ""
        return _short(f"“{matched}”{severity}" + (f" → {better}" if better else ""))
    if kind in ("complaint_submitted", "complaint_saved"):
        text = str(p.get("reference") or "")
        if p.get("promised_reply_at"):
            text += f" · 承诺回复 · reply by {p['promised_reply_at']}"
        return text
    if kind == "recording_started":
        return _short(str(p.get("device") or ""))
    if kind in ("recording_problem", "recording_failed"):
        return _short(str(p.get("reason") or ""))
    if kind == "agent_state":
        return f"{p.get('old', '')} → {p.get('new', '')}"
    if kind in ("hold", "ringing", "answered", "resumed", "wrap_up_started", "queued"):
        extra = {k: v for k, v in p.items() if k not in ("number", "was_queued", "deadline")}
        return _short(", ".join(f"{k}: {v}" for k, v in extra.items()))
    if kind in KIND_LABELS:
        return _short(", ".join(f"{k}: {v}" for k, v in p.items()))
    return _short(json.dumps(dict(p), ensure_ascii=False, sort_keys=True, default=str))


@dataclass(frozen=True)
class Timeline:
    """Events in order; positions are audio positions (ms), see the module docstring."""

    events: tuple[TimelineEvent, ...]
    audio_offset_ms: int = 0

    @cached_property
    def _offsets(self) -> list[int]:
        return [e.offset_ms for e in self.events]

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[TimelineEvent]:
        return iter(self.events)

    def __getitem__(self, index: int) -> TimelineEvent:
        return self.events[index]

    def at(self, position_ms: int) -> int:
        """The index of the current event at this audio position: the last one at or before
        it; -1 before the first event (nothing to highlight yet)."""
        return bisect.bisect_right(self._offsets, position_ms + self.audio_offset_ms) - 1

    def seek_position(self, index: int) -> int:
        """Where the audio should jump when event `index` is clicked (never before 0)."""
        return max(0, self.events[index].offset_ms - self.audio_offset_ms)

    def position_of(self, offset_ms: int) -> int:
        """A session offset (e.g. a QA evidence moment) as an audio position."""
        return max(0, offset_ms - self.audio_offset_ms)

    @property
    def end_ms(self) -> int:
        """The session offset of the last event (0 for an empty timeline)."""
        return self._offsets[-1] if self._offsets else 0

    def of_kind(self, *kinds: str) -> list[TimelineEvent]:
        return [e for e in self.events if e.kind in kinds]


def build_timeline(
    events: Iterable[RecordedEvent],
    *,
    pack: ScriptPack | None = None,
    audio_offset_ms: int = 0,
) -> Timeline:
    """Label every event and order them by offset, then by id (stored order); events with
    neither to tell them apart keep the order they came in."""
    ordered = sorted(events, key=lambda e: (e.offset_ms, e.id if e.id is not None else sys.maxsize))
    return Timeline(
        tuple(
            TimelineEvent(
                e.offset_ms,
                e.kind,
                label_for(e.kind),
                describe(e.kind, e.payload, pack),
                e.payload,
                e.id,
            )
            for e in ordered
        ),
        audio_offset_ms,
    )


def format_offset(offset_ms: int) -> str:
    """ "1:02:03" or "2:03" — how the timeline and shared links show a moment."""
    seconds = max(offset_ms, 0) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _stage(stage_id: str, pack: ScriptPack | None) -> str:
    stage = pack.stage(stage_id) if pack else None
    if stage is not None:
        return _bilingual(stage.title.zh, stage.title.en)
    zh, en = STAGE_LABELS.get(stage_id, (stage_id, ""))
    return _bilingual(zh, en)


def _bilingual(zh: str, en: str | None) -> str:
    return f"{zh} · {en}" if en and en != zh else zh


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


LINK_SCHEME = "agent-desk"


def session_link(session_id: int, position_ms: int = 0) -> str:
    """`agent-desk://session/ID?t=SECONDS`: a moment of a call to send to a colleague."""
    seconds = max(position_ms, 0) // 1000
    return f"{LINK_SCHEME}://session/{session_id}" + (f"?t={seconds}" if seconds else "")


def parse_session_link(link: str) -> tuple[int, int]:
    """(session id, audio position ms) of a session link; ValueError if it is not one."""
    parts = urlsplit(link.strip())
    if parts.scheme != LINK_SCHEME or parts.netloc != "session":
        raise ValueError(f"{link!r} is not an {LINK_SCHEME}://session/ID link")
    ident = parts.path.strip("/")
    if not ident.isdigit() or int(ident) <= 0:
        raise ValueError(f"{link!r}: the session id must be a positive number")
    values = parse_qs(parts.query).get("t", ["0"])
    try:
        seconds = float(values[-1])
    except ValueError:
        raise ValueError(f"{link!r}: t must be a number of seconds") from None
    if not seconds >= 0 or seconds > 7 * 24 * 3600:
        raise ValueError(f"{link!r}: t must be a number of seconds into the call")
    return int(ident), int(seconds * 1000)
