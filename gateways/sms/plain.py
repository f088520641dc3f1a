"""The Vietnamese "không dấu" variant of a text: no tone or vowel marks, GSM-friendly punctuation.

Brandname SMS are commonly sent this way: one diacritic forces UCS-2 (70/67 characters a part)
where plain text fits GSM-7 (160/153).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Letters that carry their mark in the glyph itself, so Unicode does not decompose them.
_LETTERS = {
    "đ": "d",
    "Đ": "D",
    "Ð": "D",  # Icelandic eth, a common stand-in for Đ left by old Vietnamese encodings
}

_PUNCTUATION = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u2039": "'", "\u203a": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u2022": "-", "\u00b7": ".",
    "\u2026": "...",
    "\t": " ", "\u00a0": " ", "\u202f": " ", "\u205f": " ", "\u3000": " ",
    "\u2028": "\n", "\u2029": "\n",
    # Invisible characters that would force UCS-2 for nothing.
    "\u200b": "", "\ufeff": "", "\u00ad": "",
    "\u00d7": "x",
    "\u20ab": "d",  # the đồng sign: "50.000₫" is written "50.000d" without diacritics
}
_PUNCTUATION.update({chr(code): " " for code in range(0x2000, 0x200B)})  # en quad … hair space


def _is_ascii_letter(char: str) -> bool:
    return ("a" <= char <= "z") or ("A" <= char <= "Z")


@lru_cache(maxsize=4096)
def _plain_char(char: str) -> str | None:
    """The replacement for one precomposed character, None to keep it."""
    if char in _LETTERS:
        return _LETTERS[char]
    if char in _PUNCTUATION:
        return _PUNCTUATION[char]
    if char.isascii():
        return None
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    if marks and _is_ascii_letter(base) and all(unicodedata.combining(m) for m in marks):
        return base
    return None


def strip_diacritics(text: str) -> str:
    """Text with marks removed from Latin letters and common punctuation mapped to GSM-7.

    Handles precomposed (NFC) and decomposed (NFD) input. Characters it cannot map (Greek,
    Cyrillic, emoji…) are kept unchanged, so the analysis still names them.
    """
    out: list[str] = []
    last_was_latin = False
    for char in text:
        if last_was_latin and unicodedata.combining(char):
            continue  # a separate combining mark on a letter already stripped
        replacement = _plain_char(char)
        out.append(char if replacement is None else replacement)
        last_was_latin = _is_ascii_letter(out[-1][-1:]) if out[-1] else False
    return "".join(out)
