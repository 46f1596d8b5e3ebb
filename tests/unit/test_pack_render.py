"""Prompts as the operator sees them: values, fallbacks per language, blanks, escapes, and
the response-library search in Chinese and English."""

from __future__ import annotations

import pytest

from agent_desk.core.scripts import (
    Prompt,
    ScriptPack,
    parse_pack,
    parse_template,
    render_prompt,
    render_text,
    search_prompts,
)

PACK = parse_pack(
    """\
pack: render-test
version: "1.0.0"
languages: [zh, en]
author: 测试
title: {zh: 渲染, en: Rendering}
variables:
  agent_no: {fallback: {zh: "", en: ""}}
  centre: {fallback: {zh: 客户服务中心, en: the service centre}}
  customer_name: {fallback: {zh: 先生/女士, en: sir or madam}}
  promised_time: {fallback: {zh: 尽快}}
stages:
  - id: opening
    title: {zh: 开场, en: Opening}
    prompts:
      - id: greeting
        title: {zh: 标准开场白, en: Standard greeting}
        text:
          zh: "您好！我是{centre}{agent_no}号，{customer_name}，很高兴为您服务。"
          en: "Hello {customer_name}, this is {centre}, agent {agent_no}."
        tags: [问候, Welcome]
  - id: solving
    title: {zh: 解决与承诺, en: Solving and promising}
    prompts:
      - id: promise
        text:
          zh: "因为{?reason}，我们会在{promised_time}之前{?action}。"
          en: "Because {?reason}, we will {?action} by {promised_time}."
        blanks:
          - {id: reason, label: {zh: 原因, en: reason}}
          - {id: action, label: {zh: 处理方式, en: what we will do}}
        tags: [承诺]
      - id: braces
        text:
          zh: "请输入{{客户编号}}，不是{{customer_name}}，{customer_name}。"
customer_types:
  - id: upset
    title: {zh: 激动型, en: Upset}
    prompts:
      - id: calm
        text: {zh: 我十分理解您的心情，马上为您处理。, en: I fully understand how you feel.}
say_instead:
  - id: vague-promise
    not: {zh: 改天再联系您。, en: I'll call you some day.}
    say: {zh: "我会在{promised_time}之前回电。", en: "I will call back by {promised_time}."}
""",
    "render-test.yaml",
)


def prompt(prompt_id: str) -> Prompt:
    found = PACK.prompt(prompt_id)
    assert found is not None
    return found


def ids(prompts: list[Prompt]) -> list[str]:
    return [p.id for p in prompts]


def test_values_fill_the_template() -> None:
    values = {"agent_no": "32", "centre": "海尔服务中心", "customer_name": "王先生"}
    rendered = render_prompt(prompt("greeting"), values)
    assert rendered.text == "您好！我是海尔服务中心32号，王先生，很高兴为您服务。"
    assert (rendered.missing_blanks, rendered.used_fallbacks, rendered.ready) == ((), (), True)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("zh", "您好！我是客户服务中心32号，先生/女士，很高兴为您服务。"),
        ("en", "Hello sir or madam, this is the service centre, agent 32."),
    ],
)
def test_missing_values_use_the_fallback_of_that_language(language: str, text: str) -> None:
    values = {"agent_no": "32", "customer_name": None, "centre": "  "}  # None and blank: unknown
    rendered = render_prompt(prompt("greeting"), values, language)
    assert rendered.text == text
    assert sorted(rendered.used_fallbacks) == ["centre", "customer_name"]
    assert rendered.language == language


def test_an_empty_fallback_renders_nothing() -> None:
    rendered = render_prompt(prompt("greeting"), {"customer_name": "王先生", "centre": "中心"})
    assert rendered.text == "您好！我是中心号，王先生，很高兴为您服务。"
    assert rendered.used_fallbacks == ("agent_no",)


