"""The live coach finds forbidden phrases and their close variants, and nothing else."""

from __future__ import annotations

import functools
import random

import opencc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_desk.bench import coaching as bench
from agent_desk.core.coaching import (
    DEFAULT_ALLOWED_WORDS,
    Coach,
    CoachingWarning,
    CoachPhrase,
    normalise,
    utf16_offset,
)

# Rule R13 of the etiquette digest, as a pack writes them (punctuation and all).
R13 = {
    "three-year-old": "这种问题连三岁小孩都知道",
    "impossible": "不可能，绝不可能有这种事发生",
    "cannot": "我不会",
    "no-way": "没办法",
    "no": "不行",
    "our-rules": "这是我们的规定",
    "some-way": "总会有办法的",
    "another-day": "改天我再和你联系",
    "not-sure": "嗯…这个问题我不大清楚",
    "ask-maker": "这种问题去问生产厂家，我们只负责卖",
    "never-said": "我绝对没有说过那种话",
    "you-know": "你知道吗？",
    "you-know-right": "你知道吧",
    "their-fault": "他们经常错",
    "cannot-find": "我查不到",
    "not-mine": "我不是这里负责的",
    "troublesome": "很麻烦的",
    "boss": "那是我们领导的事",
    "too-busy": "今天电话特别多，一下忙不过来",
    "so-what": "这有什么关系呢",
}
SEPARATORS = [" ", "  ", "\n", "\r\n", "\u3000", "\t", "\u200b", "，", ",", "、", "。", "？", "?"]
SEPARATORS += ["！", "…", "...", "——", "-", "“", "”", "(", "）", "《", "》", "~", "·", "/"]
# Characters that appear in no R13 phrase and no allowed word, in any spelling.
CLEAN_CHINESE = "客户反映商品无开机已核实购买日期订单号情绪较激要求退货先致歉并明处理流程售后维修"
CLEAN_TEXT = CLEAN_CHINESE + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def phrase(pid: str, text: str, *variants: str, severity: str = "warning") -> CoachPhrase:
    return CoachPhrase(pid, text, tuple(variants), f"{pid} 更好", f"{pid} better", severity)


@functools.cache
def r13_coach() -> Coach:
    return Coach(phrase(pid, text) for pid, text in R13.items())


@functools.cache
def to_traditional() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def found(coach: Coach, text: str) -> list[tuple[str, str]]:
    warnings = coach.check(text)
    for w in warnings:
        assert text[w.start : w.end] == w.matched
    return [(w.phrase_id, w.matched) for w in warnings]


def test_alphabets_are_clean() -> None:
    """The property tests rely on these characters forming no phrase, in any spelling."""
    phrase_chars = set(normalise("".join(R13.values()) + "".join(DEFAULT_ALLOWED_WORDS)))
    assert not set(normalise(CLEAN_TEXT)) & phrase_chars
    assert not set(normalise(to_traditional().convert(CLEAN_CHINESE))) & phrase_chars
    assert all(normalise(s) == "" for s in SEPARATORS)


