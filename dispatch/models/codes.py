"""How a stored reason is written: a code and its values, `code?name=value&…`.

Pause reasons, push notes (dispatch.campaigns.notes) and import refusals
(dispatch.audiences.refusals) are stored so, and put into words where they are shown
(dispatch.web.labels); the API returns them as they are stored. Text that does not read as one
of the given codes is a person's own words and is shown as written.
"""

from __future__ import annotations

from collections.abc import Set
from urllib.parse import parse_qsl, urlencode


def encode(known: Set[str], code: str, **values: object) -> str:
    """The stored form of `code` (one of `known`) and its values."""
    assert code in known, code
    if not values:
        return code
    return f"{code}?{urlencode({k: str(v) for k, v in values.items()})}"


def decode(known: Set[str], text: str | None) -> tuple[str, dict[str, str]] | None:
    """(code, values) of a stored code among `known`, or None for anything else."""
    if not text:
        return None
    code, _, query = text.partition("?")
    if code not in known or " " in query:
        return None
    return code, dict(parse_qsl(query, keep_blank_values=True))
