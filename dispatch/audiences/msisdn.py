"""Vietnamese mobile numbers: any written form to E.164, with the original operator.

`normalise_slow` is the reference: the character rule below, then phonenumbers' parse, validity,
type and carrier, ~32 µs a number. `normalise` gives exactly the same answers at ~1 µs for the
forms a spreadsheet holds (`0…`, `84…`, `+84…`, `0084…`, bare national number, with spaces,
dots, dashes, parentheses) by reading the first digits of the 9-digit national number in
MOBILE_PREFIXES, an explicit table of the mobile ranges and their original operators.
`tests/dispatch/audiences/test_msisdn.py` checks the table against phonenumbers for every
4-digit prefix in every form and length, so a phonenumbers release that moves a range fails the
tests instead of silently answering differently. Anything else (landlines, other lengths, other
country codes, other whitespace) takes the slow path, remembered per text.

A number is read, never repaired: before either path, `refusal` allows only ASCII digits,
whitespace, `.`, `-`, `(`, `)` and one leading `+`. phonenumbers itself turns letters into
digits (`0912abc345` -> +84912222345: an SMS to a stranger) and reads other scripts' digits, so
it never sees a text that breaks this rule.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, carrier

from dispatch.models import OPERATORS

REGION = "VN"
COUNTRY_CODE = 84

EMPTY = "empty"
INVALID = "invalid number"
NOT_MOBILE = "not a mobile number"
FOREIGN = "not a Vietnamese number"
LETTERS = "contains letters"
# Followed by ": " and the character (the pages translate the words before the colon).
BAD_CHARACTER = "contains a character that is not a digit, space, . - ( ) or a leading +"
REASONS = (EMPTY, INVALID, NOT_MOBILE, FOREIGN, LETTERS)

# The first 3 (or 4) digits of every 9-digit national mobile number, by original operator, as
# phonenumbers 9.0's metadata and carrier data have them (its mobile pattern decides validity
# from these digits; `other` is a range with no carrier, e.g. Reddi's 559 and 95x).
_MOBILE_RANGES = {
    "viettel": "160 310-399 860-869 960-989",
    "vinaphone": "810-859 870-889 910-919 940-949",
    "mobifone": "140 300-309 510-519 700-709 760-799 896-899 900-909 930-939 1210-1213",
    "vietnamobile": "522-523 528 560-569 580-589 920-929",
    "gmobile": "590-599 993-997",
    "itelecom": "998-999",
    "other": "559 950-959 990-991",
}


def _expand(ranges: dict[str, str]) -> dict[str, str]:
    table = {}
    for operator, spans in ranges.items():
        for span in spans.split():
            first, _, last = span.partition("-")
            for value in range(int(first), int(last or first) + 1):
                table[str(value)] = operator
    return table


MOBILE_PREFIXES = _expand(_MOBILE_RANGES)
# The first 3 digits of 10-digit national landline numbers (fixed-line pattern 2…): an office's
# number in a list is common enough that refusing it should not cost the slow path.
LANDLINE_PREFIXES = frozenset(_expand({NOT_MOBILE: (
    "203-209 210-216 218-219 220-222 225-229 232-239 242-248 251-252 254-259 260-263 269 "
    "270-277 282-289 290-294 296-297 299")}))
_SEPARATORS = str.maketrans("", "", " .-()")
# Invisible characters that copying from a web page or Excel leaves in a cell, read as spaces.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_ALLOWED_MARKS = frozenset(".-()")
_MAX_INPUT = 250  # phonenumbers refuses longer strings, separators included


class Parsed(NamedTuple):
    """A normalised number (`msisdn`, `operator`) or why it is not one (`error`)."""

    msisdn: str | None
    operator: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def _fold(text: str) -> str:
    """Lower-case ASCII letters and digits only: 'G-Mobile' -> 'gmobile'."""
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


# phonenumbers' English carrier names (and common spellings people type) to OPERATORS.
_OPERATOR_NAMES = {
    "viettel": "viettel",
    "vinaphone": "vinaphone",
    "vnpt": "vinaphone",
    "mobifone": "mobifone",
    "mobiphone": "mobifone",
    "vietnamobile": "vietnamobile",
    "gmobile": "gmobile",
    "beeline": "gmobile",
    "indochinatelecom": "itelecom",
    "itelecom": "itelecom",
    "itel": "itelecom",
    "other": "other",
}


def operator_code(carrier_name: str) -> str:
    """Map a carrier name from phonenumbers to the code Loa stores ('other' when unknown)."""
    return _OPERATOR_NAMES.get(_fold(carrier_name), "other")


def parse_operator(value: str) -> str | None:
    """An operator a person typed (code or carrier name), or None when it is none of OPERATORS."""
    code = _OPERATOR_NAMES.get(_fold(value))
    return code if code in OPERATORS else None


_RESULT_EMPTY = Parsed(None, None, EMPTY)
_RESULTS = {reason: Parsed(None, None, reason) for reason in REASONS}


def _name(char: str) -> str:
    """A character as a clerk can find it in the cell: '#' or, when invisible, U+00AD."""
    return repr(char) if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"


def refusal(text: str) -> str | None:
    """Why `text` cannot be a written phone number (None when its characters are all allowed).

    Any letter, of any script, is LETTERS; any other character outside the rule is named.
    """
    bad = None
    plus_allowed = True  # a '+' only before the first digit or mark other than '('
    for char in text:
        if "0" <= char <= "9":
            plus_allowed = False
        elif char.isspace() or char in _INVISIBLE:
            continue
        elif char in _ALLOWED_MARKS:
            if char != "(":
                plus_allowed = False
        elif char == "+" and plus_allowed:
            plus_allowed = False
        elif char.isalpha():
            return LETTERS
        elif bad is None:
            bad = char
    return None if bad is None else f"{BAD_CHARACTER}: {_name(bad)}"


def _plain(text: str) -> str:
    """Every whitespace or invisible character as one ASCII space, as phonenumbers reads it."""
    return " ".join(text.translate(_INVISIBLE_TO_SPACE).split())


_INVISIBLE_TO_SPACE = str.maketrans({char: " " for char in _INVISIBLE})


def normalise_slow(raw: str | None) -> Parsed:
    """Normalise with the character rule and phonenumbers: what the fast path must agree with."""
    text = (raw or "").strip()
    if not text:
        return _RESULT_EMPTY
    why = refusal(text)
    if why is not None:
        return Parsed(None, None, why)
    return _slow(_plain(text))[0]


_UNUSUAL_MEMO = 50_000
_unusual: dict[str, Parsed] = {}


def _slow_memo(text: str) -> Parsed:
    """The slow path (rule included) for texts the fast path does not take, remembered."""
    result = _unusual.get(text)
    if result is None:
        result = normalise_slow(text)
        if len(_unusual) < _UNUSUAL_MEMO:  # a file of distinct oddities must not grow memory
            _unusual[text] = result
    return result


def _slow(raw: str | None) -> tuple[Parsed, str | None]:
    """The verdict and, for a valid number, its national significant number."""
    text = (raw or "").strip()
    if not text:
        return _RESULT_EMPTY, None
    try:
        number = phonenumbers.parse(text, REGION)
    except NumberParseException:
        return _RESULTS[INVALID], None
    if number.country_code != COUNTRY_CODE:
        return _RESULTS[FOREIGN], None
    if not phonenumbers.is_valid_number(number):
        return _RESULTS[INVALID], None
    kind = phonenumbers.number_type(number)
    if kind not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return _RESULTS[NOT_MOBILE], None
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    operator = operator_code(carrier.name_for_number(number, "en"))
    return Parsed(e164, operator, None), phonenumbers.national_significant_number(number)


def normalise(raw: str | None) -> Parsed:
    """Normalise a number as written by a person to E.164; same answers as `normalise_slow`."""
    if raw is None:
        return _RESULT_EMPTY
    text = raw.strip()
    if not text:
        return _RESULT_EMPTY
    if len(text) > _MAX_INPUT:
        return _slow_memo(text)
    digits = text.translate(_SEPARATORS)
    if digits[:1] == "+":
        digits = digits[1:]
        # The fast path takes '+' only as the first character or after '(' and spaces.
        if not digits.startswith("84") or text[:text.index("+")].strip("( "):
            return _slow_memo(text)
        rest = digits[2:]
    elif digits.startswith("0084"):
        rest = digits[4:]
    elif digits.startswith("00"):
        return _slow_memo(text)
    elif digits[:1] == "0":
        rest = digits[1:]
    elif digits.startswith("84"):
        rest = digits[2:]
    else:
        rest = digits
    if len(rest) == 9 and rest.isascii() and rest.isdigit():  # only digits and separators
        operator = MOBILE_PREFIXES.get(rest[:3]) or MOBILE_PREFIXES.get(rest[:4])
        if operator is not None:
            return Parsed("+84" + rest, operator, None)
    elif len(rest) == 10 and rest[:3] in LANDLINE_PREFIXES and rest.isascii() and rest.isdigit():
        return _RESULTS[NOT_MOBILE]
    return _slow_memo(text)


_DIGITS_ONLY = re.compile(r"\D+")


def search_digits(text: str) -> str:
    """The digits of a partial number as stored after +84 ('0912 34' -> '91234'), for searching."""
    digits = _DIGITS_ONLY.sub("", text)
    if digits.startswith("84") and len(digits) > 9:
        digits = digits[2:]
    return digits.lstrip("0")


def display(number: str | None) -> str:
    """A stored number as a person reads it: +84912345678 → "0912 345 678".

    Vietnamese numbers are written nationally (0 and the national number, grouped 4-3-3, a
    10-digit national landline 4-4-3); any other number keeps its international form, grouped
    by phonenumbers; text that is not a number (an app installation id) is returned as it is.
    """
    if not number:
        return ""
    if number.startswith("+84") and number[3:].isascii() and number[3:].isdigit():
        national = "0" + number[3:]
        if len(national) == 10:
            return f"{national[:4]} {national[4:7]} {national[7:]}"
        if len(national) == 11:
            return f"{national[:4]} {national[4:8]} {national[8:]}"
        return national
    if number.startswith("+") and number[1:].isascii() and number[1:].isdigit():
        try:
            parsed = phonenumbers.parse(number, None)
        except NumberParseException:
            return number
        return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
    return number