@pytest.mark.parametrize(
    ("text", "pid", "matched"),
    [
        # as written
        ("这是我们的规定", "our-rules", "这是我们的规定"),
        # spaces and line breaks anywhere
        ("这是 我们的 规定", "our-rules", "这是 我们的 规定"),
        ("这是我们\n的规定", "our-rules", "这是我们\n的规定"),
        ("这是\u3000我们的规\r\n定", "our-rules", "这是\u3000我们的规\r\n定"),
        ("我 查 不 到", "cannot-find", "我 查 不 到"),
        # zero-width and format characters pasted from chat tools
        ("这是\u200b我们的\ufeff规定", "our-rules", "这是\u200b我们的\ufeff规定"),
        # punctuation differing, missing or inserted
        ("你知道吗?", "you-know", "你知道吗"),
        ("你知道吗", "you-know", "你知道吗"),
        ("你知道吗？？", "you-know", "你知道吗"),
        ("不可能绝不可能有这种事发生", "impossible", "不可能绝不可能有这种事发生"),
        ("不可能!!绝不可能有这种事发生", "impossible", "不可能!!绝不可能有这种事发生"),
        ("嗯...这个问题我不大清楚", "not-sure", "嗯...这个问题我不大清楚"),
        ("嗯，这个问题，我不大清楚", "not-sure", "嗯，这个问题，我不大清楚"),
        ("这是，我们的——规定", "our-rules", "这是，我们的——规定"),
        # full-width and half-width forms
        ("今天电话特别多,一下忙不过来", "too-busy", "今天电话特别多,一下忙不过来"),
        ("今天电话特别多，一下忙不过来", "too-busy", "今天电话特别多，一下忙不过来"),
        # traditional characters
        ("這是我們的規定", "our-rules", "這是我們的規定"),
        ("這種問題連三歲小孩都知道", "three-year-old", "這種問題連三歲小孩都知道"),
        ("今天電話特別多，一下忙不過來", "too-busy", "今天電話特別多，一下忙不過來"),
        ("我不是這裡負責的", "not-mine", "我不是這裡負責的"),  # Taiwan's 裡
        ("我不是這裏負責的", "not-mine", "我不是這裏負責的"),
        ("這有什麼關係呢", "so-what", "這有什麼關係呢"),  # 麼 depends on the word
        # mixed: traditional, spacing, punctuation and simplified in one phrase
        ("這是 我们的，規定！", "our-rules", "這是 我们的，規定"),
        ("改天 我再和你聯繫。", "another-day", "改天 我再和你聯繫"),
    ],
)
def test_variants_are_found(text: str, pid: str, matched: str) -> None:
    assert found(r13_coach(), text) == [(pid, matched)]


def test_indices_point_into_the_original_text() -> None:
    text = "客户说：“這是 我們的规定！”然后挂了。Note: 你知道吗?\n你知道吧"
    warnings = r13_coach().check(text)
    assert [(w.phrase_id, w.start, w.end) for w in warnings] == [
        ("our-rules", 5, 13),
        ("you-know", 26, 30),
        ("you-know-right", 32, 36),
    ]
    assert [text[w.start : w.end] for w in warnings] == [w.matched for w in warnings]


def test_warning_carries_the_better_wording() -> None:
    coach = Coach([phrase("our-rules", "这是我们的规定", severity="critical")])
    assert coach.check("嗯，这是我们的规定。") == [
        CoachingWarning(
            phrase_id="our-rules",
            start=2,
            end=9,
            matched="这是我们的规定",
            better_zh="our-rules 更好",
            better_en="our-rules better",
            severity="critical",
        )
    ]


def test_every_occurrence_in_reading_order() -> None:
    text = "不行。这是我们的规定，不行就是不行"
    assert found(r13_coach(), text) == [
        ("no", "不行"),
        ("our-rules", "这是我们的规定"),
        ("no", "不行"),
        ("no", "不行"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "我们先不行动，等主管确认。",  # 不行动: take no action
        "客户不行使退货权利",
        "车辆不行驶时请关闭电源",
        "这样处理行不行？",  # asks whether it works
        "我看看有没有办法帮您加急",
        "您放心，不会很麻烦的",
        "我不会让您白跑一趟",
        "我们不行動",  # the allowed word in traditional characters
        "不，行，我马上处理",  # a two-character phrase broken by punctuation: two utterances
        "不 行",
        "我们的规定动作是先核实",  # 规定 alone is no phrase
        "",
        "   \n\t",
    ],
)
def test_clean_text_is_not_flagged(text: str) -> None:
    assert found(r13_coach(), text) == []


def test_an_allowed_word_broken_by_punctuation_does_not_excuse() -> None:
    """In 不行，动手吧 the operator said 不行, then something else: 不行动 was not written."""
    assert found(r13_coach(), "不行，动手吧") == [("no", "不行")]
    assert found(r13_coach(), "行，不行") == [("no", "不行")]


def test_an_allowed_word_cut_into_by_a_match_does_not_excuse() -> None:
    """不行不行 is two refusals; the 行不行 across them is no question."""
    assert found(r13_coach(), "不行不行不行") == [("no", "不行")] * 3
    assert found(r13_coach(), "行不行？不行。") == [("no", "不行")]
    assert found(r13_coach(), "行不行不行") == [("no", "不行")]  # 行不行 + 不行


