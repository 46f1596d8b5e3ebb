"""The default script pack covers every rule of the etiquette digest, and its README says how.

Reads `resources/packs/service-etiquette/pack.yaml` and its README through the installed
package (`agent_desk.resources`), with PyYAML only: no validator, no Qt.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import pytest
import yaml

RULES = [f"R{n}" for n in range(1, 31)]  # the digest's rules, R1-R30

# Digest R13, 接待客户的用语禁忌, as the digest writes them (the "/" lists split).
R13_PHRASES = [
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
    "一定是××错了，他们经常错",
    "我查不到",
    "我不是这里负责的",
    "很麻烦的",
    "那是我们领导的事",
    "今天电话特别多，一下忙不过来",
    "这有什么关系呢",
]

STAGE_IDS = ["opening", "understanding", "customer_type", "solving", "complaint", "closing"]
AUTO_CHECKS = {
    "greeting_used",
    "no_forbidden_phrase",
    "customer_type_chosen",
    "promise_recorded",
    "wrap_up_code_set",
    "hold_under_limit",
}
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RULE_RE = re.compile(r"^R(\d+)$")
# {{ and }} are literal braces; {name} a variable; {?id} a blank.
TEMPLATE_RE = re.compile(r"\{\{|\}\}|\{(\?)?([^{}]*)\}")
ROW_RE = re.compile(r"^\|\s*(R\d+)\s*\|(.*)\|\s*$")

Entry = dict[str, Any]


def _pack_dir() -> Traversable:
    return files("agent_desk.resources") / "packs" / "service-etiquette"


@cache
def _pack() -> Entry:
    data = yaml.safe_load((_pack_dir() / "pack.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _readme() -> str:
    return (_pack_dir() / "README.md").read_text(encoding="utf-8")


def _prompts() -> Iterator[Entry]:
    pack = _pack()
    for stage in pack["stages"]:
        yield from stage["prompts"]
    for ctype in pack["customer_types"]:
        yield from ctype["prompts"]


def _ruled_entries() -> Iterator[Entry]:
    """Every entry that carries a `rules:` list."""
    pack = _pack()
    yield from _prompts()
    for section in ("say_instead", "forbidden", "qa_checklist"):
        yield from pack[section]


def _rules_served_by() -> dict[str, set[str]]:
    """Entry id -> the rules it serves (a customer type serves its prompts' rules)."""
    pack = _pack()
    served = {entry["id"]: set(entry["rules"]) for entry in _ruled_entries()}
    for ctype in pack["customer_types"]:
        served[ctype["id"]] = {rule for prompt in ctype["prompts"] for rule in prompt["rules"]}
    return served


def _all_ids() -> list[str]:
    pack = _pack()
    ids = [stage["id"] for stage in pack["stages"]]
    ids += [ctype["id"] for ctype in pack["customer_types"]]
    ids += [entry["id"] for entry in _ruled_entries()]
    return ids


def _texts(pair: Any) -> list[str]:
    assert isinstance(pair, dict), pair
    return [value for value in (pair.get("zh"), pair.get("en")) if isinstance(value, str)]


def _spoken_texts() -> Iterator[tuple[str, str]]:
    """(entry id, text) for the wording the pack recommends: everything but `not:`."""
    pack = _pack()
    for prompt in _prompts():
        for text in _texts(prompt["text"]):
            yield prompt["id"], text
    for ctype in pack["customer_types"]:
        for text in _texts(ctype["description"]):
            yield ctype["id"], text
    for pair in pack["say_instead"]:
        for text in _texts(pair["say"]):
            yield pair["id"], text
    for entry in pack["forbidden"]:
        for text in _texts(entry["better"]):
            yield entry["id"], text


def _squeeze(text: str) -> str:
    """Drop spacing and punctuation, as the coach's matcher tolerates them."""
    return "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text)
        if not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )


def _forbidden_forms() -> dict[str, str]:
    """Squeezed phrase or variant -> forbidden entry id."""
    forms: dict[str, str] = {}
    for entry in _pack()["forbidden"]:
        for form in [entry["phrase"], *entry.get("variants", [])]:
            forms[_squeeze(form)] = entry["id"]
    return forms


def test_pack_header() -> None:
    pack = _pack()
    assert pack["pack"] == "service-etiquette"
    assert pack["version"] == "1.0.0"
    assert pack["languages"] == ["zh", "en"]
    assert [stage["id"] for stage in pack["stages"]] == STAGE_IDS
    type_ids = {ctype["id"] for ctype in pack["customer_types"]}
    assert {"demanding", "confused", "upset", "expert"} <= type_ids


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_is_served(rule: str) -> None:
    serving = [entry["id"] for entry in _ruled_entries() if rule in entry["rules"]]
    assert serving, f"no entry of the pack names {rule} in its rules"


def test_every_rule_id_used_is_a_digest_rule() -> None:
    for entry in _ruled_entries():
        assert entry["rules"], f"{entry['id']}: empty rules list"
        for rule in entry["rules"]:
            match = RULE_RE.match(str(rule))
            assert match and 1 <= int(match.group(1)) <= 30, f"{entry['id']}: unknown {rule!r}"
        assert len(set(entry["rules"])) == len(entry["rules"]), f"{entry['id']}: repeated rule"


