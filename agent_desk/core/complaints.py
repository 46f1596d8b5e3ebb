"""Complaint rules (digest R19–R25): what a complaint must contain, how it moves through the
after-sales flow, when a repeat fault is escalated, and how its reference reads.

Pure and clock-free: every rule that depends on time takes `now`, so the form, the store and
the tests apply the same rule to the same moment.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any, NamedTuple

from agent_desk.core.customers import CLOSED_COMPLAINT_STATUSES, REPLIED_COMPLAINT_STATUSES
from agent_desk.core.phones import DEFAULT_REGION, PhoneNumberError, normalise_number

# Column sizes of the complaints table (models.Complaint); a draft that fits them can always be
# stored, which is what lets the outbox promise delivery.
CATEGORY_MAX = 40
SEVERITY_MAX = 20
DEPARTMENT_MAX = 60
ASSIGNEE_MAX = 60
CALLBACK_MAX = 20
KEY_MAX = 64
CALL_ID_MAX = 64  # call_sessions.call_id
# Text columns have no size; these keep a pasted document out of a complaint.
DESCRIPTION_MAX = 4000
CUSTOMER_WANTS_MAX = 2000
NOTES_MAX = 4000
REASON_MAX = 1000
DESCRIPTION_MIN = 5
# A promise further away than this is a typo (wrong month or year), not a reply time.
PROMISE_MAX_AHEAD = dt.timedelta(days=30)
REPEAT_WINDOW_DAYS = 90

# The call centre's business day is Beijing time: a reference's date must be the same on every
# desk whatever its own time zone, and China has no daylight saving, so a fixed offset is exact.
REFERENCE_PREFIX = "TS"
REFERENCE_UTC_OFFSET = dt.timedelta(hours=8)
REFERENCE_DIGITS = 6

_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Line breaks and tabs belong in a description; other control characters are paste debris
# and PostgreSQL refuses NUL outright, which would leave the complaint stuck in the outbox.
_ALLOWED_CONTROLS = frozenset("\n\r\t")


class ComplaintRuleError(ValueError):
    """A rule refused the request; the message is for the operator."""


class IllegalTransition(ComplaintRuleError):
    def __init__(self, current: str, target: str, why: str) -> None:
        super().__init__(why)
        self.current = current
        self.target = target


class MissingReason(ComplaintRuleError):
    pass


class EscalationRefused(ComplaintRuleError):
    pass


class InvalidComplaint(ComplaintRuleError):
    """A draft or a change that does not pass validation; `errors` maps field to reason."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in errors.items()))
        self.errors = dict(errors)


# -- categories, severities, levels -----------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    code: str
    zh: str
    en: str

    @property
    def label(self) -> str:
        return f"{self.zh} · {self.en}"


DEFAULT_CATEGORIES: tuple[Choice, ...] = (
    Choice("product_quality", "产品质量", "Product quality"),
    Choice("repair", "维修", "Repair"),
    Choice("delivery", "配送", "Delivery"),
    Choice("installation", "安装", "Installation"),
    Choice("staff_attitude", "服务态度", "Staff attitude"),
    Choice("billing", "收费", "Billing"),
    Choice("other", "其他", "Other"),
)

SEVERITIES: tuple[Choice, ...] = (
    Choice("low", "低", "Low"),
    Choice("normal", "一般", "Normal"),
    Choice("high", "高", "High"),
    Choice("critical", "紧急", "Critical"),
)
DEFAULT_SEVERITY = "normal"

# Who holds the case at each escalation level; a repeat or a hand-off moves it one step up.
ESCALATION_LEVELS: tuple[Choice, ...] = (
    Choice("0", "一线", "front line"),
    Choice("1", "班长", "team lead"),
    Choice("2", "部门主管", "department head"),
    Choice("3", "服务经理", "service manager"),
)
MAX_ESCALATION_LEVEL = len(ESCALATION_LEVELS) - 1


def parse_categories(entries: Sequence[str]) -> tuple[Choice, ...]:
    """Categories from settings entries "code=中文 · English" (the wrap-up codes' format)."""
    out: list[Choice] = []
    for entry in entries:
        code, _, label = (part.strip() for part in entry.partition("="))
        zh, _, en = (part.strip() for part in label.partition("·"))
        if not code or len(code) > CATEGORY_MAX:
            raise ComplaintRuleError(f"category code {code!r} must be 1-{CATEGORY_MAX} characters")
        if any(choice.code == code for choice in out):
            raise ComplaintRuleError(f"category {code!r} is listed twice")
        out.append(Choice(code, zh or code, en or zh or code))
    if not out:
        raise ComplaintRuleError("at least one complaint category is needed")
    return tuple(out)