def test_allowed_words_can_be_chosen() -> None:
    coach = Coach([phrase("no", "不行")], allowed_words=["可不行"])
    assert found(coach, "这可不行") == []
    assert found(coach, "不行动") == [("no", "不行")]


def test_latin_phrases_keep_their_word_boundaries() -> None:
    coach = Coach([phrase("ok", "OK"), phrase("no-way", "no way"), phrase("app", "APP打不开")])
    assert found(coach, "book ok OK。Ｏｋ") == [("ok", "ok"), ("ok", "OK"), ("ok", "Ｏｋ")]
    assert found(coach, "No  Way! no-way") == [("no-way", "No  Way"), ("no-way", "no-way")]
    assert found(coach, "piano wayside, now ay, noway") == []
    assert found(coach, "你的app打 不开吗") == [("app", "app打 不开")]
    assert found(coach, "webapp打不开") == []


def test_a_variant_inside_its_phrase_is_reported_once() -> None:
    coach = Coach([phrase("kid", "这种问题连三岁小孩都知道", "连三岁小孩都知道")])
    assert found(coach, "这种问题连三岁小孩都知道！") == [("kid", "这种问题连三岁小孩都知道")]
    assert found(coach, "这个连三岁小孩都知道") == [("kid", "连三岁小孩都知道")]


def test_the_longest_phrase_wins_where_matches_nest() -> None:
    coach = Coach([phrase("short", "查不到"), phrase("long", "我查不到"), phrase("ha", "哈哈哈")])
    assert found(coach, "我查不到，他也查不到") == [("long", "我查不到"), ("short", "查不到")]
    assert found(coach, "哈哈哈哈") == [("ha", "哈哈哈")]


def test_distinct_phrases_on_the_same_words_are_all_reported() -> None:
    coach = Coach([phrase("a", "这是我们的规定"), phrase("b", "這是我們的規定")])
    assert found(coach, "这是我们的规定") == [("a", "这是我们的规定"), ("b", "这是我们的规定")]


def test_a_word_whose_traditional_form_depends_on_context() -> None:
    """瞭 folds to itself on its own; the phrase's own traditional spelling catches 瞭解."""
    coach = Coach([phrase("unclear", "我不了解")])
    assert found(coach, "我不瞭解") == [("unclear", "我不瞭解")]
    assert found(coach, "我不了解") == [("unclear", "我不了解")]


def test_a_phrase_of_punctuation_only_is_skipped() -> None:
    coach = Coach([phrase("dots", "？？…"), phrase("no", "不行")])
    assert coach.skipped == ("dots",)
    assert found(coach, "？？… 不行") == [("no", "不行")]
    assert Coach([]).check("不行") == []
    assert len(coach) == 2


def test_normalise() -> None:
    assert normalise("這是 我們的，規定！") == "这是我们的规定"
    assert normalise("ＡＢＣ ｄｅｆ Ｇ１２") == "abcdefg12"
    assert normalise("Café ß") == "cafess"


def test_a_lone_surrogate_is_no_crash_and_no_bridge() -> None:
    """A broken paste can leave half a surrogate pair in the editor's text."""
    assert found(r13_coach(), "不行\ud800这是我们的\udc00规定") == [("no", "不行")]


def test_utf16_offset_counts_surrogate_pairs() -> None:
    text = "😀这是我们的规定"
    (warning,) = r13_coach().check(text)
    assert (warning.start, warning.end) == (1, 8)
    assert (utf16_offset(text, warning.start), utf16_offset(text, warning.end)) == (2, 9)


def test_bench_inputs_are_what_the_figure_says() -> None:
    """`agent-desk bench coaching` times 5,000 phrases against a 2,000-character note."""
    rng = random.Random(7)
    phrases = bench.coach_phrases(rng, 5_000)
    note = bench.operator_note(rng, 2_000)
    assert len(phrases) == 5_000 and len({p.phrase for p in phrases}) == 5_000
    assert {p.phrase for p in phrases} >= set(bench.R13_PHRASES)
    generated = [p.phrase for p in phrases[len(bench.R13_PHRASES) :]]
    assert all(3 <= len(text) <= 12 for text in generated)
    assert len(note) == 2_000
    coach = Coach(phrases[: len(bench.R13_PHRASES)])
    assert coach.check(note)  # the note holds forbidden phrases, so mapping back is timed


