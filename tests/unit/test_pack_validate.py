"""The script-pack validator: one broken pack per failure kind in tests/unit/packs/, each
with the exact lines a trainer would see, plus the loaded model of a valid pack."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest

from agent_desk.core import script_model
from agent_desk.core.scripts import (
    AUTO_CHECKS,
    MAX_PACK_BYTES,
    SECTIONS,
    STAGE_IDS,
    PackInvalid,
    PackUnreadable,
    Problem,
    ScriptPack,
    dump_pack,
    load_default_pack,
    load_pack,
    pack_checksum,
    pack_schema,
    parse_pack,
    summary,
    validate_pack_file,
    validate_pack_text,
)

PACKS = Path(__file__).parent / "packs"

EXPECTED: dict[str, list[str]] = {
    "yaml_syntax.yaml": [
        "yaml_syntax.yaml:9: YAML syntax error: expected ',' or '}', but got ':'"
        " (while parsing a flow mapping at line 8)",
    ],
    "missing_key.yaml": [
        "missing_key.yaml:1: missing required key 'version'",
        "missing_key.yaml:9: stages[0].prompts[0]: missing required key 'text'",
    ],
    "wrong_type.yaml": [
        'wrong_type.yaml:2: version: expected a version such as "1.0.0", got a number (1.0);'
        " put it in quotes",
        "wrong_type.yaml:5: title: expected a text pair {zh: …, en: …}, got text ('测试包')",
    ],
    "unknown_key.yaml": [
        "unknown_key.yaml:12: stages[0].prompts[0]: unknown key 'tag'; did you mean 'tags'?",
    ],
    "bad_id.yaml": [
        "bad_id.yaml:10: stages[0].prompts[0].id: 'Greeting 1' is not an id (lowercase letters,"
        " digits, '-' and '_', starting with a letter or digit, at most 64)",
    ],
    "bad_stage_id.yaml": [
        "bad_stage_id.yaml:7: stages[0].id: 'greeting' is not a stage id; expected one of:"
        " opening, understanding, customer_type, solving, complaint, closing",
    ],
    "bad_auto_check.yaml": [
        "bad_auto_check.yaml:10: qa_checklist[0].auto: 'greeting' is not an automatic check;"
        " expected one of: greeting_used, no_forbidden_phrase, customer_type_chosen,"
        " promise_recorded, wrap_up_code_set, hold_under_limit",
    ],
    "unknown_variable.yaml": [
        "unknown_variable.yaml:15: stages[0].prompts[0].text.zh: unknown variable"
        " {custmer_name}; did you mean {customer_name}?",
        "unknown_variable.yaml:16: stages[0].prompts[0].text.en: unknown variable {centre};"
        " declare it under variables",
    ],
    "unknown_blank.yaml": [
        "unknown_blank.yaml:15: stages[0].prompts[0].text.zh: unknown blank {?resaon};"
        " did you mean {?reason}?",
    ],
    "unused_blank.yaml": [
        "unused_blank.yaml:15: stages[0].prompts[0].blanks[0]: blank 'reason' is not used"
        " in text.en",
    ],
    "unbalanced_brace.yaml": [
        "unbalanced_brace.yaml:15: stages[0].prompts[0].text.zh: unbalanced '{' at character 6;"
        " write '{{' for a literal brace",
        "unbalanced_brace.yaml:16: stages[0].prompts[0].text.en: unbalanced '}' at character 24;"
        " write '}}' for a literal brace",
    ],
    "duplicate_key.yaml": [
        "duplicate_key.yaml:13: stages[0].prompts[0]: duplicate key 'tags' (first at line 12)",
    ],
    "duplicate_prompt_id.yaml": [
        "duplicate_prompt_id.yaml:16: customer_types[0].prompts[0].id: duplicate prompt id"
        " 'greeting' (first at line 10)",
    ],
    "duplicate_forbidden_id.yaml": [
        "duplicate_forbidden_id.yaml:10: forbidden[1].id: duplicate forbidden id 'no-way'"
        " (first at line 7)",
    ],
    "empty_forbidden_phrase.yaml": [
        "empty_forbidden_phrase.yaml:8: forbidden[0].phrase: empty forbidden phrase",
    ],
    "repeated_forbidden_phrase.yaml": [
        "repeated_forbidden_phrase.yaml:12: forbidden[1].variants[0]: '不 行' repeats the phrase"
        " of 'cannot' (first at line 11)",
        "repeated_forbidden_phrase.yaml:12: forbidden[1].variants[1]: '没办法' repeats the phrase"
        " of 'no-way' (first at line 8)",
    ],
    "include_missing_file.yaml": [
        "include_missing_file.yaml:7: include[0].file: cannot read 'parts/closing.yaml':"
        " no such file",
    ],
    "include_unknown_section.yaml": [
        "include_unknown_section.yaml:8: include[0].section: 'closing' is not a section that can"
        " be included; expected one of: stages, customer_types, say_instead, forbidden,"
        " qa_checklist",
    ],
    "include_absent_section.yaml": [
        "include_absent_section.yaml:8: include[0].section: 'parts/common.yaml' has no"
        " qa_checklist entries",
    ],
    "include_unknown_id.yaml": [
        "include_unknown_id.yaml:9: include[0].ids[1]: 'parts/common.yaml' has no forbidden"
        " entry 'three-year-old'",
    ],
    "include_duplicate_id.yaml": [
        "include_duplicate_id.yaml:10: forbidden[0].id: duplicate forbidden id 'no-way'"
        " (first at parts/common.yaml:19)",
    ],
    "include_cycle.yaml": [
        "include_cycle.yaml:7: include[0].file: 'parts/cycle_partner.yaml' is not a valid pack"
        " (1 problem)",
        "parts/cycle_partner.yaml:7: include[0].file: include cycle: include_cycle.yaml ->"
        " parts/cycle_partner.yaml -> include_cycle.yaml",
    ],
    "not_utf8.yaml": [
        "not_utf8.yaml:4: not UTF-8: byte 0xb2 cannot be decoded; save the file as UTF-8",
    ],
    "empty.yaml": [
        "empty.yaml:1: empty file: a pack needs at least pack, version, languages, author"
        " and title",
    ],
    "valid_with_include.yaml": [],
}

HEADER = """\
pack: inline
version: "1.0.0"
languages: [zh, en]
author: 测试
title: {zh: 测试, en: Test}
"""


@pytest.fixture
def in_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Problems name files as the caller did; relative names keep the expectations short."""
    monkeypatch.chdir(PACKS)


