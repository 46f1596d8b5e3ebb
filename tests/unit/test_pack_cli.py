"""`agent-desk pack validate FILE…`: output and exit status, as CI and trainers use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_desk.cli import main

PACKS = Path(__file__).parent / "packs"
SMALL_SUMMARY = (
    "valid_with_include.yaml: small-pack 1.2.0: 3 stages, 1 customer type, 4 prompts,"
    " 2 forbidden phrases, 1 QA item\n"
)


@pytest.fixture(autouse=True)
def in_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PACKS)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_valid_pack_prints_its_summary_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "pack", "validate", "valid_with_include.yaml") == (0, SMALL_SUMMARY, "")


def test_problems_are_file_line_message_lines_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "pack", "validate", "unknown_variable.yaml", "missing_key.yaml")
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "missing_key.yaml:1: missing required key 'version'",
        "missing_key.yaml:9: stages[0].prompts[0]: missing required key 'text'",
        "unknown_variable.yaml:15: stages[0].prompts[0].text.zh: unknown variable"
        " {custmer_name}; did you mean {customer_name}?",
        "unknown_variable.yaml:16: stages[0].prompts[0].text.en: unknown variable {centre};"
        " declare it under variables",
    ]


def test_valid_files_still_get_their_summary_beside_broken_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "pack", "validate", "valid_with_include.yaml", "empty.yaml")
    assert code == 1
    assert out == (
        "empty.yaml:1: empty file: a pack needs at least pack, version, languages, author"
        " and title\n" + SMALL_SUMMARY
    )


def test_problems_of_an_included_file_name_that_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "pack", "validate", "include_cycle.yaml")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "include_cycle.yaml",
        "parts/cycle_partner.yaml",
    ]


def test_a_file_that_cannot_be_read_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "pack", "validate", "nowhere.yaml", "empty.yaml")
    assert code == 2
    assert err == "agent-desk: nowhere.yaml: cannot read: no such file\n"
    assert out.startswith("empty.yaml:1: empty file")


def test_validate_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["pack", "validate"])
    assert exited.value.code == 2
    assert "FILE" in capsys.readouterr().err