# --- properties --------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def planted_variant(draw: st.DrawFn) -> tuple[str, str]:
    """An R13 phrase as someone might type it: some characters traditional, separators
    between characters of phrases long enough to take them."""
    pid = draw(st.sampled_from(sorted(R13)))
    chars = [c for c in R13[pid] if normalise(c)]
    traditional = to_traditional().convert("".join(chars))
    assert len(traditional) == len(chars)
    chosen = [draw(st.sampled_from([s, t])) for s, t in zip(chars, traditional, strict=True)]
    if len(chars) > 2:
        gaps = [draw(st.lists(st.sampled_from(SEPARATORS), max_size=2)) for _ in chars[1:]]
        text = chosen[0] + "".join("".join(g) + c for g, c in zip(gaps, chosen[1:], strict=True))
    else:
        text = "".join(chosen)
    return pid, text


def texts_of(pieces: list[str], max_pieces: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pieces), max_size=max_pieces).map("".join)


clean_text = texts_of(list(CLEAN_TEXT) + SEPARATORS, 120)


@PROPERTY_SETTINGS
@given(planted=planted_variant(), before=clean_text, after=clean_text)
def test_a_planted_phrase_is_always_found_where_it_is(
    planted: tuple[str, str], before: str, after: str
) -> None:
    pid, variant = planted
    text = before + variant + after
    warnings = r13_coach().check(text)
    spans = [(w.phrase_id, w.start, w.end) for w in warnings]
    assert spans == [(pid, len(before), len(before) + len(variant))]
    assert warnings[0].matched == variant


def _alphabet_without_phrases() -> list[str]:
    """Every character of the phrases but one per phrase, so none can be completed, plus
    clean text and separators."""
    removed: set[str] = set()
    for text in R13.values():
        key = normalise(text)
        if not removed & set(key):
            removed.add(key[-1])
    chars = {c for text in R13.values() for c in text if normalise(c) not in removed}
    return sorted(chars) + list(CLEAN_TEXT) + SEPARATORS


@PROPERTY_SETTINGS
@given(text=texts_of(_alphabet_without_phrases(), 300))
def test_text_that_cannot_form_a_phrase_is_never_flagged(text: str) -> None:
    assert r13_coach().check(text) == []


@PROPERTY_SETTINGS
@given(text=texts_of(sorted(set("".join(R13.values()))) + SEPARATORS, 300))
def test_every_warning_is_an_exact_span_of_a_phrase(text: str) -> None:
    keys = {pid: normalise(to_traditional().convert(t)) for pid, t in R13.items()}
    for w in r13_coach().check(text):
        assert text[w.start : w.end] == w.matched
        assert normalise(w.matched[0]) and normalise(w.matched[-1])  # no separator at the ends
        assert normalise(w.matched) in (normalise(R13[w.phrase_id]), keys[w.phrase_id])


_PHRASE_CHARS = frozenset(normalise("".join(R13.values()) + "".join(DEFAULT_ALLOWED_WORDS)))
# Any character at all (astral, combining marks, ones that fold to several: ﬁ, ㈱, ß), except
# those folding to a character of a phrase or an allowed word (⾏, the Kangxi radical, is 行).
any_text = st.text(
    st.characters().filter(lambda c: not set(normalise(c)) & _PHRASE_CHARS), max_size=60
)


@PROPERTY_SETTINGS
@given(planted=planted_variant(), before=any_text, after=any_text)
def test_any_unicode_around_a_phrase_maps_back_exactly(
    planted: tuple[str, str], before: str, after: str
) -> None:
    pid, variant = planted
    text = before + variant + after
    warnings = r13_coach().check(text)
    assert [(w.phrase_id, w.start, w.end) for w in warnings] == [
        (pid, len(before), len(before) + len(variant))
    ]
