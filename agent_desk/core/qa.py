"""The QA scorecard: automatic pre-scores from a session's events, the team lead's
evaluation, its total, calibration between two team leads, and revisions.

The six automatic checks (a pack's `auto:` names) only pre-score: each gives pass, fail or
N/A with the moment in the call that shows it, and the team lead confirms or overrides.
They read what the desk recorded, so they judge what the desk can see:

* greeting_used — a greeting prompt marked used within 30 s of answering. A greeting
  prompt is one the caller names (`greeting_prompt_ids`: the pack's `greeting`-tagged and
  opening-stage prompts), or without that list one used at the opening stage or with
  "greeting" in its id. The notes are deliberately not searched for 您好: notes are what the
  agent wrote about the customer, not what was said, and a note that quotes a greeting
  proves nothing. With no greeting prompt, the check fails pointing at the answer, where
  the team lead can listen to the opening.
* no_forbidden_phrase — no coaching warning during the call (evidence: the first), and,
  when a checker is given, none in the final notes either (the pack may have changed).
* customer_type_chosen — a customer type was chosen (evidence: the last choice).
* promise_recorded — N/A unless a complaint was raised; then a submitted complaint with a
  promised reply time.
* wrap_up_code_set — a wrap-up code the agent chose; one defaulted when after-call work ran
  out fails, pointing at that moment.
* hold_under_limit — total hold time (hold → resumed; a hold never resumed lasts until the
  call ended) within the limit; evidence: the longest hold.

A call that was never answered has nothing to score: every check is N/A.

Totals: the weights of passed items over the weights of passed and failed ones (N/A items
count for neither); a failed critical item makes the total 0 whatever else passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal, cast

from agent_desk.core.script_model import QAItem, ScriptPack, Text
from agent_desk.core.timeline import TimelineEvent, format_offset

Result = Literal["pass", "fail", "na"]
RESULTS: tuple[Result, ...] = ("pass", "fail", "na")
EvaluationKind = Literal["evaluation", "calibration"]
KINDS: tuple[EvaluationKind, ...] = ("evaluation", "calibration")
RESULT_LABELS: dict[Result, str] = {
    "pass": "符合 · Pass",
    "fail": "不符合 · Fail",
    "na": "不适用 · N/A",
}

GREETING_WINDOW_MS = 30_000
HOLD_LIMIT_S = 120
RECORD_FORMAT = 1
MAX_COMMENT_CHARS = 2000

ForbiddenCheck = Callable[[str], Sequence[str]]  # notes -> the forbidden phrases found


class QAError(ValueError):
    """An evaluation that cannot be made or saved; the message says what to fix."""


@dataclass(frozen=True)
class AutoScore:
    item_id: str
    result: Result
    evidence_offset_ms: int | None  # session offset of the moment that shows it
    evidence_text: str


# -- automatic checks --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    events: tuple[TimelineEvent, ...]
    notes: str
    complaint_raised: bool
    forbidden: ForbiddenCheck | None
    hold_limit_ms: int
    greeting_ids: frozenset[str] | None

    @property
    def answered_ms(self) -> int | None:
        return next((e.offset_ms for e in self.events if e.kind == "answered"), None)

    def of(self, *kinds: str) -> list[TimelineEvent]:
        return [e for e in self.events if e.kind in kinds]


Check = tuple[Result, int | None, str]
_NOT_ANSWERED: Check = ("na", None, "未接通，不评 · the call was not answered")


def _greeting_used(call: _Call) -> Check:
    answered = call.answered_ms
    if answered is None:
        return _NOT_ANSWERED

    def is_greeting(e: TimelineEvent) -> bool:
        prompt_id = str(e.payload.get("prompt_id") or "")
        if call.greeting_ids is not None:
            return prompt_id in call.greeting_ids
        return e.payload.get("stage") == "opening" or "greeting" in prompt_id

    used = [e for e in call.of("prompt_used") if is_greeting(e)]
    if not used:
        return (
            "fail",
            answered,
            "接听后未使用开场白话术，请听开场 · no greeting prompt used: listen to the opening",
        )
    first = used[0]
    after = format_offset(max(first.offset_ms - answered, 0))
    if first.offset_ms <= answered + GREETING_WINDOW_MS:
        return "pass", first.offset_ms, f"接听后 {after} 使用开场白 · greeting used {after} in"
    limit = format_offset(GREETING_WINDOW_MS)
    return (
        "fail",
        first.offset_ms,
        f"开场白晚于 {limit}（{after}）· greeting only {after} after answering, limit {limit}",
    )


def _no_forbidden_phrase(call: _Call) -> Check:
    if call.answered_ms is None:
        return _NOT_ANSWERED
    warnings = call.of("coaching_warning")
    if warnings:
        first = warnings[0]
        matched = first.payload.get("matched") or first.payload.get("phrase") or ""
        more = f"（共 {len(warnings)} 次 · {len(warnings)} in all）" if len(warnings) > 1 else ""
        return "fail", first.offset_ms, f"禁忌语 · forbidden phrase “{matched}”{more}"
    if call.forbidden is not None and call.notes:
        found = list(dict.fromkeys(call.forbidden(call.notes)))
        if found:
            saved = call.of("note_saved")
            at = saved[-1].offset_ms if saved else None
            listed = "、".join(f"“{p}”" for p in found)
            return "fail", at, f"备注含禁忌语 · the notes contain {listed}"
    return "pass", None, "无禁忌语提醒 · no coaching warning"


def _customer_type_chosen(call: _Call) -> Check:
    if call.answered_ms is None:
        return _NOT_ANSWERED
    chosen = [e for e in call.of("customer_type") if e.payload.get("customer_type")]
    if not chosen:
        return "fail", None, "未选择客户类型 · no customer type chosen"
    last = chosen[-1]
    return "pass", last.offset_ms, f"客户类型 · customer type: {last.detail or last.payload}"


def _promise_recorded(call: _Call) -> Check:
    complaints = call.of("complaint_submitted", "complaint_saved")
    if not call.complaint_raised and not complaints:
        return "na", None, "本次通话无投诉 · no complaint in this call"
    promised = [e for e in complaints if e.payload.get("promised_reply_at")]
    if promised:
        e = promised[0]
        return (
            "pass",
            e.offset_ms,
            f"{e.payload.get('reference', '')} 承诺回复 · reply promised by "
            f"{e.payload['promised_reply_at']}",
        )
    if complaints:
        e = complaints[0]
        return (
            "fail",
            e.offset_ms,
            f"{e.payload.get('reference', '')} 未记录回复时间 · "
            "saved without a promised reply time",
        )
    return "fail", None, "有投诉但通话中未提交 · a complaint was raised but none was submitted"


def _wrap_up_code_set(call: _Call) -> Check:
    done = call.of("wrap_up")
    if not done:
        if call.answered_ms is None:
            return _NOT_ANSWERED
        return "fail", None, "无话后小结 · no wrap-up recorded"
    last = done[-1]
    code = last.payload.get("code") or ""
    if last.payload.get("defaulted"):
        return (
            "fail",
            last.offset_ms,
            f"超时默认小结 · code {code} set by default after time ran out",
        )
    if not code:
        return "fail", last.offset_ms, "小结代码为空 · the wrap-up has no code"
    return "pass", last.offset_ms, f"小结代码 · wrap-up code {code}"


def _hold_under_limit(call: _Call) -> Check:
    if call.answered_ms is None:
        return _NOT_ANSWERED
    holds = hold_periods(call.events)
    if not holds:
        return "pass", None, "无保留 · no hold"
    total = sum(length for _, length in holds)
    start, longest = max(holds, key=lambda h: h[1])
    text = (
        f"保留共 {format_offset(total)}，最长 {format_offset(longest)} · held "
        f"{format_offset(total)} in all, longest {format_offset(longest)}"
        f" (limit {format_offset(call.hold_limit_ms)})"
    )
    return ("pass" if total <= call.hold_limit_ms else "fail"), start, text


_CHECKS: dict[str, Callable[[_Call], Check]] = {
    "greeting_used": _greeting_used,
    "no_forbidden_phrase": _no_forbidden_phrase,
    "customer_type_chosen": _customer_type_chosen,
    "promise_recorded": _promise_recorded,
    "wrap_up_code_set": _wrap_up_code_set,
    "hold_under_limit": _hold_under_limit,
}


def hold_periods(events: Iterable[TimelineEvent]) -> list[tuple[int, int]]:
    """(start offset, length ms) of every hold; one never resumed ends with the call."""
    periods: list[tuple[int, int]] = []
    since: int | None = None
    last = 0
    for e in sorted(events, key=lambda e: e.offset_ms):
        last = max(last, e.offset_ms)
        if e.kind == "hold" and since is None:
            since = e.offset_ms
        elif e.kind in ("resumed", "unhold", "ended") and since is not None:
            periods.append((since, e.offset_ms - since))
            since = None
    if since is not None:
        periods.append((since, last - since))
    return periods


def auto_score(
    items: Sequence[QAItem],
    events: Sequence[TimelineEvent],
    notes: str,
    complaint_raised: bool,
    forbidden_phrase_check: ForbiddenCheck | None = None,
    hold_limit_s: int = HOLD_LIMIT_S,
    *,
    greeting_prompt_ids: Iterable[str] | None = None,
) -> list[AutoScore]:
    """Pre-scores for the checklist's automatic items, in checklist order (manual items are
    left out). Events are a session's timeline events (offsets since the first ring)."""
    call = _Call(
        tuple(sorted(events, key=lambda e: e.offset_ms)),
        notes,
        complaint_raised,
        forbidden_phrase_check,
        hold_limit_s * 1000,
        frozenset(greeting_prompt_ids) if greeting_prompt_ids is not None else None,
    )
    scores = []
    for item in items:
        if not item.auto:
            continue
        check = _CHECKS.get(item.auto)
        if check is None:
            scores.append(
                AutoScore(
                    item.id, "na", None, f"未知的自动检查 · unknown automatic check {item.auto}"
                )
            )
            continue
        result, at, text = check(call)
        scores.append(AutoScore(item.id, result, at, text))
    return scores