def test_every_pack_in_the_folder_has_its_expected_lines() -> None:
    assert sorted(p.name for p in PACKS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.usefixtures("in_packs")
def test_validate_pack_file(name: str) -> None:
    assert [str(problem) for problem in validate_pack_file(name)] == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(n for n, lines in EXPECTED.items() if lines))
@pytest.mark.usefixtures("in_packs")
def test_load_pack_raises_with_the_same_problems(name: str) -> None:
    with pytest.raises(PackInvalid) as caught:
        load_pack(name)
    assert [str(problem) for problem in caught.value.problems] == EXPECTED[name]
    assert str(caught.value).startswith(EXPECTED[name][0])


def test_a_file_over_one_mebibyte_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"pack: big\n" + b"#" * MAX_PACK_BYTES)
    assert [str(p) for p in validate_pack_file(big)] == [
        f"{big}:1: file too large: 1,048,586 bytes; a pack may be at most 1 MiB (1,048,576 bytes)"
    ]
    exactly = tmp_path / "exactly.yaml"
    exactly.write_bytes(b"#" * MAX_PACK_BYTES)  # the limit itself is allowed (and empty)
    assert [p.message.split(":")[0] for p in validate_pack_file(exactly)] == ["empty file"]


def test_text_over_the_limit_is_refused_too() -> None:
    text = "#" + "字" * (MAX_PACK_BYTES // 3 + 1)  # counted in UTF-8 bytes, not characters
    assert [str(p) for p in validate_pack_text(text, "buffer.yaml")] == [
        "buffer.yaml:1: file too large: 1,048,579 bytes; a pack may be at most 1 MiB"
        " (1,048,576 bytes)"
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("stages:\n  - &a [*a]\n", ["x.yaml:7: YAML syntax error: an alias refers to itself"]),
        (
            "base: &b {zh: 开场}\nstages:\n  - {<<: *b, id: opening}\n",
            [
                "x.yaml:6: unknown key 'base'",
                "x.yaml:8: stages[0]: YAML merge keys (<<) are not supported; write the keys out",
                "x.yaml:8: stages[0]: missing required key 'title'",
            ],
        ),
        (
            "variables:\n  1: {fallback: {zh: x}}\n",
            ["x.yaml:7: variables: key '1' is not a name; write names as text"],
        ),
        (
            "variables:\n  Customer: {fallback: {zh: x}}\n",
            [
                "x.yaml:7: variables: 'Customer' is not a variable name (lowercase letters,"
                " digits and '_', starting with a letter)"
            ],
        ),
        ("author2: \x07\n", ["x.yaml:6: YAML syntax error: character U+0007 is not allowed"]),
        (
            "---\nx: 1\n",
            [
                "x.yaml:6: YAML syntax error: but found another document"
                " (expected a single document in the stream at line 1)"
            ],
        ),
        (
            "qa_checklist:\n  - {id: a, title: {zh: 甲}, weight: 0, critical: yes}\n",
            ["x.yaml:7: qa_checklist[0].weight: must be more than 0, got 0"],
        ),
        (
            "say_instead:\n  - id: a\n    not: {zh: 不要}\n    say: {zh: '请{?why}', en: ' '}\n",
            [
                "x.yaml:9: say_instead[0].say.en: must not be blank",
                "x.yaml:9: say_instead[0].say.zh: blank {?why} is not allowed here:"
                " only a prompt's text has blanks",
            ],
        ),
        (
            "stages:\n  - id: opening\n    title: {zh: 开}\n    prompts:\n"
            "      - id: p\n        text: {zh: '{ name }好'}\n        rules: [R31]\n",
            [
                "x.yaml:11: stages[0].prompts[0].text.zh: '{ name }' is not a placeholder: write"
                " {name} for a variable, {?id} for a blank, {{ and }} for literal braces",
                "x.yaml:12: stages[0].prompts[0].rules[0]: 'R31' is not a digest rule id (R1-R30)",
            ],
        ),
        (
            "languages: [zh, zh]\n",
            ["x.yaml:6: duplicate key 'languages' (first at line 3)"],
        ),
        (
            "include:\n  - {file: a.yaml, section: stages, ids: [closing, closing]}\n",
            [
                "x.yaml:7: include[0].file: cannot include 'a.yaml': the pack was not read"
                " from a folder",
                "x.yaml:7: include[0].ids: 'closing' is listed twice",
            ],
        ),
        ("stages: {}\n", ["x.yaml:6: stages: expected a list of stages, got a mapping"]),
    ],
)
def test_more_problems_in_inline_packs(body: str, expected: list[str]) -> None:
    assert [str(p) for p in validate_pack_text(HEADER + body, "x.yaml")] == expected


