"""Complaint rules: what the form accepts, the after-sales workflow, repeat faults, quick reply
times and the reference format."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest

from agent_desk.core.complaints import (
    ASSIGNEE_MAX,
    CUSTOMER_WANTS_MAX,
    DEFAULT_CATEGORIES,
    DEPARTMENT_MAX,
    DESCRIPTION_MAX,
    MAX_ESCALATION_LEVEL,
    SEVERITIES,
    TRANSITIONS,
    ComplaintDraft,
    ComplaintRuleError,
    ComplaintStatus,
    EarlierComplaint,
    EscalationRefused,
    IllegalTransition,
    MissingReason,
    NewComplaint,
    allowed_targets,
    awaits_reply,
    category_label,
    check_reason,
    check_transition,
    describe_event,
    new_idempotency_key,
    next_escalation_level,
    parse_categories,
    reference,
    repeat_of,
    reply_time_choice,
    validate_changes,
    validate_draft,
)

NOW = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)
BEIJING = dt.timezone(dt.timedelta(hours=8))


def draft(**changes: object) -> ComplaintDraft:
    base = ComplaintDraft(
        customer_id=7,
        purchase_id=11,
        category="repair",
        severity="high",
        description="空调不制冷，已经三天了",
        customer_wants="上门维修",
        promised_reply_at=NOW + dt.timedelta(hours=2),
        callback_number="138 0013 8000",
        department="售后服务部",
        assignee="李师傅",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# -- validation ---------------------------------------------------------------------------------


def test_a_complete_draft_passes() -> None:
    assert validate_draft(draft(), NOW) == {}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("customer_id", None, "required"),
        ("customer_id", 0, "not a known customer"),
        ("purchase_id", -3, "not a known product"),
        ("category", "", "choose a category"),
        ("category", "weather", "choose a category"),
        ("severity", "", "choose a severity"),
        ("severity", "urgent", "choose a severity"),
        ("description", "", "required"),
        ("description", "   \n ", "required"),
        ("description", "坏了", "at least 5 characters"),
        ("customer_wants", "", "required"),
        ("promised_reply_at", None, "required"),
        ("promised_reply_at", dt.datetime(2026, 11, 24, 12, 0), "time zone"),
        ("promised_reply_at", NOW, "in the future"),
        ("promised_reply_at", NOW - dt.timedelta(minutes=1), "in the future"),
        ("promised_reply_at", NOW + dt.timedelta(days=31), "more than 30 days"),
        ("callback_number", "", "required"),
        ("callback_number", "138 0013", "not a valid phone number"),
        ("callback_number", "call me maybe", "not a valid phone number"),
        ("call_id", "x" * 65, "at most 64"),
        ("idempotency_key", "", "submission key"),
        ("idempotency_key", "has spaces in it", "submission key"),
        ("idempotency_key", "trailing-newline\n", "submission key"),
        ("idempotency_key", "k" * 65, "submission key"),
        ("repeat_window_days", 0, "repeat window"),
    ],
)
def test_each_field_says_why(field: str, value: object, reason: str) -> None:
    errors = validate_draft(draft(**{field: value}), NOW)
    assert list(errors) == [field]
    assert reason in errors[field]


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("description", DESCRIPTION_MAX),
        ("customer_wants", CUSTOMER_WANTS_MAX),
        ("department", DEPARTMENT_MAX),
        ("assignee", ASSIGNEE_MAX),
    ],
)
def test_over_long_text_is_refused_at_the_column_size(field: str, limit: int) -> None:
    assert validate_draft(draft(**{field: "修" * limit}), NOW) == {}
    errors = validate_draft(draft(**{field: "修" * (limit + 1)}), NOW)
    assert f"at most {limit}" in errors[field]


@pytest.mark.parametrize(
    "text",
    [
        "客户很生气 😡😡 要求退货 🙏",
        "Robert'); DROP TABLE complaints;--",
        "1' OR '1'='1'; SELECT * FROM agents WHERE name LIKE '%",
        '引号 "双" 与 \\ 反斜杠\n第二行\t制表',
        "👨‍👩‍👧 family emoji and e\u0301 combining marks",
    ],
)
def test_emoji_and_sql_like_text_are_content(text: str) -> None:
    d = draft(description=text, customer_wants=text[:40])
    assert validate_draft(d, NOW) == {}
    assert d.normalised().description == text  # kept verbatim, never "cleaned"


@pytest.mark.parametrize("bad", ["空调\x00不制冷了", "bell\x07 ring", "half \ud83d emoji"])
def test_unstorable_characters_are_refused(bad: str) -> None:
    # PostgreSQL refuses NUL and UTF-8 cannot hold a lone surrogate: such a draft would
    # never leave the outbox, so the form says so instead.
    assert "description" in validate_draft(draft(description=bad), NOW)


def test_without_now_a_past_promise_is_still_deliverable() -> None:
    late = draft(promised_reply_at=NOW - dt.timedelta(hours=5))
    assert "promised_reply_at" in validate_draft(late, NOW)
    assert validate_draft(late, None) == {}


def test_every_problem_at_once() -> None:
    empty = ComplaintDraft(
        customer_id=None,  # type: ignore[arg-type]
        category="",
        severity="",
        description="",
        customer_wants="",
        promised_reply_at=None,
        callback_number="",
    )
    assert set(validate_draft(empty, NOW)) == {
        "customer_id",
        "category",
        "severity",
        "description",
        "customer_wants",
        "promised_reply_at",
        "callback_number",
    }


def test_callback_number_is_normalised_to_e164() -> None:
    assert draft(callback_number="１３８-００１３-８０００").normalised().callback_number == (
        "+8613800138000"
    )
    assert draft(callback_number="nonsense").normalised().callback_number == "nonsense"


def test_configured_categories() -> None:
    categories = parse_categories(["repair=维修 · Repair", "noise=噪音 · Noise", "vip"])
    assert [c.code for c in categories] == ["repair", "noise", "vip"]
    assert categories[1].label == "噪音 · Noise"
    assert validate_draft(draft(category="noise"), NOW, categories=categories) == {}
    assert "category" in validate_draft(draft(category="billing"), NOW, categories=categories)
    # The store accepts any code that fits: it delivers drafts from differently set-up desks.
    assert validate_draft(draft(category="noise"), NOW, categories=None) == {}
    assert "category" in validate_draft(draft(category="x" * 41), NOW, categories=None)
    with pytest.raises(ComplaintRuleError, match="twice"):
        parse_categories(["a=甲", "a=乙"])
    with pytest.raises(ComplaintRuleError, match="at least one"):
        parse_categories([])


def test_default_lists_are_bilingual() -> None:
    assert [c.code for c in DEFAULT_CATEGORIES] == [
        "product_quality",
        "repair",
        "delivery",
        "installation",
        "staff_attitude",
        "billing",
        "other",
    ]
    assert category_label("staff_attitude") == "服务态度 · Staff attitude"
    assert category_label("retired_code") == "retired_code"
    assert [s.code for s in SEVERITIES] == ["low", "normal", "high", "critical"]


def test_draft_round_trips_through_json_and_ignores_unknown_keys() -> None:
    d = draft(promised_reply_at=dt.datetime(2026, 11, 24, 18, 0, tzinfo=BEIJING), call_id="c-9")
    data = d.to_dict()
    assert ComplaintDraft.from_dict(data) == d
    assert ComplaintDraft.from_dict({**data, "added_by_a_newer_desk": 1}) == d
    assert len({new_idempotency_key() for _ in range(100)}) == 100


def test_later_changes_are_checked_like_the_form() -> None:
    assert validate_changes({"assignee": "王师傅", "notes": "已联系厂家"}, NOW) == {}
    errors = validate_changes(
        {
            "assignee": "王" * (ASSIGNEE_MAX + 1),
            "promised_reply_at": NOW - dt.timedelta(hours=1),
            "status": "closed",
        },
        NOW,
    )
    assert set(errors) == {"assignee", "promised_reply_at", "status"}


# -- workflow -----------------------------------------------------------------------------------

LEGAL = {
    ("received", "assigned"),
    ("assigned", "in_progress"),
    ("in_progress", "customer_informed"),
    ("customer_informed", "resolved"),
    ("resolved", "closed"),
    ("resolved", "reopened"),
    ("closed", "reopened"),
    ("reopened", "in_progress"),
}


def test_the_transition_table_is_the_after_sales_flow() -> None:
    table = {(src.value, dst.value) for src, targets in TRANSITIONS.items() for dst in targets}
    assert table == LEGAL


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product([s.value for s in ComplaintStatus], repeat=2))
)
def test_every_transition_is_legal_or_refused_naming_both(current: str, target: str) -> None:
    if (current, target) in LEGAL:
        check_transition(current, target)
        return
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, target)
    message = str(info.value)
    assert ComplaintStatus(current).label in message
    if current != target:
        assert ComplaintStatus(target).label in message
    assert (info.value.current, info.value.target) == (current, target)


def test_unknown_statuses_are_refused() -> None:
    with pytest.raises(ComplaintRuleError, match="unknown target status 'lost'"):
        check_transition("received", "lost")
    with pytest.raises(ComplaintRuleError, match="unknown current status"):
        check_transition("misplaced", "assigned")


def test_next_steps_in_workflow_order() -> None:
    assert allowed_targets("resolved") == (ComplaintStatus.CLOSED, ComplaintStatus.REOPENED)
    assert allowed_targets("received") == (ComplaintStatus.ASSIGNED,)


def test_reopening_needs_a_reason() -> None:
    with pytest.raises(MissingReason):
        check_reason("reopened", "  ")
    check_reason("reopened", "客户反映问题未解决")
    check_reason("assigned", "")


def test_promised_reply_is_owed_until_the_customer_is_told() -> None:
    owed = {s.value for s in ComplaintStatus if awaits_reply(s)}
    assert owed == {"received", "assigned", "in_progress", "reopened"}


def test_supervisor_hand_off() -> None:
    assert next_escalation_level("in_progress", 0, "客户要求主管处理") == 1
    with pytest.raises(MissingReason):
        next_escalation_level("in_progress", 0, "")
    with pytest.raises(EscalationRefused, match="highest level"):
        next_escalation_level("in_progress", MAX_ESCALATION_LEVEL, "再升级")
    with pytest.raises(EscalationRefused, match="reopen"):
        next_escalation_level("closed", 0, "客户又来电")


# -- repeat faults ------------------------------------------------------------------------------


def earlier(cid: int, days_ago: float, level: int = 0, **changes: object) -> EarlierComplaint:
    base = EarlierComplaint(
        id=cid,
        reference=reference(NOW.date(), cid),
        customer_id=7,
        purchase_id=11,
        category="repair",
        at=NOW - dt.timedelta(days=days_ago),
        escalation_level=level,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


NEW = NewComplaint(customer_id=7, purchase_id=11, category="repair", at=NOW)


def test_same_customer_product_and_category_within_the_window_is_a_repeat() -> None:
    finding = repeat_of(NEW, [earlier(3, 23)])
    assert finding is not None
    earlier_id, level, explanation = finding
    assert (earlier_id, level) == (3, 1)
    assert "TS-20261124-000003" in explanation
    assert "23 days ago" in explanation
    assert "level 1" in explanation


@pytest.mark.parametrize(
    ("days_ago", "linked"),
    [(0, True), (89.99, True), (90, True), (90.0001, False), (120, False)],
)
def test_window_edges(days_ago: float, linked: bool) -> None:
    assert (repeat_of(NEW, [earlier(3, days_ago)]) is not None) is linked


def test_window_is_configurable() -> None:
    assert repeat_of(NEW, [earlier(3, 20)], window_days=14) is None
    assert repeat_of(NEW, [earlier(3, 10)], window_days=14) is not None


@pytest.mark.parametrize(
    "other",
    [
        {"customer_id": 8},
        {"purchase_id": 12},
        {"category": "billing"},
        {"at": NOW + dt.timedelta(minutes=1)},  # not earlier at all
    ],
)
def test_anything_else_is_not_a_repeat(other: dict[str, object]) -> None:
    assert repeat_of(NEW, [earlier(3, 5, **other)]) is None


def test_no_product_no_repeat() -> None:
    assert repeat_of(NEW._replace(purchase_id=None), [earlier(3, 5, purchase_id=None)]) is None


def test_the_newest_is_linked_one_level_above_the_highest() -> None:
    finding = repeat_of(NEW, [earlier(3, 60, level=0), earlier(5, 30, level=1), earlier(4, 45)])
    assert finding is not None
    assert finding.earlier_id == 5
    assert finding.escalation_level == 2


def test_levels_stop_at_the_top() -> None:
    finding = repeat_of(NEW, [earlier(3, 1, level=MAX_ESCALATION_LEVEL)])
    assert finding is not None and finding.escalation_level == MAX_ESCALATION_LEVEL


# -- quick reply times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "now", "expected"),
    [
        ("2h", dt.datetime(2026, 11, 24, 9, 30), dt.datetime(2026, 11, 24, 11, 30)),
        ("24h", dt.datetime(2026, 11, 24, 9, 30), dt.datetime(2026, 11, 25, 9, 30)),
        ("48h", dt.datetime(2026, 11, 24, 9, 30), dt.datetime(2026, 11, 26, 9, 30)),
        ("today", dt.datetime(2026, 11, 24, 9, 30), dt.datetime(2026, 11, 24, 18, 0)),
        ("today", dt.datetime(2026, 11, 24, 16, 0), dt.datetime(2026, 11, 24, 18, 0)),
        ("today", dt.datetime(2026, 11, 24, 16, 1), dt.datetime(2026, 11, 24, 18, 1)),
        ("today", dt.datetime(2026, 11, 24, 19, 0), dt.datetime(2026, 11, 24, 21, 0)),
        ("today", dt.datetime(2026, 11, 24, 23, 0), dt.datetime(2026, 11, 25, 1, 0)),
    ],
)
def test_quick_reply_choices_in_local_time(
    choice: str, now: dt.datetime, expected: dt.datetime
) -> None:
    local_now = now.replace(tzinfo=BEIJING)
    promised = reply_time_choice(choice, local_now)
    assert promised == expected.replace(tzinfo=BEIJING)
    assert validate_draft(draft(promised_reply_at=promised), local_now) == {}


def test_today_means_the_operators_working_day_not_utc() -> None:
    # 09:30 in Beijing is 01:30 UTC: "today" is still 18:00 Beijing time.
    now_utc = dt.datetime(2026, 11, 24, 1, 30, tzinfo=dt.UTC)
    promised = reply_time_choice("today", now_utc.astimezone(BEIJING))
    assert promised == dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


def test_unknown_choice_and_naive_now_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown reply time choice"):
        reply_time_choice("soon", NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        reply_time_choice("2h", dt.datetime(2026, 11, 24, 9, 30))


# -- references and audit lines -----------------------------------------------------------------


def test_reference_format() -> None:
    assert reference(dt.date(2026, 11, 22), 123) == "TS-20261122-000123"
    assert reference(dt.date(2026, 1, 2), 1_234_567) == "TS-20260102-234567"


def test_audit_lines_read_as_sentences() -> None:
    at = dt.datetime(2026, 11, 24, 9, 30)
    line = describe_event(at, "1001 王小燕", "assigned", "received", "assigned", "派给售后", {})
    assert (
        line
        == "2026-11-24 09:30 1001 王小燕: status 已受理 · received → 已派单 · assigned — 派给售后"
    )
    escalated = describe_event(
        at, "2001 张班长", "escalated", "in_progress", "in_progress", "", {"level": 2}
    )
    assert "escalated to level 2 (部门主管 · department head)" in escalated
    updated = describe_event(
        at,
        "1001 王小燕",
        "updated",
        "assigned",
        "assigned",
        "",
        {"changes": {"assignee": ["", "李师傅"]}},
    )
    assert "changed assignee — → 李师傅" in updated