def greeting_prompt_ids(pack: ScriptPack) -> frozenset[str]:
    """The prompts that count as the greeting: tagged `greeting`, or in the opening stage."""
    opening = pack.stage("opening")
    ids = {p.id for p in pack.prompts if "greeting" in p.tags}
    if opening is not None:
        ids.update(p.id for p in opening.prompts)
    return frozenset(ids)


# -- the evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemScore:
    item_id: str
    auto: Result | None = None  # the desk's pre-score; None for a manual item
    override: Result | None = None  # the team lead's choice; None keeps the pre-score
    comment: str = ""
    evidence_offset_ms: int | None = None
    evidence_text: str = ""

    @property
    def result(self) -> Result | None:
        return self.override if self.override is not None else self.auto

    @property
    def overridden(self) -> bool:
        """The team lead disagreed with the desk's pre-score."""
        return self.auto is not None and self.override is not None and self.override != self.auto


@dataclass(frozen=True)
class Comment:
    """A remark at a moment of the call (session offset), shown on the timeline."""

    offset_ms: int
    text: str
    author: str


@dataclass(frozen=True)
class Difference:
    item_id: str
    a_result: Result | None
    b_result: Result | None
    title: str = ""


@dataclass(frozen=True)
class Evaluation:
    """One team lead's scorecard for one session. Immutable: edits return a new one."""

    items: tuple[QAItem, ...]
    scores: tuple[ItemScore, ...]  # one per item, same order
    comments: tuple[Comment, ...] = ()
    kind: EvaluationKind = "evaluation"
    pack: str = ""  # "pack_id@version" the checklist came from

    def __post_init__(self) -> None:
        ids = [i.id for i in self.items]
        if len(set(ids)) != len(ids):
            raise QAError("the checklist repeats an item id")
        if [s.item_id for s in self.scores] != ids:
            raise QAError("scores must be one per checklist item, in checklist order")
        if self.kind not in KINDS:
            raise QAError(f"unknown evaluation kind {self.kind!r}: use {' or '.join(KINDS)}")

    @classmethod
    def start(
        cls,
        items: Sequence[QAItem],
        auto_scores: Iterable[AutoScore] = (),
        *,
        kind: EvaluationKind = "evaluation",
        pack: str = "",
    ) -> Evaluation:
        """A fresh scorecard: automatic items pre-scored, manual ones waiting."""
        autos = {a.item_id: a for a in auto_scores}
        scores = []
        for item in items:
            a = autos.get(item.id)
            scores.append(
                ItemScore(item.id, a.result, None, "", a.evidence_offset_ms, a.evidence_text)
                if a
                else ItemScore(item.id)
            )
        return cls(tuple(items), tuple(scores), (), kind, pack)

    # -- reading

    def item(self, item_id: str) -> QAItem:
        return self.items[self._position(item_id)]

    def score(self, item_id: str) -> ItemScore:
        return self.scores[self._position(item_id)]

    @property
    def unscored(self) -> tuple[str, ...]:
        return tuple(s.item_id for s in self.scores if s.result is None)

    @property
    def complete(self) -> bool:
        return not self.unscored

    @property
    def failed_critical(self) -> tuple[str, ...]:
        """Critical items that failed: any one fails the whole evaluation."""
        return tuple(
            s.item_id for i, s in zip(self.items, self.scores, strict=True)
            if i.critical and s.result == "fail"
        )  # fmt: skip

    @property
    def raw_percent(self) -> float | None:
        """The weighted score before critical failures: None when nothing counts (all N/A)."""
        earned = possible = 0.0
        for item, score in zip(self.items, self.scores, strict=True):
            if score.result in ("pass", "fail"):
                possible += item.weight
                if score.result == "pass":
                    earned += item.weight
        return round(100 * earned / possible, 1) if possible else None

    @property
    def total_percent(self) -> float | None:
        if self.failed_critical:
            return 0.0
        return self.raw_percent

    # -- editing

    def with_result(
        self, item_id: str, result: Result | None, comment: str | None = None
    ) -> Evaluation:
        """Confirm, override (or, with None, go back to the pre-score) one item."""
        if result is not None and result not in RESULTS:
            raise QAError(f"unknown result {result!r}: use pass, fail or na")
        n = self._position(item_id)
        current = self.scores[n]
        updated = replace(
            current,
            override=result,
            comment=current.comment if comment is None else _clean_comment(comment),
        )
        return replace(self, scores=(*self.scores[:n], updated, *self.scores[n + 1 :]))

    def with_comment(self, comment: Comment) -> Evaluation:
        if comment.offset_ms < 0:
            raise QAError("a comment's time cannot be before the call started")
        cleaned = Comment(comment.offset_ms, _clean_comment(comment.text), comment.author)
        if not cleaned.text:
            raise QAError("a comment must say something")
        ordered = sorted((*self.comments, cleaned), key=lambda c: c.offset_ms)
        return replace(self, comments=tuple(ordered))

    def without_comment(self, index: int) -> Evaluation:
        comments = list(self.comments)
        del comments[index]
        return replace(self, comments=tuple(comments))

    def ready_to_save(self) -> None:
        """Raise QAError unless every item has a result."""
        if self.unscored:
            titles = "、".join(self.item(i).title.zh for i in self.unscored)
            raise QAError(
                f"{len(self.unscored)} 项未评分 · {len(self.unscored)} items not scored: {titles}"
            )

    # -- the stored form (QAEvaluation.item_scores and .comments)

    def to_record(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """JSON-ready (item_scores, comments). The checklist is copied in, so a saved
        evaluation still reads right after the pack's weights or items change."""
        items = [
            {
                "id": item.id,
                "title": {"zh": item.title.zh, "en": item.title.en},
                "weight": item.weight,
                "critical": item.critical,
                "auto_check": item.auto,
                "rules": list(item.rules),
                "auto": score.auto,
                "override": score.override,
                "result": score.result,
                "comment": score.comment,
                "evidence_offset_ms": score.evidence_offset_ms,
                "evidence_text": score.evidence_text,
            }
            for item, score in zip(self.items, self.scores, strict=True)
        ]
        record = {
            "format": RECORD_FORMAT,
            "pack": self.pack,
            "kind": self.kind,
            "items": items,
            "failed_critical": list(self.failed_critical),
            "raw_percent": self.raw_percent,
        }
        comments = [
            {"offset_ms": c.offset_ms, "text": c.text, "author": c.author} for c in self.comments
        ]
        return record, comments

    @classmethod
    def from_record(
        cls, item_scores: Mapping[str, Any], comments: Iterable[Mapping[str, Any]] = ()
    ) -> Evaluation:
        items, scores = [], []
        for row in item_scores.get("items", ()):
            title = row.get("title") or {}
            items.append(
                QAItem(
                    id=str(row["id"]),
                    title=Text(str(title.get("zh") or row["id"]), title.get("en")),
                    weight=float(row.get("weight", 0)),
                    critical=bool(row.get("critical", False)),
                    auto=row.get("auto_check"),
                    rules=tuple(row.get("rules") or ()),
                )
            )
            scores.append(
                ItemScore(
                    str(row["id"]),
                    _result(row.get("auto")),
                    _result(row.get("override")),
                    str(row.get("comment") or ""),
                    row.get("evidence_offset_ms"),
                    str(row.get("evidence_text") or ""),
                )
            )
        kind = item_scores.get("kind", "evaluation")
        return cls(
            tuple(items),
            tuple(scores),
            tuple(
                Comment(int(c["offset_ms"]), str(c["text"]), str(c.get("author", "")))
                for c in comments
            ),
            cast(EvaluationKind, kind if kind in KINDS else "evaluation"),
            str(item_scores.get("pack") or ""),
        )

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {s.item_id: n for n, s in enumerate(self.scores)}

    def _position(self, item_id: str) -> int:
        try:
            return self._positions[item_id]
        except KeyError:
            raise QAError(f"{item_id!r} is not an item of this scorecard") from None


def compare_evaluations(a: Evaluation, b: Evaluation) -> list[Difference]:
    """Where two team leads' scorecards of the same session disagree (calibration): every
    item whose result differs, in a's checklist order, then items only b has."""
    differences = []
    b_ids = {s.item_id for s in b.scores}
    for item, score in zip(a.items, a.scores, strict=True):
        other = b.score(item.id).result if item.id in b_ids else None
        if score.result != other:
            differences.append(Difference(item.id, score.result, other, item.title.zh))
    a_ids = {s.item_id for s in a.scores}
    for item, score in zip(b.items, b.scores, strict=True):
        if item.id not in a_ids and score.result is not None:
            differences.append(Difference(item.id, None, score.result, item.title.zh))
    return differences


def next_revision(existing_revisions: Iterable[int]) -> int:
    """An edit is saved as the next revision; the earlier ones stay as they were."""
    return max(existing_revisions, default=0) + 1


def _result(value: Any) -> Result | None:
    return cast(Result, value) if value in RESULTS else None


def _clean_comment(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise QAError(f"a comment is limited to {MAX_COMMENT_CHARS} characters")
    return text