def category_label(code: str, categories: Sequence[Choice] = DEFAULT_CATEGORIES) -> str:
    # Old complaints keep a category that was later removed from the list: show its code.
    return next((c.label for c in categories if c.code == code), code)


def severity_label(code: str) -> str:
    return next((c.label for c in SEVERITIES if c.code == code), code)


def escalation_label(level: int) -> str:
    if 0 <= level <= MAX_ESCALATION_LEVEL:
        choice = ESCALATION_LEVELS[level]
        return f"{level} ({choice.zh} · {choice.en})"
    return str(level)


# -- the workflow (R22) ------------------------------------------------------------------------


class ComplaintStatus(enum.StrEnum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    CUSTOMER_INFORMED = "customer_informed"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    ComplaintStatus.RECEIVED: "已受理 · received",
    ComplaintStatus.ASSIGNED: "已派单 · assigned",
    ComplaintStatus.IN_PROGRESS: "处理中 · in progress",
    ComplaintStatus.CUSTOMER_INFORMED: "已告知客户 · customer informed",
    ComplaintStatus.RESOLVED: "已解决 · resolved",
    ComplaintStatus.CLOSED: "已结案 · closed",
    ComplaintStatus.REOPENED: "重新处理 · reopened",
}

S = ComplaintStatus
# The whole flow; anything not listed is refused. A customer who is not satisfied with the
# solution (R22 "raises further needs") reopens the case, which goes back to work.
TRANSITIONS: Mapping[ComplaintStatus, frozenset[ComplaintStatus]] = {
    S.RECEIVED: frozenset({S.ASSIGNED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS}),
    S.IN_PROGRESS: frozenset({S.CUSTOMER_INFORMED}),
    S.CUSTOMER_INFORMED: frozenset({S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.IN_PROGRESS}),
}
# Reopening undoes somebody's "done": the audit trail must say why.
REASON_REQUIRED: frozenset[ComplaintStatus] = frozenset({S.REOPENED})
# The audit action for reaching each status; the same words the demo data uses.
EVENT_ACTIONS: Mapping[ComplaintStatus, str] = {
    S.RECEIVED: "created",
    S.ASSIGNED: "assigned",
    S.IN_PROGRESS: "work_started",
    S.CUSTOMER_INFORMED: "customer_informed",
    S.RESOLVED: "resolved",
    S.CLOSED: "closed",
    S.REOPENED: "reopened",
}
ACTION_ESCALATED = "escalated"
ACTION_UPDATED = "updated"


def _status(value: str, role: str) -> ComplaintStatus:
    try:
        return ComplaintStatus(value)
    except ValueError:
        raise ComplaintRuleError(f"unknown {role} status {value!r}") from None


def check_transition(current: str, target: str) -> None:
    """Nothing when `current` may move to `target`; IllegalTransition naming both otherwise."""
    src, dst = _status(current, "current"), _status(target, "target")
    allowed = TRANSITIONS[src]
    if dst in allowed:
        return
    if src == dst:
        why = f"the complaint is already {src.label}"
    else:
        options = ", ".join(sorted(s.label for s in allowed))
        why = f"a complaint that is {src.label} cannot become {dst.label}; it can become: {options}"
    raise IllegalTransition(current, target, why)


def allowed_targets(current: str) -> tuple[ComplaintStatus, ...]:
    """The next steps to offer, in workflow order."""
    allowed = TRANSITIONS[_status(current, "current")]
    return tuple(s for s in ComplaintStatus if s in allowed)


def check_reason(target: str, reason: str) -> None:
    if _status(target, "target") in REASON_REQUIRED and not reason.strip():
        raise MissingReason(f"say why the complaint becomes {ComplaintStatus(target).label}")
    if len(reason) > REASON_MAX:
        raise MissingReason(f"the reason is longer than {REASON_MAX} characters")


def is_open(status: str) -> bool:
    return status not in CLOSED_COMPLAINT_STATUSES