def test_a_fallback_without_english_shows_the_chinese() -> None:
    rendered = render_prompt(prompt("promise"), {}, "en", {"reason": "x", "action": "y"})
    assert rendered.text == "Because x, we will y by 尽快."


def test_blanks_stay_visible_until_filled() -> None:
    zh = render_prompt(prompt("promise"), {"promised_time": "明天下午三点"})
    assert zh.text == "因为［原因］，我们会在明天下午三点之前［处理方式］。"
    assert (zh.missing_blanks, zh.ready) == (("reason", "action"), False)
    en = render_prompt(prompt("promise"), {}, "en", {"action": "send an engineer"})
    assert en.text == "Because [reason], we will send an engineer by 尽快."
    assert en.missing_blanks == ("reason",)
    blank = render_prompt(prompt("promise"), {}, "zh", {"reason": "  ", "action": "上门"})
    assert blank.missing_blanks == ("reason",)  # spaces are not an answer


def test_filled_blanks_make_the_prompt_ready() -> None:
    answers = {"reason": "配件还在路上", "action": "上门维修"}
    rendered = render_prompt(prompt("promise"), {"promised_time": "周五"}, "zh", answers)
    assert rendered.text == "因为配件还在路上，我们会在周五之前上门维修。"
    assert rendered.ready


def test_escaped_braces_and_values_with_braces_stay_literal() -> None:
    rendered = render_prompt(prompt("braces"), {"customer_name": "{agent_no}"})
    assert rendered.text == "请输入{客户编号}，不是{customer_name}，{agent_no}。"
    assert rendered.used_fallbacks == ()


def test_english_missing_renders_the_chinese() -> None:
    rendered = render_prompt(prompt("braces"), {}, "en")
    assert rendered.language == "zh"
    assert rendered.text == "请输入{客户编号}，不是{customer_name}，先生/女士。"


def test_unknown_language() -> None:
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        render_prompt(prompt("greeting"), {}, "fr")


def test_say_instead_texts_render_with_the_pack_variables() -> None:
    pair = PACK.say_instead[0]
    assert render_text(PACK, pair.say, {}).text == "我会在尽快之前回电。"
    assert render_text(PACK, pair.say, {"promised_time": "5pm"}, "en").text == (
        "I will call back by 5pm."
    )


def test_template_parsing() -> None:
    template = parse_template("{a}{{x}}{?b}{a}}")
    assert template.variables == ("a",)
    assert template.blanks == ("b",)
    assert template.errors == ("unbalanced '}' at character 16; write '}}' for a literal brace",)
    assert parse_template("{a").errors == (
        "unbalanced '{' at character 1; write '{{' for a literal brace",
    )


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("很高兴", ["greeting"]),  # Chinese text
        ("HELLO", ["greeting"]),  # English text, any case
        ("welcome", ["greeting"]),  # a tag
        ("标准开场白", ["greeting"]),  # the prompt's title
        ("承诺", ["promise", "braces"]),  # a tag; the stage title 解决与承诺
        ("solving", ["promise", "braces"]),  # the stage it belongs to: a category
        ("激动型", ["calm"]),  # the customer type it belongs to
        ("理解 心情", ["calm"]),  # every word must match...
        ("理解 hello", []),  # ...in the same prompt
        (["fully", "UNDERSTAND"], ["calm"]),
        ("ｈｅｌｌｏ", ["greeting"]),  # full-width letters
        ("原因", ["promise"]),  # a blank's label
        ("agent_no", []),  # placeholder names are not words of the prompt
        ("", ["greeting", "promise", "braces", "calm"]),
        ("   ", ["greeting", "promise", "braces", "calm"]),
    ],
)
def test_search_prompts(words: str | list[str], expected: list[str]) -> None:
    assert ids(search_prompts(PACK, words)) == expected


def test_search_index_follows_each_pack() -> None:
    other = ScriptPack("other", "1.0.0", ("zh",), "x", PACK.title)
    assert search_prompts(other, "") == []
    assert ids(search_prompts(PACK, "hello")) == ["greeting"]