def test_dates_and_things_that_look_like_dates() -> None:
    body = "qa_checklist:\n  - {id: a, title: {zh: 甲}, weight: 2024-13-45}\n"
    assert [str(p) for p in validate_pack_text(HEADER + body, "x.yaml")] == [
        "x.yaml:7: qa_checklist[0].weight: expected a weight, got text ('2024-13-45')"
    ]
    body = "qa_checklist:\n  - {id: a, title: {zh: 甲}, weight: 2024-01-05}\n"
    assert [str(p) for p in validate_pack_text(HEADER + body, "x.yaml")] == [
        "x.yaml:7: qa_checklist[0].weight: expected a weight, got a date (2024-01-05)"
    ]


def test_any_line_deleted_gives_problems_or_a_pack_never_a_crash() -> None:
    lines = (PACKS / "valid_with_include.yaml").read_text(encoding="utf-8").splitlines()
    for index in range(len(lines)):
        text = "\n".join(lines[:index] + lines[index + 1 :])
        for problem in validate_pack_text(text, "cut.yaml", base_dir=PACKS):
            assert problem.line >= 1 and problem.message


def test_a_whole_document_that_is_not_a_mapping() -> None:
    assert [str(p) for p in validate_pack_text("- a\n- b\n", "x.yaml")] == [
        "x.yaml:1: expected a script pack, got a list"
    ]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode())
    assert load_pack(path).pack_id == "inline"


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(PackUnreadable, match="no such file"):
        validate_pack_file(tmp_path / "missing.yaml")
    with pytest.raises(PackUnreadable, match="it is a folder"):
        load_pack(tmp_path)


