"""Choose the encoding of an SMS text, count its parts and cut it into those parts.

GSM-7 when every character is in the GSM 03.38 alphabet (extension characters cost 2 septets),
UCS-2 otherwise (UTF-16-BE, so an astral character such as an emoji costs 2 code units).
A text that fits one part gets 160 septets / 70 units; a longer one is concatenated with a UDH and
each part gets 153 / 67.

A character is never cut: an escape pair and a surrogate pair are one character here, so they
are never split across parts. Because of that, the part count is the greedy count (fill each
part as far as it goes), which can exceed ceil(units / per_part) by one when a 2-unit character
does not fit the last free unit of a part; `analyse` and `split` both use it, so the count the
preview promises is always the count that is sent.

The empty text is 1 part of 0 units, as phones show it (and as an SMSC would bill it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateways.sms import gsm7
from gateways.sms.plain import strip_diacritics

Encoding = Literal["gsm7", "ucs2"]

DATA_CODING_GSM7 = 0x00  # SMSC default alphabet, GSM 03.38
DATA_CODING_UCS2 = 0x08
DATA_CODING: dict[str, int] = {"gsm7": DATA_CODING_GSM7, "ucs2": DATA_CODING_UCS2}

# (units in a single part, units in each part of a concatenated message)
LIMITS: dict[str, tuple[int, int]] = {"gsm7": (160, 153), "ucs2": (70, 67)}

__all__ = [
    "DATA_CODING",
    "DATA_CODING_GSM7",
    "DATA_CODING_UCS2",
    "LIMITS",
    "Encoding",
    "SmsAnalysis",
    "SmsParts",
    "analyse",
    "decode",
    "decode_gsm7",
    "decode_ucs2",
    "encode",
    "encode_gsm7",
    "encode_ucs2",
    "split",
    "strip_diacritics",
    "units_of",
]

NotEncodable = gsm7.NotEncodable


@dataclass(frozen=True)
class SmsAnalysis:
    """What a text costs: its encoding, size and parts."""

    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    parts: int
    per_part: int  # 160/70 for a single part, 153/67 when concatenated
    remaining: int  # units that can still be added before another part is needed
    forcing_char: str | None  # the first character that forced UCS-2
    forcing_index: int | None  # its index in the text, in characters (code points)

    @property
    def data_coding(self) -> int:
        return DATA_CODING[self.encoding]


@dataclass(frozen=True)
class SmsParts:
    """A text cut into the parts that are sent, in order."""

    encoding: Encoding
    texts: tuple[str, ...]

    @property
    def data_coding(self) -> int:
        return DATA_CODING[self.encoding]

    def __len__(self) -> int:
        return len(self.texts)

    def payloads(self) -> tuple[bytes, ...]:
        """Each part encoded for short_message (without UDH)."""
        return tuple(encode(text, self.encoding) for text in self.texts)


def encode_gsm7(text: str) -> bytes:
    """Unpacked GSM-7 septets, one per octet; raises NotEncodable for a non-GSM character."""
    return gsm7.encode(text)


def decode_gsm7(data: bytes) -> str:
    return gsm7.decode(data)


def encode_ucs2(text: str) -> bytes:
    """UTF-16-BE; astral characters become surrogate pairs."""
    return text.encode("utf-16-be", "surrogatepass")


def decode_ucs2(data: bytes) -> str:
    return data.decode("utf-16-be", "surrogatepass")


def encode(text: str, encoding: Encoding) -> bytes:
    return encode_gsm7(text) if encoding == "gsm7" else encode_ucs2(text)


def decode(data: bytes, data_coding: int) -> str:
    """Text of a short_message by its data_coding (0x00 GSM-7, 0x08 UCS-2)."""
    if data_coding == DATA_CODING_GSM7:
        return decode_gsm7(data)
    if data_coding == DATA_CODING_UCS2:
        return decode_ucs2(data)
    raise ValueError(f"unsupported data_coding 0x{data_coding:02X}")


def _unit_weights(text: str, encoding: Encoding) -> list[int]:
    if encoding == "gsm7":
        return [gsm7.septets(char) for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def units_of(text: str, encoding: Encoding) -> int:
    """Size of `text` in `encoding`: septets or UTF-16 code units."""
    return sum(_unit_weights(text, encoding))


def _choose(text: str) -> tuple[Encoding, int | None]:
    index = gsm7.first_unencodable(text)
    return ("gsm7", None) if index is None else ("ucs2", index)


def _reach(weights: list[int], budget: int) -> list[int]:
    """For each start i, the furthest end e such that characters i..e-1 fit `budget`."""
    n = len(weights)
    reach = [n] * (n + 1)
    end, used = 0, 0
    for start in range(n):
        if end < start:
            end, used = start, 0
        while end < n and used + weights[end] <= budget:
            used += weights[end]
            end += 1
        reach[start] = end
        if end > start:
            used -= weights[start]
    return reach


def analyse(text: str) -> SmsAnalysis:
    """Encoding, size, parts and room left of `text` as it would be sent."""
    encoding, forcing_index = _choose(text)
    forcing_char = None if forcing_index is None else text[forcing_index]
    weights: list[int] | None = None
    if encoding == "ucs2":  # counted in C: an expansion analyses every recipient's own text
        units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    else:
        weights = _unit_weights(text, encoding)
        units = sum(weights)
    single, multi = LIMITS[encoding]
    if units <= single:
        return SmsAnalysis(encoding, units, 1, single, single - units, forcing_char, forcing_index)
    if units == len(text):
        # Every character one unit: the greedy fill below cuts every `multi` units.
        parts = -(-units // multi)
        last = units - (parts - 1) * multi
        return SmsAnalysis(encoding, units, parts, multi, multi - last, forcing_char,
                           forcing_index)
    if weights is None:
        weights = _unit_weights(text, encoding)
    reach = _reach(weights, multi)
    parts, start, last = 0, 0, 0
    while start < len(text):
        end = reach[start]
        last = sum(weights[start:end])
        parts, start = parts + 1, end
    return SmsAnalysis(encoding, units, parts, multi, multi - last, forcing_char, forcing_index)


def _boundary(text: str, cut: int) -> bool:
    """Whether cutting before index `cut` keeps words whole (whitespace on either side)."""
    return text[cut - 1].isspace() or (cut < len(text) and text[cut].isspace())


def split(text: str) -> SmsParts:
    """Cut `text` into exactly `analyse(text).parts` parts, at word boundaries where possible.

    Each cut is the latest whitespace within the part's budget that still lets the rest fit in
    the parts left; where there is none, the part is filled as far as it goes.
    """
    encoding, _ = _choose(text)
    weights = _unit_weights(text, encoding)
    single, multi = LIMITS[encoding]
    if sum(weights) <= single:
        return SmsParts(encoding, (text,))
    n = len(text)
    reach = _reach(weights, multi)
    # needed[i]: fewest parts for text[i:]; filling greedily is optimal for contiguous parts.
    needed = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        needed[i] = 1 + needed[reach[i]]
    total = needed[0]
    texts: list[str] = []
    start = 0
    for index in range(total - 1):
        left = total - index - 1  # parts still to fill after this one
        cut = reach[start]
        # `needed` never rises with the position, so candidates end where it exceeds `left`.
        candidate = cut
        while candidate > start and needed[candidate] <= left:
            if _boundary(text, candidate):
                cut = candidate
                break
            candidate -= 1
        texts.append(text[start:cut])
        start = cut
    texts.append(text[start:])
    return SmsParts(encoding, tuple(texts))
