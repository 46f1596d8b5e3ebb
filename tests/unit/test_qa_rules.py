"""QA scorecard rules: the six automatic checks on crafted sessions, totals with weights,
N/A and critical items, calibration differences and revisions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_desk.core.qa import (
    AutoScore,
    Comment,
    Difference,
    Evaluation,
    QAError,
    auto_score,
    compare_evaluations,
    greeting_prompt_ids,
    hold_periods,
    next_revision,
)
from agent_desk.core.scripts import QAItem, Text, load_default_pack
from agent_desk.core.timeline import RecordedEvent, TimelineEvent, build_timeline

PACK = load_default_pack()
CHECKLIST = PACK.qa_checklist
AUTO = {i.auto: i.id for i in CHECKLIST if i.auto}  # check name -> item id of the pack


def timeline(*events: tuple[int, str, dict[str, Any]]) -> list[TimelineEvent]:
    return list(build_timeline([RecordedEvent(o, k, p, n) for n, (o, k, p) in enumerate(events)]))


ANSWER = 5_000
GOOD_CALL = (
    (0, "ringing", {"number": "+8613800138000"}),
    (40, "screen_pop", {"ms": 40, "customer_id": 7}),
    (ANSWER, "answered", {}),
    (
        ANSWER + 3_000,
        "prompt_used",
        {"prompt_id": "greeting", "stage": "opening", "text": "您好！"},
    ),
    (20_000, "customer_type", {"customer_type": "elderly"}),
    (30_000, "hold", {}),
    (60_000, "resumed", {}),
    (90_000, "note_saved", {"chars": 30}),
    (120_000, "ended", {"by": "customer"}),
    (130_000, "wrap_up", {"code": "repair", "defaulted": False}),
)


def scores(
    events: list[TimelineEvent], *, notes: str = "", complaint: bool = False, **kwargs: Any
) -> dict[str, AutoScore]:
    result = {s.item_id: s for s in auto_score(CHECKLIST, events, notes, complaint, **kwargs)}
    return {check: result[item_id] for check, item_id in AUTO.items()}


def replaced(kind: str, *new: tuple[int, str, dict[str, Any]]) -> list[TimelineEvent]:
    """The good call without events of `kind`, plus `new` ones."""
    return timeline(*(e for e in GOOD_CALL if e[1] != kind), *new)


def test_a_good_call_passes_every_check_and_has_nothing_to_promise() -> None:
    s = scores(timeline(*GOOD_CALL))
    assert {check: score.result for check, score in s.items()} == {
        "greeting_used": "pass",
        "no_forbidden_phrase": "pass",
        "customer_type_chosen": "pass",
        "promise_recorded": "na",
        "wrap_up_code_set": "pass",
        "hold_under_limit": "pass",
    }
    assert s["greeting_used"].evidence_offset_ms == ANSWER + 3_000
    assert s["customer_type_chosen"].evidence_offset_ms == 20_000
    assert s["wrap_up_code_set"].evidence_offset_ms == 130_000
    assert s["hold_under_limit"].evidence_offset_ms == 30_000  # the longest hold


def test_only_automatic_items_are_pre_scored_in_checklist_order() -> None:
    result = auto_score(CHECKLIST, timeline(*GOOD_CALL), "", False)
    assert [s.item_id for s in result] == [i.id for i in CHECKLIST if i.auto]


def test_greeting_late_or_missing_fails_pointing_at_the_moment() -> None:
    late = (ANSWER + 45_000, "prompt_used", {"prompt_id": "greeting", "stage": "opening"})
    s = scores(replaced("prompt_used", late))["greeting_used"]
    assert (s.result, s.evidence_offset_ms) == ("fail", ANSWER + 45_000)
    assert "0:45" in s.evidence_text

    s = scores(replaced("prompt_used"))["greeting_used"]
    # No greeting prompt: the team lead is sent to the answer to listen to the opening.
    assert (s.result, s.evidence_offset_ms) == ("fail", ANSWER)

    other = (ANSWER + 2_000, "prompt_used", {"prompt_id": "confirm-need", "stage": "understanding"})
    assert scores(replaced("prompt_used", other))["greeting_used"].result == "fail"


def test_greeting_prompts_can_come_from_the_pack() -> None:
    ids = greeting_prompt_ids(PACK)
    assert {"greeting", "greeting-known-customer"} <= ids
    used = (ANSWER + 1_000, "prompt_used", {"prompt_id": "greeting-known-customer", "stage": ""})
    events = replaced("prompt_used", used)
    assert scores(events, greeting_prompt_ids=ids)["greeting_used"].result == "pass"
    assert scores(events, greeting_prompt_ids={"greeting"})["greeting_used"].result == "fail"


def test_greeting_words_in_the_notes_are_not_evidence() -> None:
    s = scores(replaced("prompt_used"), notes="您好，客户来电反映空调不制冷")
    assert s["greeting_used"].result == "fail"


def test_forbidden_phrase_from_a_coaching_warning_or_the_final_notes() -> None:
    warned = replaced(
        "",
        (50_000, "coaching_warning", {"matched": "没办法", "better": "我来想想办法"}),
        (70_000, "coaching_warning", {"matched": "不行"}),
    )
    s = scores(warned)["no_forbidden_phrase"]
    assert (s.result, s.evidence_offset_ms) == ("fail", 50_000)  # the first one
    assert "没办法" in s.evidence_text and "2" in s.evidence_text

    def checker(text: str) -> list[str]:
        return [p for p in ("这是我们的规定",) if p in text]

    notes = "客户要求退款，已告知这是我们的规定"
    s = scores(timeline(*GOOD_CALL), notes=notes, forbidden_phrase_check=checker)[
        "no_forbidden_phrase"
    ]
    assert (s.result, s.evidence_offset_ms) == ("fail", 90_000)  # when the notes were saved
    assert "这是我们的规定" in s.evidence_text
    ok = scores(timeline(*GOOD_CALL), notes="客户满意", forbidden_phrase_check=checker)
    assert ok["no_forbidden_phrase"].result == "pass"


def test_customer_type_must_be_chosen() -> None:
    s = scores(replaced("customer_type"))["customer_type_chosen"]
    assert (s.result, s.evidence_offset_ms) == ("fail", None)
    cleared = replaced("customer_type", (20_000, "customer_type", {"customer_type": ""}))
    assert scores(cleared)["customer_type_chosen"].result == "fail"
    changed = replaced(
        "customer_type",
        (20_000, "customer_type", {"customer_type": "demanding"}),
        (25_000, "customer_type", {"customer_type": "elderly"}),
    )
    assert scores(changed)["customer_type_chosen"].evidence_offset_ms == 25_000


def test_promise_is_checked_only_when_a_complaint_was_raised() -> None:
    assert scores(timeline(*GOOD_CALL), complaint=False)["promise_recorded"].result == "na"

    s = scores(timeline(*GOOD_CALL), complaint=True)["promise_recorded"]
    assert (s.result, s.evidence_offset_ms) == ("fail", None)

    promised = (80_000, "complaint_submitted", {"reference": "TS-1", "promised_reply_at": "x"})
    s = scores(replaced("", promised), complaint=True)["promise_recorded"]
    assert (s.result, s.evidence_offset_ms) == ("pass", 80_000)

    unpromised = (80_000, "complaint_submitted", {"reference": "TS-2", "promised_reply_at": None})
    s = scores(replaced("", unpromised), complaint=True)["promise_recorded"]
    assert (s.result, s.evidence_offset_ms) == ("fail", 80_000)
    assert "TS-2" in s.evidence_text

    # The event itself says a complaint was raised, whatever the caller passed.
    assert scores(replaced("", promised), complaint=False)["promise_recorded"].result == "pass"


def test_a_defaulted_or_missing_wrap_up_fails() -> None:
    defaulted = replaced("wrap_up", (190_000, "wrap_up", {"code": "other", "defaulted": True}))
    s = scores(defaulted)["wrap_up_code_set"]
    assert (s.result, s.evidence_offset_ms) == ("fail", 190_000)
    assert "other" in s.evidence_text
    s = scores(replaced("wrap_up"))["wrap_up_code_set"]
    assert (s.result, s.evidence_offset_ms) == ("fail", None)


def test_hold_time_is_totalled_against_the_limit() -> None:
    events = timeline(
        (0, "answered", {}),
        (30_000, "hold", {}),
        (100_000, "resumed", {}),  # 70 s
        (110_000, "hold", {}),
        (170_000, "unhold", {}),  # 60 s (the demo data's name for resumed)
        (200_000, "ended", {}),
    )
    s = scores(events)["hold_under_limit"]
    assert (s.result, s.evidence_offset_ms) == ("fail", 30_000)  # the longer of the two
    assert "2:10" in s.evidence_text and "1:10" in s.evidence_text
    assert scores(events, hold_limit_s=130)["hold_under_limit"].result == "pass"
    assert scores(replaced("hold"))["hold_under_limit"].evidence_text.startswith("无保留")


def test_a_hold_never_resumed_lasts_until_the_call_ended() -> None:
    events = timeline((0, "answered", {}), (10_000, "hold", {}), (200_000, "ended", {}))
    assert hold_periods(events) == [(10_000, 190_000)]
    assert hold_periods(timeline((0, "hold", {}), (5_000, "note_saved", {}))) == [(0, 5_000)]


def test_an_unanswered_call_is_not_scored() -> None:
    missed = timeline((0, "ringing", {}), (20_000, "missed", {}))
    s = scores(missed)
    assert {check: score.result for check, score in s.items()} == {
        "greeting_used": "na",
        "no_forbidden_phrase": "na",
        "customer_type_chosen": "na",
        "promise_recorded": "na",
        "wrap_up_code_set": "na",
        "hold_under_limit": "na",
    }


def test_an_unknown_check_is_not_applicable() -> None:
    item = QAItem("qa-x", Text("新检查"), 5, auto="sentiment_positive")
    (score,) = auto_score([item], timeline(*GOOD_CALL), "", False)
    assert score.result == "na" and "sentiment_positive" in score.evidence_text


# -- evaluations -------------------------------------------------------------------------------


def item(item_id: str, weight: float, critical: bool = False, auto: str | None = None) -> QAItem:
    return QAItem(item_id, Text(f"{item_id} 中文", item_id), weight, critical, auto)


ITEMS = (
    item("greet", 10, auto="greeting_used"),
    item("forbidden", 20, critical=True, auto="no_forbidden_phrase"),
    item("empathy", 30),
    item("promise", 40, critical=True, auto="promise_recorded"),
)


def fresh(**auto: str) -> Evaluation:
    autos = [AutoScore(i, r, 1000, f"evidence {i}") for i, r in auto.items()]  # type: ignore[arg-type]
    return Evaluation.start(ITEMS, autos, pack="service-etiquette@1.0.0")


def test_a_new_evaluation_is_pre_scored_and_waits_for_the_manual_items() -> None:
    ev = fresh(greet="pass", forbidden="pass", promise="na")
    assert ev.score("greet").auto == "pass" and ev.score("greet").evidence_offset_ms == 1000
    assert ev.score("empathy").result is None
    assert ev.unscored == ("empathy",) and not ev.complete
    with pytest.raises(QAError, match="1 items not scored: empathy 中文"):
        ev.ready_to_save()
    ev = ev.with_result("empathy", "pass")
    ev.ready_to_save()


def test_total_is_weighted_over_the_items_that_apply() -> None:
    ev = fresh(greet="fail", forbidden="pass", promise="na").with_result("empathy", "pass")
    # N/A promise (40) counts for neither side: (20 + 30) / (10 + 20 + 30).
    assert ev.total_percent == pytest.approx(83.3)
    assert ev.failed_critical == ()


def test_a_failed_critical_item_fails_the_whole_evaluation() -> None:
    ev = fresh(greet="pass", forbidden="fail", promise="na").with_result("empathy", "pass")
    assert ev.failed_critical == ("forbidden",)
    assert ev.total_percent == 0.0
    assert ev.raw_percent == pytest.approx(66.7)  # what it would have been
    # The team lead listens and overrides: the warning was a quotation of the customer.
    cleared = ev.with_result("forbidden", "pass", "客户原话，不是坐席说的")
    assert cleared.failed_critical == ()
    assert cleared.total_percent == 100.0
    assert cleared.score("forbidden").overridden
    assert cleared.score("forbidden").comment == "客户原话，不是坐席说的"
    assert cleared.with_result("forbidden", None).score("forbidden").result == "fail"
    assert not cleared.with_result("forbidden", "fail").score("forbidden").overridden


def test_a_critical_item_that_does_not_apply_fails_nothing() -> None:
    ev = fresh(greet="pass", forbidden="na", promise="na").with_result("empathy", "fail")
    assert ev.failed_critical == ()
    assert ev.total_percent == pytest.approx(25.0)


def test_nothing_applicable_has_no_total() -> None:
    ev = fresh(greet="na", forbidden="na", promise="na").with_result("empathy", "na")
    assert ev.total_percent is None


def test_bad_edits_are_refused() -> None:
    ev = fresh()
    with pytest.raises(QAError, match="not an item"):
        ev.with_result("nope", "pass")
    with pytest.raises(QAError, match="unknown result"):
        ev.with_result("greet", "maybe")  # type: ignore[arg-type]
    with pytest.raises(QAError, match="say something"):
        ev.with_comment(Comment(1000, "   ", "2001"))
    with pytest.raises(QAError, match="before the call"):
        ev.with_comment(Comment(-1, "早了", "2001"))
    with pytest.raises(QAError, match="one per checklist item"):
        Evaluation(ITEMS, ())


def test_comments_sit_at_time_positions_in_order() -> None:
    ev = (
        fresh()
        .with_comment(Comment(90_000, "这里应先道歉", "2001"))
        .with_comment(Comment(5_000, " 开场很好 ", "2001"))
    )
    assert [(c.offset_ms, c.text) for c in ev.comments] == [
        (5_000, "开场很好"),
        (90_000, "这里应先道歉"),
    ]
    assert [c.offset_ms for c in ev.without_comment(0).comments] == [90_000]


def test_the_stored_form_round_trips_and_keeps_the_checklist() -> None:
    ev = (
        fresh(greet="pass", forbidden="fail", promise="na")
        .with_result("empathy", "pass", "语气亲切")
        .with_result("forbidden", "pass")
        .with_comment(Comment(61_000, "保留前应征得同意", "2001"))
    )
    item_scores, comments = ev.to_record()
    # What goes into the JSON columns is plain JSON (and PostgreSQL JSONB keeps no key order:
    # the items are a list).
    item_scores, comments = json.loads(json.dumps(item_scores)), json.loads(json.dumps(comments))
    assert [row["id"] for row in item_scores["items"]] == [
        "greet",
        "forbidden",
        "empathy",
        "promise",
    ]
    assert item_scores["failed_critical"] == []
    back = Evaluation.from_record(item_scores, comments)
    assert back == ev
    assert back.total_percent == ev.total_percent
    assert back.item("promise").critical and back.item("promise").weight == 40


def test_calibration_shows_where_two_team_leads_differ() -> None:
    a = fresh(greet="pass", forbidden="pass", promise="na").with_result("empathy", "pass")
    b = a.with_result("empathy", "fail").with_result("greet", "na")
    assert compare_evaluations(a, b) == [
        Difference("greet", "pass", "na", "greet 中文"),
        Difference("empathy", "pass", "fail", "empathy 中文"),
    ]
    assert compare_evaluations(a, a) == []
    # Scored against different checklists (the pack changed between them).
    extra = Evaluation.start((*ITEMS, item("closing", 5))).with_result("closing", "pass")
    diff = compare_evaluations(fresh(), extra)
    assert diff[-1] == Difference("closing", None, "pass", "closing 中文")


def test_revisions_count_up_and_never_reuse_a_number() -> None:
    assert next_revision([]) == 1
    assert next_revision([1]) == 2
    assert next_revision([3, 1, 2]) == 4
    assert next_revision(iter([1, 5])) == 6  # a gap (never expected) is not filled
