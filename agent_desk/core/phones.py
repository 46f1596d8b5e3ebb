"""Phone numbers as the desk stores and matches them: E.164 via `phonenumbers`.

A caller's number arrives from the PBX, the CRM export and the operator's keyboard in many
spellings (+86 138 0013 8000, 008613800138000, 138-0013-8000, full-width digits from a
Chinese IME, a landline with its area code); all of them must meet the same stored key.
"""

from __future__ import annotations

import unicodedata

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneNumberFormat,
    PhoneNumberType,
    ValidationResult,
)

DEFAULT_REGION = "CN"
# Longer than any real number with all its separators; phonenumbers refuses far longer input
# itself, but a pasted paragraph should get our message, not its.
MAX_INPUT_CHARS = 64
_SEPARATORS = frozenset("+()./-")


class PhoneNumberError(ValueError):
    """Not a usable phone number; `reason` is the short cause, `value` what was given."""

    def __init__(self, reason: str, value: str) -> None:
        super().__init__(f"{reason}: {value!r}")
        self.reason = reason
        self.value = value


def normalise_number(raw: str, region: str = DEFAULT_REGION) -> str:
    """The E.164 form ("+8613800138000") of `raw`, read as dialled from `region`.

    Raises PhoneNumberError saying why: not a phone number, too short, too long, unknown
    country code, or not a valid number in the region it belongs to. An extension cannot be
    part of an E.164 key, so text such as "ext" is refused rather than silently dropped.
    """
    cleaned = _ascii_digits(raw)
    try:
        number = phonenumbers.parse(cleaned, region)
    except NumberParseException as exc:
        raise _parse_error(exc, raw, cleaned) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.TOO_SHORT:
        raise PhoneNumberError("too short", raw)
    if possible == ValidationResult.TOO_LONG:
        raise PhoneNumberError("too long", raw)
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        raise PhoneNumberError("unknown country code", raw)
    if not phonenumbers.is_valid_number(number):
        raise PhoneNumberError(f"not a valid number in {_region_name(number)}", raw)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def display_number(e164: str, home_region: str = DEFAULT_REGION) -> str:
    """How an operator reads the number: national format at home, international otherwise.

    Never raises: a stored value that does not parse is shown as it is.
    """
    try:
        number = phonenumbers.parse(e164, home_region)
    except NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == home_region:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def phone_label(e164: str) -> str:
    """The label a number gets when nobody gave one: mobile, landline or other."""
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    except NumberParseException:
        return "other"
    if kind == PhoneNumberType.MOBILE:
        return "mobile"
    if kind == PhoneNumberType.FIXED_LINE:
        return "landline"
    return "other"


def looks_like_phone(text: str, region: str = DEFAULT_REGION) -> bool:
    """Whether search text is (the start of) a phone number rather than a name or code."""
    if len(digits_of(text)) < 3:
        return False
    try:
        normalise_number(text, region)
    except PhoneNumberError as exc:
        return exc.reason != "not a phone number"
    return True


def e164_prefixes(typed: str, region: str = DEFAULT_REGION) -> list[str]:
    """The E.164 beginnings that the start of a number can stand for: "+44…", "0044…" and
    "86…" with a country code, "010…" with the trunk 0, "138…" as a national number."""
    digits = digits_of(typed)
    if not digits:
        return []
    home = str(phonenumbers.country_code_for_region(region))
    if unicodedata.normalize("NFKC", typed).lstrip().startswith("+"):
        return ["+" + digits]
    if digits.startswith("00"):
        return ["+" + digits[2:]] if len(digits) > 2 else []
    if digits.startswith("0"):
        return ["+" + home + digits[1:]]
    prefixes = ["+" + home + digits]
    if digits.startswith(home):
        prefixes.append("+" + digits)
    return prefixes


def digits_of(text: str) -> str:
    """Only the digits of `text`, full-width and other Unicode digits made ASCII."""
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        value = unicodedata.decimal(ch, None)
        if value is not None:
            out.append(str(value))
    return "".join(out)


def _ascii_digits(raw: str) -> str:
    """`raw` with Unicode digits made ASCII and separators kept; refuses anything else.

    phonenumbers would read letters as a keypad (vanity numbers), turning "138 0013 8000 abc"
    into a different, wrong number: at a call-centre desk letters mean a typing mistake.
    """
    if not isinstance(raw, str) or len(raw) > MAX_INPUT_CHARS:
        raise PhoneNumberError("not a phone number", str(raw)[:MAX_INPUT_CHARS])
    out = []
    for ch in unicodedata.normalize("NFKC", raw):
        value = unicodedata.decimal(ch, None)
        if value is not None:
            out.append(str(value))
        elif ch in _SEPARATORS or unicodedata.category(ch) == "Pd":
            out.append("+" if ch == "+" else " ")
        elif ch.isspace():
            out.append(" ")
        else:
            raise PhoneNumberError("not a phone number", raw)
    cleaned = "".join(out)
    if not any(c.isdigit() for c in cleaned):
        raise PhoneNumberError("not a phone number", raw)
    return cleaned


def _parse_error(exc: NumberParseException, raw: str, cleaned: str) -> PhoneNumberError:
    kind = exc.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        return PhoneNumberError("unknown country code", raw)
    if kind == NumberParseException.TOO_LONG:
        return PhoneNumberError("too long", raw)
    if kind in (NumberParseException.TOO_SHORT_AFTER_IDD, NumberParseException.TOO_SHORT_NSN):
        return PhoneNumberError("too short", raw)
    # NOT_A_NUMBER with digits present means too few of them to be anything ("1", "+86").
    if sum(c.isdigit() for c in cleaned) < 3:
        return PhoneNumberError("too short", raw)
    return PhoneNumberError("not a phone number", raw)


def _region_name(number: phonenumbers.PhoneNumber) -> str:
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    if region in (None, "ZZ", "001"):  # non-geographic numbering plans have no region code
        return f"+{number.country_code}"
    return str(region)