def test_ids_are_unique_and_well_formed() -> None:
    ids = _all_ids()
    duplicates = sorted(entry_id for entry_id, n in Counter(ids).items() if n > 1)
    assert not duplicates
    prompt_ids = [prompt["id"] for prompt in _prompts()]
    # Stage ids are fixed by the format (customer_type has an underscore); the rest are ours.
    malformed = [i for i in ids if i not in STAGE_IDS and not ID_RE.match(i)]
    assert not malformed
    assert len(prompt_ids) == len(set(prompt_ids))


def test_readme_table_lists_every_rule_once_with_existing_entries() -> None:
    served = _rules_served_by()
    rows: list[tuple[str, list[str]]] = []
    for line in _readme().splitlines():
        match = ROW_RE.match(line.strip())
        if match:
            rows.append((match.group(1), re.findall(r"`([^`]+)`", match.group(2))))
    assert [rule for rule, _ in rows] == RULES
    for rule, entry_ids in rows:
        assert entry_ids, f"README: {rule} names no entry"
        for entry_id in entry_ids:
            assert entry_id in served, f"README: {rule} names {entry_id!r}, not in the pack"
            assert rule in served[entry_id], f"README: {entry_id!r} does not serve {rule}"


def test_forbidden_entries_have_a_phrase_and_better_wording() -> None:
    for entry in _pack()["forbidden"]:
        assert isinstance(entry["phrase"], str) and entry["phrase"].strip(), entry["id"]
        for variant in entry.get("variants", []):
            assert isinstance(variant, str) and variant.strip(), entry["id"]
        better = entry["better"]
        assert isinstance(better.get("zh"), str) and better["zh"].strip(), entry["id"]
        assert isinstance(better.get("en"), str) and better["en"].strip(), entry["id"]
        assert entry["severity"] in {"warning", "critical"}, entry["id"]


@pytest.mark.parametrize("phrase", R13_PHRASES)
def test_every_r13_phrase_is_forbidden(phrase: str) -> None:
    entry_id = _forbidden_forms().get(_squeeze(phrase))
    assert entry_id is not None, f"R13 phrase {phrase!r} is no forbidden phrase or variant"
    entry = next(e for e in _pack()["forbidden"] if e["id"] == entry_id)
    assert "R13" in entry["rules"]


def test_the_pack_never_recommends_its_own_forbidden_phrases() -> None:
    forms = _forbidden_forms()
    for entry_id, text in _spoken_texts():
        squeezed = _squeeze(text)
        hits = [form for form in forms if form and form in squeezed]
        assert not hits, f"{entry_id}: {text!r} contains forbidden {hits}"


def test_templates_use_declared_variables_and_blanks() -> None:
    pack = _pack()
    variables = set(pack["variables"])
    for name, spec in pack["variables"].items():
        assert _texts(spec["fallback"]) and "zh" in spec["fallback"], name
    prompt_ids = {prompt["id"] for prompt in _prompts()}
    for entry_id, text in _spoken_texts():
        used_blanks: set[str] = set()
        for match in TEMPLATE_RE.finditer(text):
            if match.group(0) in ("{{", "}}"):
                continue
            is_blank, name = match.group(1), match.group(2)
            if is_blank:
                used_blanks.add(name)
            else:
                assert name in variables, f"{entry_id}: undeclared variable {{{name}}}"
        if entry_id not in prompt_ids:
            assert not used_blanks, f"{entry_id}: blanks only belong in prompts"
    for prompt in _prompts():
        declared = [blank["id"] for blank in prompt.get("blanks", [])]
        used = {
            match.group(2)
            for text in _texts(prompt["text"])
            for match in TEMPLATE_RE.finditer(text)
            if match.group(1)
        }
        assert set(declared) == used, f"{prompt['id']}: blanks {declared} vs used {used}"


def test_every_text_has_chinese_and_english() -> None:
    pack = _pack()
    pairs: list[tuple[str, Any]] = [("title", pack["title"])]
    pairs += [(stage["id"], stage["title"]) for stage in pack["stages"]]
    for ctype in pack["customer_types"]:
        pairs += [(ctype["id"], ctype["title"]), (ctype["id"], ctype["description"])]
    pairs += [(prompt["id"], prompt["text"]) for prompt in _prompts()]
    for pair in pack["say_instead"]:
        pairs += [(pair["id"], pair["not"]), (pair["id"], pair["say"])]
    pairs += [(item["id"], item["title"]) for item in pack["qa_checklist"]]
    for entry_id, pair in pairs:
        assert str(pair.get("zh", "")).strip(), f"{entry_id}: no Chinese"
        assert str(pair.get("en", "")).strip(), f"{entry_id}: no English"


def test_qa_checklist() -> None:
    items = _pack()["qa_checklist"]
    for item in items:
        assert isinstance(item["weight"], int | float) and item["weight"] > 0, item["id"]
        assert isinstance(item.get("critical", False), bool), item["id"]
        if "auto" in item:
            assert item["auto"] in AUTO_CHECKS, item["id"]
    assert {item["auto"] for item in items if "auto" in item} == AUTO_CHECKS
    assert any(item.get("critical") for item in items)