def test_includes_need_a_folder_when_parsing_text() -> None:
    text = (PACKS / "valid_with_include.yaml").read_text(encoding="utf-8")
    with pytest.raises(PackInvalid) as caught:
        parse_pack(text, "buffer.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "buffer.yaml:8: include[0].file: cannot include 'parts/common.yaml':"
        " the pack was not read from a folder",
        "buffer.yaml:11: include[1].file: cannot include 'parts/common.yaml':"
        " the pack was not read from a folder",
    ]
    assert parse_pack(text, "buffer.yaml", base_dir=PACKS) == load_pack(
        PACKS / "valid_with_include.yaml"
    )


def test_the_valid_pack_with_its_includes_resolved() -> None:
    pack = load_pack(PACKS / "valid_with_include.yaml")
    assert (pack.pack_id, pack.version, pack.languages) == ("small-pack", "1.2.0", ("zh", "en"))
    # Stages in call order whatever the file's order; included entries before the pack's own.
    assert [s.id for s in pack.stages] == ["opening", "solving", "closing"]
    assert [f.id for f in pack.forbidden] == ["no-way", "three-year-old"]
    assert pack.forbidden[0].forms == ("没办法", "没有办法")
    assert pack.forbidden[1].severity == "critical"
    assert [v.name for v in pack.variables] == [
        "centre",
        "agent_no",
        "customer_name",
        "promised_time",
    ]
    goodbye = pack.prompt("goodbye")
    assert goodbye is not None and [v.name for v in goodbye.variables] == ["centre"]
    assert pack.prompt_owner("goodbye") == pack.stage("closing")
    promise = pack.prompt("promise-reply")
    assert promise is not None
    assert [v.name for v in promise.variables] == ["customer_name", "promised_time"]
    assert [b.id for b in promise.blanks] == ["reason"]
    assert pack.say_instead[0].avoid.en == "That machine often eats cards."
    item = pack.qa_checklist[0]
    assert (item.weight, item.critical, item.auto) == (10.0, False, "greeting_used")
    assert summary(pack) == (
        "small-pack 1.2.0: 3 stages, 1 customer type, 4 prompts, 2 forbidden phrases, 1 QA item"
    )


def test_the_published_form_is_self_contained_and_round_trips() -> None:
    pack = load_pack(PACKS / "valid_with_include.yaml")
    text = dump_pack(pack)
    assert "include" not in text
    assert parse_pack(text, "published.yaml") == pack
    assert dump_pack(parse_pack(text, "published.yaml")) == text


def test_the_default_pack_is_valid() -> None:
    pack = load_default_pack()
    assert isinstance(pack, ScriptPack) and pack.pack_id == "service-etiquette"
    assert parse_pack(dump_pack(pack), "published.yaml") == pack


def test_checksum_and_problem_text() -> None:
    assert pack_checksum("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert str(Problem("a.yaml", 3, "bad")) == "a.yaml:3: bad"


def test_the_published_schema_is_draft_2020_12_and_agrees_with_the_code() -> None:
    schema = pack_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    defs = schema["$defs"]
    assert re.compile(defs["id"]["pattern"]).pattern == f"^{script_model.ENTRY_ID.pattern}$"
    assert defs["variableName"]["pattern"] == f"^{script_model.VARIABLE_NAME.pattern}$"
    assert tuple(defs["stage"]["properties"]["id"]["enum"]) == STAGE_IDS
    assert tuple(defs["qaItem"]["properties"]["auto"]["enum"]) == AUTO_CHECKS
    assert tuple(defs["include"]["properties"]["section"]["enum"]) == SECTIONS
    assert set(schema["properties"]) >= set(SECTIONS)
