"""The GSM 03.38 (3GPP TS 23.038) default alphabet and its extension table, unpacked.

SMPP with data_coding 0 carries one septet per octet ("unpacked"), which is what smpplib and most
SMSCs expect; a character of the extension table is sent as the escape 0x1B followed by its code,
so it costs two septets.
"""

from __future__ import annotations

ESCAPE = 0x1B

# Index = septet value. 0x1B is the escape, not a character; it is never produced by `encode`.
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

EXTENSION: dict[str, int] = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

_BASIC_CODE: dict[str, int] = {ch: code for code, ch in enumerate(BASIC) if code != ESCAPE}
_EXTENSION_CHAR: dict[int, str] = {code: ch for ch, code in EXTENSION.items()}

assert len(BASIC) == 128


class NotEncodable(ValueError):
    """A character has no place in the GSM 7-bit alphabet."""

    def __init__(self, char: str, index: int) -> None:
        super().__init__(
            f"{char!r} (U+{ord(char):04X}) at {index} is not in the GSM 7-bit alphabet")
        self.char = char
        self.index = index


def septets(char: str) -> int:
    """Septets `char` costs: 1 in the basic table, 2 in the extension table, 0 if neither."""
    if char in _BASIC_CODE:
        return 1
    if char in EXTENSION:
        return 2
    return 0


def first_unencodable(text: str) -> int | None:
    """Index of the first character of `text` GSM-7 cannot carry, None if it carries them all."""
    for index, char in enumerate(text):
        if char not in _BASIC_CODE and char not in EXTENSION:
            return index
    return None


def encode(text: str) -> bytes:
    """Unpacked septets, one per octet, extension characters as 0x1B + code."""
    out = bytearray()
    for index, char in enumerate(text):
        code = _BASIC_CODE.get(char)
        if code is not None:
            out.append(code)
            continue
        ext = EXTENSION.get(char)
        if ext is None:
            raise NotEncodable(char, index)
        out += bytes((ESCAPE, ext))
    return bytes(out)


def decode(data: bytes) -> str:
    """Text from unpacked septets; an unknown escape shows the basic character, as phones do."""
    chars: list[str] = []
    escaped = False
    for position, octet in enumerate(data):
        if octet > 0x7F:
            raise ValueError(f"octet 0x{octet:02X} at {position} is not a GSM septet")
        if escaped:
            escaped = False
            # TS 23.038: a code missing from the extension table is shown from the basic table.
            chars.append(_EXTENSION_CHAR.get(octet) or ("" if octet == ESCAPE else BASIC[octet]))
        elif octet == ESCAPE:
            escaped = True
        else:
            chars.append(BASIC[octet])
    # A trailing lone escape carries no character.
    return "".join(chars)
