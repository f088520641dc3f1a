"""The field types every request schema uses for text and times.

`Text` is the one way a string enters Loa: stored in NFC (a decomposed "ễ" would count more
UCS-2 units, so more SMS parts, than the preview showed, and would not match the precomposed
form in a search or a uniqueness check), without NUL (PostgreSQL cannot store one), lone
surrogates (no database can) or control characters (line breaks only where a text may span
lines). Lengths are checked on the normalised text, which is what is stored.

`DateTime` and `Date` accept years 2000 to 2100 only: a time outside them is a typo, and
9999-12-31 overflows the moment it is shown in local time (+07:00).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import marshmallow as ma
from flask import current_app, has_app_context

FIRST_YEAR, LAST_YEAR = 2000, 2100
YEARS_MESSAGE = f"Give a date between {FIRST_YEAR} and {LAST_YEAR}."
_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 and C1 controls and DEL; line breaks and tabs are allowed in multi-line texts only.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f]")


def unstorable(value: str) -> str | None:
    """Why no database can store `value` (a NUL, a lone surrogate), or None."""
    if "\x00" in value:
        return "Contains a NUL character."
    if _SURROGATE.search(value):
        return "Contains an invalid character (a lone UTF-16 surrogate)."
    return None


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    problem = unstorable(value)
    if problem:
        return problem
    found = (_CONTROL if multiline else _CONTROL_OR_BREAK).search(value)
    if found:
        what = "a line break" if found.group() in "\r\n" else "a control character"
        return f"Contains {what} (U+{ord(found.group()):04X})."
    return None


def nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


class Text(ma.fields.String):
    """A string stored in NFC, refused with a message if it holds what no text should."""

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        self.multiline = multiline
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text, multiline=self.multiline)
        if problem:
            raise ma.ValidationError(problem)
        return nfc(text)


class Email(Text):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, ma.validate.Email(error="Not a valid email address."))


# A search box's text: a few words (and SQLite refuses LIKE patterns past 50,000 bytes).
SEARCH = ma.validate.Length(max=200)


def link_schemes() -> frozenset[str]:
    """Schemes a push link may use: the web, and the app's own (setting APP_LINK_SCHEMES)."""
    own: Iterable[str] = current_app.config.get("APP_LINK_SCHEMES", ()) \
        if has_app_context() else ()
    return frozenset({"https", "http", *(s.lower() for s in own)})


def check_link(value: str) -> None:
    scheme, sep, rest = value.partition(":")
    if not sep or not rest.strip("/") or scheme.lower() not in link_schemes() \
            or any(ch.isspace() for ch in value):
        allowed = ", ".join(f"{s}:" for s in sorted(link_schemes()))
        raise ma.ValidationError(f"Give a link starting with one of {allowed}")


def _in_years(value: date) -> None:
    # The year as written: the moment itself may be a few hours off in UTC, which is harmless,
    # and comparing a year-9999 time in another zone to a UTC bound would itself overflow.
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ma.ValidationError(YEARS_MESSAGE)


class DateTime(ma.fields.AwareDateTime):
    """An aware date and time with its offset, in years 2000-2100."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, _in_years)


class Date(ma.fields.Date):
    """A calendar date in years 2000-2100."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, _in_years)


def in_years(value: datetime | date) -> bool:
    return FIRST_YEAR <= value.year <= LAST_YEAR
