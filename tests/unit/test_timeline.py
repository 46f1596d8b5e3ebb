"""The replay's event timeline: order, labels, and the mapping between audio and events."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_desk.core.scripts import load_default_pack
from agent_desk.core.timeline import (
    KIND_LABELS,
    RecordedEvent,
    build_timeline,
    format_offset,
    label_for,
    parse_session_link,
    session_link,
)

# Every kind the desk records today (and complaints will add), with a typical payload.
DESK_EVENTS: list[tuple[str, dict[str, object]]] = [
    ("ringing", {"number": "+8613800138000", "was_queued": False}),
    ("queued", {"number": "+8613800138000", "position": 2}),
    ("answered", {}),
    ("hold", {}),
    ("resumed", {}),
    ("ended", {"by": "customer"}),
    ("wrap_up_started", {"deadline": "2026-11-23T09:01:00+00:00"}),
    ("wrap_up_code", {"code": "repair"}),
    ("wrap_up", {"code": "repair", "defaulted": False}),
    ("missed", {"number": "+8613800138000", "was_queued": True}),
    ("agent_state", {"old": "ready", "new": "talking", "call_id": "c-1"}),
    ("screen_pop", {"ms": 14.2, "customer_id": 7, "matches": 1}),
    ("note_saved", {"chars": 42}),
    ("stage", {"stage": "opening"}),
    ("customer_type", {"customer_type": "elderly"}),
    ("prompt_used", {"prompt_id": "greeting", "stage": "opening", "text": "您好！"}),
    ("prompt_copied", {"prompt_id": "greeting", "stage": "opening", "text": "您好！"}),
    ("coaching_warning", {"phrase_id": "f1", "matched": "没办法", "severity": "warning"}),
    ("complaint_submitted", {"reference": "TS-1", "promised_reply_at": "2026-11-24T09:00"}),
    ("recording_started", {"device": "Headset 耳麦"}),
    ("recording_problem", {"reason": "Microphone “Headset” is not connected"}),
    ("recording_failed", {"reason": "c-1.wav: the file is empty"}),
]


def events(*specs: tuple[int, str] | tuple[int, str, int]) -> list[RecordedEvent]:
    out = []
    for spec in specs:
        offset, kind = spec[0], spec[1]
        out.append(RecordedEvent(offset, kind, {}, spec[2] if len(spec) > 2 else None))
    return out


def test_events_are_ordered_by_offset_then_id() -> None:
    timeline = build_timeline(
        events((3000, "answered", 5), (0, "ringing", 9), (3000, "screen_pop", 2), (10, "x", 1))
    )
    assert [(e.offset_ms, e.kind) for e in timeline] == [
        (0, "ringing"),
        (10, "x"),
        (3000, "screen_pop"),  # id 2 before id 5 at the same moment
        (3000, "answered"),
    ]
    assert [e.id for e in timeline] == [9, 1, 2, 5]


def test_events_without_ids_keep_their_order_at_the_same_moment() -> None:
    timeline = build_timeline(events((5, "b"), (5, "a"), (1, "c"), (5, "d")))
    assert [e.kind for e in timeline] == ["c", "b", "a", "d"]


@pytest.mark.parametrize(("kind", "payload"), DESK_EVENTS)
def test_every_desk_event_has_a_bilingual_label(kind: str, payload: dict[str, object]) -> None:
    (event,) = build_timeline([RecordedEvent(0, kind, payload)])
    zh, en = KIND_LABELS[kind]
    assert event.label == f"{zh} · {en}"
    assert event.payload == payload


def test_an_unknown_kind_is_still_shown_with_its_payload() -> None:
    (event,) = build_timeline([RecordedEvent(0, "pbx_dtmf", {"digits": "12#"})])
    assert event.label == "pbx_dtmf" == label_for("pbx_dtmf")
    assert event.detail == '{"digits": "12#"}'


def test_details_say_what_happened() -> None:
    pack = load_default_pack()
    timeline = build_timeline(
        [RecordedEvent(i * 10, kind, payload) for i, (kind, payload) in enumerate(DESK_EVENTS)],
        pack=pack,
    )
    detail = {e.kind: e.detail for e in timeline}
    assert detail["ended"] == "客户挂机 · customer hung up"
    assert detail["wrap_up"] == "repair"
    assert detail["screen_pop"] == "客户 #7 · customer #7 · 14 ms"
    assert detail["note_saved"] == "42 字 · chars"
    assert detail["stage"].startswith(pack.stage("opening").title.zh)  # type: ignore[union-attr]
    assert "没办法" in detail["coaching_warning"]
    assert detail["complaint_submitted"].startswith("TS-1 · 承诺回复")
    assert detail["prompt_used"].endswith("您好！")
    assert detail["recording_started"] == "Headset 耳麦"
    assert detail["recording_problem"] == "Microphone “Headset” is not connected"
    assert detail["recording_failed"] == "c-1.wav: the file is empty"
    defaulted = build_timeline([RecordedEvent(0, "wrap_up", {"code": "other", "defaulted": True})])
    assert defaulted[0].detail == "other (超时默认 · defaulted)"
    unknown_caller = build_timeline([RecordedEvent(0, "screen_pop", {"customer_id": None})])
    assert unknown_caller[0].detail == "未识别来电 · unknown caller"


def test_the_current_event_is_the_last_one_at_or_before_the_position() -> None:
    timeline = build_timeline(events((1000, "ringing"), (4000, "answered"), (9000, "hold")))
    assert timeline.at(0) == -1  # before the first event nothing is current
    assert timeline.at(999) == -1
    assert timeline.at(1000) == 0
    assert timeline.at(3999) == 0
    assert timeline.at(4000) == 1
    assert timeline.at(8999) == 1
    assert timeline.at(10**9) == 2


def test_clicking_an_event_seeks_to_it() -> None:
    timeline = build_timeline(events((0, "ringing"), (4000, "answered"), (9000, "hold")))
    assert [timeline.seek_position(i) for i in range(3)] == [0, 4000, 9000]
    assert all(timeline.at(timeline.seek_position(i)) == i for i in range(3))


def test_a_recording_that_starts_at_the_answer() -> None:
    timeline = build_timeline(
        events((0, "ringing"), (14, "screen_pop"), (4000, "answered"), (9000, "hold")),
        audio_offset_ms=4000,
    )
    # What happened before the recording starts seeks to its beginning.
    assert [timeline.seek_position(i) for i in range(4)] == [0, 0, 0, 5000]
    assert timeline.at(0) == 2  # second 0 of the audio is the answer
    assert timeline.at(5000) == 3
    assert timeline.position_of(9000) == 5000


def test_empty_timeline() -> None:
    timeline = build_timeline([])
    assert len(timeline) == 0
    assert timeline.at(5000) == -1
    assert timeline.end_ms == 0


@given(st.lists(st.integers(min_value=0, max_value=100_000), max_size=40), st.integers(-10, 10**6))
def test_at_agrees_with_a_linear_scan(offsets: list[int], position: int) -> None:
    timeline = build_timeline(
        [RecordedEvent(o, "note_saved", {}, i) for i, o in enumerate(offsets)]
    )
    expected = max((i for i, e in enumerate(timeline) if e.offset_ms <= position), default=-1)
    assert timeline.at(position) == expected


def test_offsets_read_as_clock_times() -> None:
    assert format_offset(0) == "0:00"
    assert format_offset(65_400) == "1:05"
    assert format_offset(3_723_000) == "1:02:03"


def test_session_links() -> None:
    assert session_link(42, 90_500) == "agent-desk://session/42?t=90"
    assert session_link(42) == "agent-desk://session/42"
    assert parse_session_link("agent-desk://session/42?t=90") == (42, 90_000)
    assert parse_session_link(" agent-desk://session/7 ") == (7, 0)
    assert parse_session_link("agent-desk://session/7?t=1.5") == (7, 1500)
    for bad in (
        "http://session/42",
        "agent-desk://call/42",
        "agent-desk://session/abc",
        "agent-desk://session/0",
        "agent-desk://session/42?t=-3",
        "agent-desk://session/42?t=soon",
    ):
        with pytest.raises(ValueError):
            parse_session_link(bad)