def awaits_reply(status: str) -> bool:
    """Whether the promised reply is still owed (the callbacks-due list)."""
    return status not in CLOSED_COMPLAINT_STATUSES and status not in REPLIED_COMPLAINT_STATUSES


# Statuses whose promised reply is still owed, for a database filter.
AWAITING_REPLY_STATUSES: tuple[str, ...] = tuple(
    s.value for s in ComplaintStatus if awaits_reply(s)
)


def next_escalation_level(status: str, level: int, reason: str) -> int:
    """The level a supervisor hand-off (R21 压力转嫁) moves an open complaint to."""
    if not reason.strip():
        raise MissingReason("say why the complaint is handed to a supervisor")
    if len(reason) > REASON_MAX:
        raise MissingReason(f"the reason is longer than {REASON_MAX} characters")
    if not is_open(status):
        raise EscalationRefused(
            f"a complaint that is {_status(status, 'current').label} is not escalated: reopen it"
        )
    if level >= MAX_ESCALATION_LEVEL:
        raise EscalationRefused(
            f"the complaint is already at the highest level, {escalation_label(level)}"
        )
    return level + 1


# -- the draft and its validation ---------------------------------------------------------------


# Validation and normalisation read the same number on every submit; parsing is the
# costliest step of either, so it is done once.
_normalise_number = lru_cache(maxsize=256)(normalise_number)


