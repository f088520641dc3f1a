"""The rules a password someone chooses must meet, and its hashing.

Length alone lets "password1234" through, so a password is also scored by zxcvbn (Dropbox's
estimator, maintained on PyPI): its dictionaries of common passwords, names and words, keyboard
patterns, dates and repeats, with the account's own username and name counted as known words.
A score below 3 of 4 (about 10^8 guesses) is refused, with zxcvbn's reason.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from dispatch.errors import ValidationFailed

MIN_LENGTH = 12
MAX_LENGTH = 200
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching is quadratic); the first 72 characters decide.
SCORED_LENGTH = 72
# Characters that show nothing: whitespace, controls, format marks (zero-width space, joiners,
# direction marks), unassigned and private-use code points.
INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cn", "Co", "Cs"})

TOO_SHORT = "Use at least 12 characters."
TOO_LONG = "Use at most 200 characters."
INVISIBLE_ONLY = "Use visible characters, not only spaces or invisible ones."
HAS_USERNAME = "Do not put your username in your password."
TOO_COMMON = "This password is too easy to guess: use a few uncommon words together."


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def matches(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def check(password: str, *, username: str, others: Iterable[str] = (),
          field: str = "password") -> None:
    """Refuse a password that breaks a rule, naming `field`."""
    text = unicodedata.normalize("NFC", password)
    if len(text) < MIN_LENGTH:
        raise ValidationFailed.field(field, TOO_SHORT)
    if len(text) > MAX_LENGTH:
        raise ValidationFailed.field(field, TOO_LONG)
    if all(unicodedata.category(ch) in INVISIBLE for ch in text):
        raise ValidationFailed.field(field, INVISIBLE_ONLY)
    name = username.strip().casefold()
    if len(name) >= 3 and name in text.casefold():
        raise ValidationFailed.field(field, HAS_USERNAME)
    known = [w for w in (username, *others) if w]
    result = zxcvbn(text[:SCORED_LENGTH], user_inputs=known)
    if result["score"] < MIN_SCORE:
        warning = str(result["feedback"].get("warning") or "")
        raise ValidationFailed(f"{field}: {TOO_COMMON}", errors={
            field: [TOO_COMMON, *([warning] if warning else [])]})
