"""`agent-desk bench coaching`: live coaching cost per keystroke, and building a coach.

A coach of 5,000 phrases (the digest's R13 phrases plus generated ones of 3-12 characters in
the same register) checks an operator's note as it is typed, the whole text each time, as
the desk does. The note is Chinese with English, numbers, phone and order numbers, full-width
and half-width punctuation, and two forbidden phrases (one in traditional characters), so
keystrokes after them also pay for mapping the warnings back to the original text.
`--repeat N` sets the keystrokes of the figures on the full note (default 2,000).
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Iterator
from typing import Any

from agent_desk.bench import BenchOptions, figure
from agent_desk.core.coaching import Coach, CoachPhrase, clear_fold_cache

PHRASES = 5_000
NOTE_CHARS = 2_000
KEYSTROKES = 2_000
BUILDS = 5
SEED = 20_240_605

# Rule R13 of the etiquette digest (接待客户的用语禁忌). "一定是××错了" is a template there;
# its concrete half stands in for it.
R13_PHRASES: tuple[str, ...] = (
    "这种问题连三岁小孩都知道",
    "不可能，绝不可能有这种事发生",
    "我不会",
    "没办法",
    "不行",
    "这是我们的规定",
    "总会有办法的",
    "改天我再和你联系",
    "嗯…这个问题我不大清楚",
    "这种问题去问生产厂家，我们只负责卖",
    "我绝对没有说过那种话",
    "你知道吗？",
    "你知道吧",
    "他们经常错",
    "我查不到",
    "我不是这里负责的",
    "很麻烦的",
    "那是我们领导的事",
    "今天电话特别多，一下忙不过来",
    "这有什么关系呢",
)

_SUBJECTS = ("我", "我们", "你", "你们", "这个", "那个", "这边", "公司", "系统", "领导", "师傅")
_ADVERBS = ("不", "没", "从来不", "根本不", "绝对不", "肯定不", "早就", "已经", "又", "只能")
_VERBS = (
    "管",
    "知道",
    "负责",
    "处理",
    "给你退",
    "帮你查",
    "记得",
    "清楚",
    "能改",
    "能办",
    "同意",
    "接受",
    "赔偿",
    "上门",
    "回电话",
    "说了算",
    "想办法",
    "懂这个",
)
_TAILS = ("", "了", "的", "啊", "吧", "呢", "嘛", "的事", "这种事", "你的问题", "这么多")

_NAMES = ("王先生", "李女士", "张阿姨", "刘经理", "陈先生", "Ms. Chen", "Mr. Smith")
_PRODUCTS = ("WiFi 路由器", "空气净化器", "App 会员", "SIM 卡", "扫地机器人", "电热水器")
_SENTENCES = (
    "{time} 客户{name}来电，反映{product}无法开机，已核实购买日期 {date}，订单号 {order}。",
    "客户情绪较激动，要求退货；已先致歉并说明处理流程，客户表示理解。",
    "Customer says the {product} resets every 30 min (firmware v{version}); asked for a callback.",
    "已承诺 {hours} 小时内回电，联系电话 {phone}，备用号码 {phone2}。",
    "客户原话：“上次的客服说‘这是我们的规定’，我很不满意！”已记录并上报组长。",
    "客户转述上次的答复：“這種問題去問生產廠家，我們只負責賣。”已解释售后政策。",
    "核对地址：{name}，XX 区 YY 路 {number} 号；上门时间约在 {date} 下午 2:00–4:00。",
    "备注：客户为 VIP（积分 {points}），优先处理；工单 #{order} 已转技术支持组。",
    "已发送短信确认，客户回复“OK，谢谢”。满意度预计 4/5。",
    "客户反映：保修期内第 {number} 次维修，要求更换新机；按政策需主管审批。",
)
_CONTINUATION = "客户再次来电询问进度，已告知预计明天上午完成处理，客户同意等待。"


def run(options: BenchOptions) -> Iterator[dict[str, Any]]:
    yield from _coach_figures(options)
    from agent_desk.bench import packs

    yield from packs.run(options)


def _coach_figures(options: BenchOptions) -> Iterator[dict[str, Any]]:
    rng = random.Random(SEED)
    phrases = coach_phrases(rng, PHRASES)
    note = operator_note(rng, NOTE_CHARS)

    build_ms: list[float] = []
    coach: Coach | None = None
    for _ in range(BUILDS):
        started = time.perf_counter()
        coach = Coach(phrases)
        build_ms.append((time.perf_counter() - started) * 1000)
    assert coach is not None
    yield figure(
        "coaching",
        f"build a coach of {PHRASES:,} phrases",
        build_ms[1:],
        first_build_ms=round(build_ms[0], 1),  # includes the shared fold tables
    )

    warnings_at_end = len(coach.check(note))
    yield figure(
        "coaching",
        f"type a {NOTE_CHARS:,}-character note from empty, checking the whole text per keystroke",
        _typing(coach, [note[:k] for k in range(1, len(note) + 1)]),
        warnings_at_end=warnings_at_end,
    )
    keystrokes = options.repeat or KEYSTROKES
    # The text never shrinks below the full note: each keystroke adds one more character of
    # a continuation, starting over after it, as an operator adding a line at the end.
    texts = [note + _CONTINUATION[: k % len(_CONTINUATION) + 1] for k in range(keystrokes)]
    yield figure(
        "coaching",
        f"check {NOTE_CHARS:,}-character note against {PHRASES:,} phrases per keystroke",
        _typing(coach, texts),
        goal_p95_ms=1.0,
        warnings=warnings_at_end,
    )
    # A paste, or typing at the top of the note, shifts every block the fold has cached;
    # emptying the cache before each check times the whole fold every keystroke.
    yield figure(
        "coaching",
        f"check {NOTE_CHARS:,}-character note per keystroke, fold cache emptied each time",
        _typing(coach, texts, cold=True),
        goal_p95_ms=1.0,
    )


def _typing(coach: Coach, texts: list[str], *, cold: bool = False) -> list[float]:
    samples_ms: list[float] = []
    gc.collect()  # leftovers of building texts are not the keystrokes' garbage
    for text in texts:
        if cold:
            clear_fold_cache()
        started = time.perf_counter_ns()
        coach.check(text)
        samples_ms.append((time.perf_counter_ns() - started) / 1e6)
    return samples_ms


def coach_phrases(rng: random.Random, count: int) -> list[CoachPhrase]:
    """The R13 phrases and generated ones, `count` in all, each with a better wording."""
    texts = list(R13_PHRASES)
    seen = set(texts)
    while len(texts) < count:
        text = (
            rng.choice(_SUBJECTS) + rng.choice(_ADVERBS) + rng.choice(_VERBS) + rng.choice(_TAILS)
        )
        if 3 <= len(text) <= 12 and text not in seen:
            seen.add(text)
            texts.append(text)
    return [
        CoachPhrase(
            id=f"forbidden-{i}",
            phrase=text,
            better_zh="我来帮您确认一下，稍后给您准确答复。",
            better_en="Let me check that for you and give you a clear answer shortly.",
            severity="critical" if i % 10 == 0 else "warning",
        )
        for i, text in enumerate(texts)
    ]


def operator_note(rng: random.Random, chars: int) -> str:
    """A note of exactly `chars` characters, sentence after sentence, line by line."""
    parts: list[str] = []
    length = 0
    while length < chars:
        sentence = rng.choice(_SENTENCES).format(
            time=f"{rng.randint(8, 20):02d}:{rng.randint(0, 59):02d}",
            name=rng.choice(_NAMES),
            product=rng.choice(_PRODUCTS),
            date=f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            order=f"SO{rng.randint(10**9, 10**10 - 1)}",
            version=f"{rng.randint(1, 3)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
            hours=rng.choice((2, 4, 24, 48)),
            phone=f"138{rng.randint(10**7, 10**8 - 1)}",
            phone2=f"010-{rng.randint(6000_0000, 6999_9999)}",
            number=rng.randint(1, 300),
            points=rng.randint(1000, 99_999),
        )
        parts.append(sentence + ("\n" if rng.random() < 0.4 else " "))
        length += len(parts[-1])
    return "".join(parts)[:chars]