def new_idempotency_key() -> str:
    """Made once when the form opens: every retry of this complaint carries the same key."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class ComplaintDraft:
    """What the form collects; serialisable, so the outbox can keep it across a restart."""

    customer_id: int
    category: str
    severity: str
    description: str
    customer_wants: str
    promised_reply_at: dt.datetime | None
    callback_number: str
    purchase_id: int | None = None
    call_id: str | None = None
    department: str = ""
    assignee: str = ""
    idempotency_key: str = field(default_factory=new_idempotency_key)
    # The desk's configured repeat window travels with the draft, so a complaint delivered
    # later from the outbox is judged by the rule the operator saw.
    repeat_window_days: int = REPEAT_WINDOW_DAYS

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        promised = self.promised_reply_at
        out["promised_reply_at"] = promised.isoformat() if promised else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ComplaintDraft:
        # Keys a newer desk added are dropped: the outbox must still deliver what it holds.
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        promised = values.get("promised_reply_at")
        values["promised_reply_at"] = dt.datetime.fromisoformat(promised) if promised else None
        return cls(**values)

    def normalised(self, region: str = DEFAULT_REGION) -> ComplaintDraft:
        """The callback number in E.164 (unchanged when it does not parse: validation says)."""
        try:
            number = _normalise_number(self.callback_number, region)
        except PhoneNumberError:
            return self
        return replace(self, callback_number=number)


def _text_problem(value: str, max_chars: int, *, required: bool, min_chars: int = 1) -> str | None:
    if not isinstance(value, str):
        return "must be text · 须为文字"
    if required and not value.strip():
        return "required · 必填"
    if len(value) > max_chars:
        return f"{len(value)} characters, at most {max_chars} · 最多{max_chars}字"
    if value.strip() and len(value.strip()) < min_chars:
        return f"at least {min_chars} characters · 至少{min_chars}个字"
    for ch in value:
        if ch in _ALLOWED_CONTROLS:
            continue
        kind = unicodedata.category(ch)
        if kind == "Cc":
            return "contains a control character · 含有控制字符"
        if kind == "Cs":  # half an emoji from a broken paste: not storable as UTF-8
            return "contains a broken character · 含有无效字符"
    return None


def _promise_problem(promised: dt.datetime | None, now: dt.datetime | None) -> str | None:
    if promised is None:
        return "required: promise a reply time · 必填：承诺回复时间"
    if promised.tzinfo is None or promised.utcoffset() is None:
        return "needs a time zone · 缺少时区"
    if now is None:
        return None
    if promised <= now:
        return "must be in the future · 须晚于现在"
    if promised - now > PROMISE_MAX_AHEAD:
        return f"more than {PROMISE_MAX_AHEAD.days} days ahead · 超过{PROMISE_MAX_AHEAD.days}天"
    return None


def _id_problem(value: object, *, required: bool, what: str) -> str | None:
    if value is None:
        return f"required: choose the {what} · 必填" if required else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return f"not a known {what} · 无效"
    return None


def validate_draft(
    draft: ComplaintDraft,
    now: dt.datetime | None,
    *,
    categories: Sequence[Choice] | None = DEFAULT_CATEGORIES,
    region: str = DEFAULT_REGION,
) -> dict[str, str]:
    """Field name → reason, for every field that is not acceptable; empty when all are.

    Text is kept verbatim: emoji, quotes and SQL-looking text are content, never refused.
    `now` None skips the "reply time in the future" check: a draft that was valid when the
    operator saved it is still delivered after an outage that outlasted its promise.
    `categories` None accepts any code that fits the column: the store delivers drafts from
    desks whose configured list it does not know.
    """
    errors: dict[str, str | None] = {
        "customer_id": _id_problem(draft.customer_id, required=True, what="customer"),
        "purchase_id": _id_problem(draft.purchase_id, required=False, what="product"),
        "category": _category_problem(draft.category, categories),
        "severity": None
        if any(s.code == draft.severity for s in SEVERITIES)
        else "choose a severity · 请选择严重程度",
        "description": _text_problem(
            draft.description, DESCRIPTION_MAX, required=True, min_chars=DESCRIPTION_MIN
        ),
        "customer_wants": _text_problem(draft.customer_wants, CUSTOMER_WANTS_MAX, required=True),
        "promised_reply_at": _promise_problem(draft.promised_reply_at, now),
        "department": _text_problem(draft.department, DEPARTMENT_MAX, required=False),
        "assignee": _text_problem(draft.assignee, ASSIGNEE_MAX, required=False),
        "callback_number": _callback_problem(draft.callback_number, region),
        "call_id": None
        if draft.call_id is None
        else _text_problem(draft.call_id, CALL_ID_MAX, required=True),
        "idempotency_key": None
        if isinstance(draft.idempotency_key, str) and _KEY.fullmatch(draft.idempotency_key)
        else "not a valid submission key · 提交标识无效",
        "repeat_window_days": None
        if isinstance(draft.repeat_window_days, int) and 0 < draft.repeat_window_days <= 3650
        else "repeat window must be 1-3650 days · 重复投诉期限无效",
    }
    return {name: why for name, why in errors.items() if why is not None}


def _category_problem(code: str, categories: Sequence[Choice] | None) -> str | None:
    if categories is None:
        fits = isinstance(code, str) and 0 < len(code.strip()) <= CATEGORY_MAX
    else:
        fits = any(c.code == code for c in categories)
    return None if fits else "choose a category · 请选择类别"


def _callback_problem(number: str, region: str) -> str | None:
    # R19: a promise of a reply needs a number to reply to.
    if not isinstance(number, str) or not number.strip():
        return "required: a number to call back · 必填：回电号码"
    try:
        normalised = _normalise_number(number, region)
    except PhoneNumberError as exc:
        return f"not a valid phone number ({exc.reason}) · 号码无效"
    if len(normalised) > CALLBACK_MAX:
        return "too long · 号码过长"
    return None


def validate_changes(changes: Mapping[str, Any], now: dt.datetime | None) -> dict[str, str]:
    """The fields a handler may edit later (update_fields), checked like the form's."""
    problems: dict[str, str | None] = {}
    for name, value in changes.items():
        if name == "department":
            problems[name] = _text_problem(value, DEPARTMENT_MAX, required=False)
        elif name == "assignee":
            problems[name] = _text_problem(value, ASSIGNEE_MAX, required=False)
        elif name == "notes":
            problems[name] = _text_problem(value, NOTES_MAX, required=False)
        elif name == "promised_reply_at":
            problems[name] = _promise_problem(value, now)
        else:
            problems[name] = "cannot be changed here · 不可修改"
    return {name: why for name, why in problems.items() if why is not None}


# -- quick reply-time choices (R19: a specific reply time) --------------------------------------

REPLY_CHOICES: tuple[Choice, ...] = (
    Choice("2h", "2小时内", "within 2 h"),
    Choice("today", "今天下班前", "today"),
    Choice("24h", "24小时内", "within 24 h"),
    Choice("48h", "48小时内", "within 48 h"),
)
WORKDAY_END = dt.time(18, 0)
MIN_NOTICE = dt.timedelta(hours=2)


