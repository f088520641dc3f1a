"""Reading an answer that forgives: case, diacritics, spaces and punctuation do not matter.

"1", " 1.", "một", "Đồng ý", "dong y" all find their choice; anything else is free text.
"""

from __future__ import annotations

import re
from typing import Any

from dispatch.sms.inbound import fold_keyword

_NOT_WORD = re.compile(r"[^\w]+")
# Numbers people write out instead of the digit ("mot" is "một" folded).
_NUMBER_WORDS = {"mot": "1", "hai": "2", "ba": "3", "bon": "4", "nam": "5", "sau": "6",
                 "bay": "7", "tam": "8", "chin": "9", "muoi": "10"}


def fold(text: str) -> str:
    """'  Đồng ý!! ' → 'dong y': lower case, no diacritics, punctuation as spaces."""
    return " ".join(_NOT_WORD.sub(" ", fold_keyword(text).replace("_", " ")).split())


def choice_index(survey: dict[str, Any]) -> dict[str, str]:
    """Every folded form a choice is answered with → the choice's key."""
    index: dict[str, str] = {}
    for choice in survey.get("choices") or []:
        key = str(choice.get("key", ""))
        for form in (key, choice.get("label") or "", *(choice.get("keywords") or [])):
            folded = fold(str(form))
            if folded:
                index.setdefault(folded, key)
    return index


def match(text: str, index: dict[str, str]) -> str | None:
    """The key of the choice `text` answers, or None (free text)."""
    return match_folded(fold(text), index)


def match_folded(folded: str, index: dict[str, str]) -> str | None:
    """`match` for a text already folded (`fold`)."""
    if not folded:
        return None
    found = index.get(folded)
    if found is None and folded in _NUMBER_WORDS:
        found = index.get(_NUMBER_WORDS[folded])
    return found
