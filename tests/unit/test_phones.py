"""Every spelling of a caller's number meets the same stored key (E.164)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_desk.core.phones import (
    PhoneNumberError,
    display_number,
    e164_prefixes,
    looks_like_phone,
    normalise_number,
    phone_label,
)

MOBILE = "+8613800138000"
LANDLINE = "+861062345678"


@pytest.mark.parametrize(
    "raw",
    [
        "+86 138 0013 8000",
        "008613800138000",
        "138-0013-8000",
        "13800138000",
        "86 13800138000",  # the country code without its plus, as some CRMs export it
        "+86-138-0013-8000",
        "(+86) 138 0013 8000",
        "013800138000",  # a PBX shows out-of-town mobiles with the trunk 0
        "１３８００１３８０００",  # full-width digits from a Chinese IME
        "＋８６　１３８－００１３－８０００",
        " 138 0013 8000 ",
        MOBILE,
    ],
)
def test_mobile_spellings_meet_one_key(raw: str) -> None:
    assert normalise_number(raw) == MOBILE


@pytest.mark.parametrize(
    "raw",
    [
        "010-6234 5678",
        "(010)62345678",
        "+86 10 6234 5678",
        "0086 10 62345678",
        "（０１０）６２３４５６７８",
        "+86 010 62345678",
    ],
)
def test_landline_with_area_code(raw: str) -> None:
    assert normalise_number(raw) == LANDLINE


def test_other_regions_and_area_codes() -> None:
    assert normalise_number("0755-12345678") == "+8675512345678"
    assert normalise_number("+44 20 7946 0958") == "+442079460958"
    assert normalise_number("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "not a phone number: 'abc'"),
        ("", "not a phone number: ''"),
        ("138 0013 8000 abc", "not a phone number: '138 0013 8000 abc'"),
        ("13800138000 ext 12", "not a phone number: '13800138000 ext 12'"),
        ("123", "too short: '123'"),
        ("+86", "too short: '+86'"),
        ("12345678901234567890", "too long: '12345678901234567890'"),
        ("1380013800", "not a valid number in CN: '1380013800'"),
        ("95588", "not a valid number in CN: '95588'"),
        ("+999 1234567", "unknown country code: '+999 1234567'"),
        ("+44 20 7946 09", "not a valid number in GB: '+44 20 7946 09'"),
    ],
)
def test_bad_numbers_say_why(raw: str, message: str) -> None:
    with pytest.raises(PhoneNumberError) as err:
        normalise_number(raw)
    assert str(err.value) == message
    assert isinstance(err.value, ValueError)
    assert err.value.value == raw


def test_display_is_national_at_home_and_international_abroad() -> None:
    assert display_number(MOBILE) == "138 0013 8000"
    assert display_number(LANDLINE) == "010 6234 5678"
    assert display_number("+442079460958") == "+44 20 7946 0958"
    assert display_number("not stored right") == "not stored right"


def test_phone_label() -> None:
    assert phone_label(MOBILE) == "mobile"
    assert phone_label(LANDLINE) == "landline"
    assert phone_label("+864008001234") == "other"


def test_search_text_as_a_number_prefix() -> None:
    assert e164_prefixes("138 0013") == ["+861380013"]
    assert e164_prefixes("010-6234") == ["+86106234"]
    assert e164_prefixes("+44 20") == ["+4420"]
    assert e164_prefixes("0044 20") == ["+4420"]
    assert e164_prefixes("86138") == ["+8686138", "+86138"]
    assert looks_like_phone("138 0013") and looks_like_phone("13800138000")
    assert not looks_like_phone("王") and not looks_like_phone("TS-20261101-000123")
    assert not looks_like_phone("12")


# --- properties ---------------------------------------------------------------------------

# Mobile number ranges in use in China (operators' 3-digit prefixes).
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]
REASONS = {"not a phone number", "too short", "too long", "unknown country code"}
FULL_WIDTH = str.maketrans("0123456789+-()", "０１２３４５６７８９＋－（）")


def _spell(national: str, style: int, sep: str) -> str:
    a, b, c = national[:3], national[3:7], national[7:]
    return [
        f"+86{sep}{a}{sep}{b}{sep}{c}",
        f"0086{national}",
        f"{a}{sep}{b}{sep}{c}",
        national,
        f"86 {national}",
        f"(+86){a}{sep}{b}{sep}{c}".translate(FULL_WIDTH),
        f"{a}{b}{c}".translate(FULL_WIDTH),
        f"+86 ({a}) {b}-{c}",
    ][style]


@given(
    prefix=st.sampled_from(MOBILE_PREFIXES),
    rest=st.from_regex(r"\A[0-9]{8}\Z"),
    styles=st.lists(st.integers(0, 7), min_size=2, max_size=8),
    sep=st.sampled_from([" ", "-", "", ".", "\u3000", "\u2014"]),
)
def test_every_spelling_of_a_valid_mobile_gives_one_e164(
    prefix: str, rest: str, styles: list[int], sep: str
) -> None:
    national = prefix + rest
    keys = {normalise_number(_spell(national, style, sep)) for style in styles}
    assert keys == {"+86" + national}


@given(st.text(max_size=40))
def test_garbage_raises_phone_number_error_and_nothing_else(raw: str) -> None:
    try:
        e164 = normalise_number(raw)
    except PhoneNumberError as exc:
        assert exc.reason in REASONS or exc.reason.startswith("not a valid number in ")
        assert str(exc) == f"{exc.reason}: {exc.value!r}"
    else:
        assert e164.startswith("+") and e164[1:].isdigit()


@given(st.text(alphabet="0123456789 +-()０１２３４５６７８９", max_size=30))
def test_number_like_text_never_fails_another_way(raw: str) -> None:
    with contextlib.suppress(PhoneNumberError):
        normalise_number(raw)


@given(
    prefix=st.sampled_from(MOBILE_PREFIXES),
    rest=st.from_regex(r"\A[0-9]{8}\Z"),
    region=st.sampled_from(["CN", "GB", "US", "DE"]),
)
def test_normalising_is_idempotent(prefix: str, rest: str, region: str) -> None:
    once = normalise_number(f"+86 {prefix} {rest}", region)
    assert normalise_number(once, region) == once
    assert normalise_number(once) == once


@given(st.text(alphabet="0123456789 +-()", min_size=1, max_size=24))
def test_whatever_normalises_normalises_to_itself(raw: str) -> None:
    try:
        once = normalise_number(raw)
    except PhoneNumberError:
        return
    assert normalise_number(once) == once
    assert display_number(once)