def reply_time_choice(choice: str, now: dt.datetime) -> dt.datetime:
    """The promised reply time a quick choice stands for, in `now`'s time zone.

    "today" is the end of the working day (18:00 in `now`'s zone), but never less than two
    hours away: a promise the department cannot keep is worse than a later one.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if choice == "2h":
        return now + MIN_NOTICE
    if choice == "24h":
        return now + dt.timedelta(hours=24)
    if choice == "48h":
        return now + dt.timedelta(hours=48)
    if choice == "today":
        end = dt.datetime.combine(now.date(), WORKDAY_END, tzinfo=now.tzinfo)
        return max(end, now + MIN_NOTICE)
    raise ValueError(f"unknown reply time choice {choice!r}: choose from 2h, today, 24h, 48h")


# -- repeat faults (R21) ------------------------------------------------------------------------


class NewComplaint(NamedTuple):
    customer_id: int
    purchase_id: int | None
    category: str
    at: dt.datetime


@dataclass(frozen=True)
class EarlierComplaint:
    id: int
    reference: str
    customer_id: int
    purchase_id: int | None
    category: str
    at: dt.datetime
    escalation_level: int


class RepeatFinding(NamedTuple):
    earlier_id: int
    escalation_level: int
    explanation: str


def repeat_of(
    new: NewComplaint,
    earlier: Iterable[EarlierComplaint],
    window_days: int = REPEAT_WINDOW_DAYS,
    categories: Sequence[Choice] = DEFAULT_CATEGORIES,
) -> RepeatFinding | None:
    """The earlier complaint a new one repeats, and the level the new one starts at.

    A repeat is the same customer, the same product and the same category, created within
    `window_days` before the new one (the edge day included). The newest match is linked; the
    new complaint starts one level above the highest level among the matches (capped at the
    top level), so a third report climbs above the second. Without a product there is no
    "same machine" to compare, so nothing is linked.
    """
    if new.purchase_id is None:
        return None
    since = new.at - dt.timedelta(days=window_days)
    matches = [
        e
        for e in earlier
        if e.customer_id == new.customer_id
        and e.purchase_id == new.purchase_id
        and e.category == new.category
        and since <= e.at <= new.at
    ]
    if not matches:
        return None
    newest = max(matches, key=lambda e: (e.at, e.id))
    level = min(max(e.escalation_level for e in matches) + 1, MAX_ESCALATION_LEVEL)
    days = (new.at - newest.at).days
    ago = "today · 今天" if days == 0 else f"{days} days ago · {days}天前"
    explanation = (
        f"Repeat fault · 重复故障: {newest.reference} ({ago}) was about the same product and "
        f"the same category ({category_label(new.category, categories)}). This complaint will "
        f"be linked to it and escalated to level {escalation_label(level)} · "
        f"同一产品同类问题{window_days}天内再次投诉，须升级处理。"
    )
    return RepeatFinding(newest.id, level, explanation)


# -- reference numbers and audit lines ----------------------------------------------------------


def reference(day: dt.date, number: int) -> str:
    """The human reference: TS-YYYYMMDD-NNNNNN, the digits from the database row id."""
    return f"{REFERENCE_PREFIX}-{day:%Y%m%d}-{number % 10**REFERENCE_DIGITS:0{REFERENCE_DIGITS}d}"


REFERENCE_PATTERN = re.compile(rf"^{REFERENCE_PREFIX}-\d{{8}}-\d{{{REFERENCE_DIGITS}}}$")


def describe_event(
    at: dt.datetime,
    actor: str,
    action: str,
    from_status: str | None,
    to_status: str | None,
    reason: str,
    payload: Mapping[str, Any],
) -> str:
    """One line of the audit trail as the operator reads it (conflicts, the case history)."""
    when = at.strftime("%Y-%m-%d %H:%M")
    if action == ACTION_ESCALATED:
        what = f"escalated to level {escalation_label(int(payload.get('level', 0)))}"
    elif action == ACTION_UPDATED:
        changes = payload.get("changes", {})
        what = "changed " + ", ".join(
            f"{name} {old or '—'} → {new or '—'}" for name, (old, new) in sorted(changes.items())
        )
    elif from_status and to_status and from_status != to_status:
        what = f"status {_label(from_status)} → {_label(to_status)}"
    elif to_status:
        what = f"{action} ({_label(to_status)})"
    else:
        what = action
    why = f" — {reason}" if reason else ""
    return f"{when} {actor}: {what}{why}"


def _label(status: str) -> str:
    try:
        return ComplaintStatus(status).label
    except ValueError:
        return status
