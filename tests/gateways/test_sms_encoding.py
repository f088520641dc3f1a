"""GSM-7 / UCS-2 encoding, part counts and splitting: exact figures and properties."""

from __future__ import annotations

import math
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateways.sms import gsm7
from gateways.sms.encoding import (
    DATA_CODING_GSM7,
    DATA_CODING_UCS2,
    LIMITS,
    NotEncodable,
    analyse,
    decode,
    decode_gsm7,
    decode_ucs2,
    encode_gsm7,
    encode_ucs2,
    split,
    strip_diacritics,
)

VIETNAMESE = (
    "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
)
VIETNAMESE += VIETNAMESE.upper()
GSM_BASIC = "".join(ch for ch in gsm7.BASIC if ch != "\x1b")
GSM_EXTENSION = "".join(gsm7.EXTENSION)
ASTRAL = "😀🎉🇻🇳𝐀𠀀"
PUNCTUATION = "“”‘’–—…\u00a0₫"

NOTICE = (
    "Kính gửi quý vị: Đại hội đại biểu Đảng bộ tỉnh Hậu Giang lần thứ XIV, nhiệm kỳ 2025–2030 "
    "khai mạc lúc 8 giờ sáng thứ Hai tại Hội trường tỉnh, số 1 đường Trần Hưng Đạo, phường 5, "
    "thành phố Vị Thanh. Đề nghị người dân theo dõi tin tức trên ứng dụng của tỉnh và hạn chế "
    "lưu thông qua khu vực trung tâm từ 6 giờ đến 12 giờ. Trân trọng cảm ơn!"
)


def mixed_text(max_size: int = 700) -> st.SearchStrategy[str]:
    """Texts that mix every kind of character the splitter must handle, many of several parts."""
    alphabet = GSM_BASIC + GSM_EXTENSION * 3 + VIETNAMESE + ASTRAL + PUNCTUATION + "  \n"

    def sized(chars: str | None) -> st.SearchStrategy[str]:
        if chars is None:
            return st.integers(0, max_size).flatmap(lambda n: st.text(min_size=n, max_size=n))
        return st.integers(0, max_size).flatmap(
            lambda n: st.text(alphabet=chars, min_size=n, max_size=n))

    def words(chars: str) -> st.SearchStrategy[str]:
        word = st.text(alphabet=chars, min_size=1, max_size=12)
        return st.lists(word, max_size=120).map(" ".join)

    return st.one_of(
        sized(GSM_BASIC + GSM_EXTENSION + "   "),
        sized(alphabet),
        sized(VIETNAMESE + ASTRAL + "  "),
        sized(None),
        words(GSM_BASIC.replace(" ", "") + GSM_EXTENSION),
        words(VIETNAMESE + ASTRAL + GSM_EXTENSION),
    )


def budget(text: str) -> int:
    result = analyse(text)
    return LIMITS[result.encoding][0 if result.parts == 1 else 1]


# --- exact figures -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "encoding", "units", "parts", "per_part", "remaining"), [
    ("", "gsm7", 0, 1, 160, 160),
    ("a" * 160, "gsm7", 160, 1, 160, 0),
    ("a" * 161, "gsm7", 161, 2, 153, 145),
    ("a" * 306, "gsm7", 306, 2, 153, 0),
    ("a" * 307, "gsm7", 307, 3, 153, 152),
    ("ư" * 70, "ucs2", 70, 1, 70, 0),
    ("ư" * 71, "ucs2", 71, 2, 67, 63),
    ("ư" * 134, "ucs2", 134, 2, 67, 0),
    ("ư" * 135, "ucs2", 135, 3, 67, 66),
    ("€" * 80, "gsm7", 160, 1, 160, 0),
    ("{" * 81, "gsm7", 162, 2, 153, 143),
    ("Giá 10€ {ưu đãi}", "ucs2", 16, 1, 70, 54),  # UCS-2: € and { are single units
    ("Gia 10€ {uu dai}", "gsm7", 19, 1, 160, 141),
    ("😀" * 35, "ucs2", 70, 1, 70, 0),
])
def test_exact_figures(text, encoding, units, parts, per_part, remaining):
    result = analyse(text)
    assert (result.encoding, result.units, result.parts, result.per_part, result.remaining) == (
        encoding, units, parts, per_part, remaining)
    assert len(split(text)) == parts


def test_extension_characters_cost_two_septets_each():
    for char in "^{}\\[~]|€\f":
        assert analyse("a" + char).units == 3, char
    assert analyse("[x]").units == 5


def test_escape_pair_that_would_straddle_a_part_moves_whole_to_the_next():
    # 152 plain septets, then '€' (2): the pair cannot fit in the 1 septet left of part one.
    text = "a" * 152 + "€" + "b" * 10
    result = analyse(text)
    assert (result.units, result.parts) == (164, 2)
    first, second = split(text).texts
    assert first == "a" * 152 and second == "€" + "b" * 10


def test_greedy_count_can_exceed_the_division_when_pairs_straddle():
    # 2 parts of 153 would hold 306 septets, but 153 two-septet characters never fill an odd budget.
    text = "{" * 153
    assert analyse(text).units == 306
    assert analyse(text).parts == 3 == len(split(text))


def test_first_character_forcing_ucs2_is_named():
    result = analyse("Kính gửi quý vị")
    assert result.encoding == "ucs2" and result.data_coding == DATA_CODING_UCS2
    assert (result.forcing_char, result.forcing_index) == ("í", 1)
    assert analyse("Xin chào").forcing_char is None  # à is in the GSM alphabet
    assert analyse("Hello 😀").forcing_index == 6


def test_codecs_produce_the_bytes_smscs_expect():
    assert encode_gsm7("@£€{a") == b"\x00\x01\x1b\x65\x1b\x28a"
    assert decode_gsm7(b"\x00\x01\x1b\x65\x1b\x28a") == "@£€{a"
    assert encode_ucs2("Kí😀") == b"\x00K\x00\xed\xd8\x3d\xde\x00"
    assert decode_ucs2(b"\x00K\x00\xed\xd8\x3d\xde\x00") == "Kí😀"
    assert decode(b"\x1b\x3c", DATA_CODING_GSM7) == "["
    assert decode(b"\x00\xe0", DATA_CODING_UCS2) == "à"
    with pytest.raises(NotEncodable) as err:
        encode_gsm7("ab ư")
    assert err.value.index == 3 and err.value.char == "ư"
    with pytest.raises(ValueError):
        decode_gsm7(b"\x80")
    with pytest.raises(ValueError):
        decode(b"x", 0x04)


def test_gsm_decoder_is_lenient_where_phones_are():
    assert decode_gsm7(b"\x1b\x41") == "A"  # unknown escape: the basic character
    assert decode_gsm7(b"ab\x1b") == "ab"  # trailing lone escape


def test_split_prefers_word_boundaries():
    words = ("Thông báo lịch cúp điện khu vực phường Năm thành phố Vị Thanh " * 6).strip()
    parts = split(words)
    assert len(parts) == analyse(words).parts == 6
    for part, following in zip(parts.texts, parts.texts[1:], strict=False):
        assert part.endswith(" ") or following.startswith(" "), part
    assert "".join(parts.texts) == words


def test_word_boundary_never_costs_an_extra_part():
    # Exactly two full parts of 153: the only cut that keeps 2 parts is mid-word.
    text = "a " + "b" * 304
    assert analyse(text).parts == 2
    parts = split(text)
    assert len(parts) == 2 and [len(p) for p in parts.texts] == [153, 153]


def test_single_part_is_never_cut():
    text = "word " * 32  # 160 septets
    assert split(text).texts == (text,)


def test_stripped_notice_is_gsm7_and_needs_fewer_parts():
    original, plain = analyse(NOTICE), analyse(strip_diacritics(NOTICE))
    assert (original.encoding, original.units, original.parts) == ("ucs2", 338, 6)
    assert (plain.encoding, plain.units, plain.parts) == ("gsm7", 338, 3)
    assert strip_diacritics(NOTICE).startswith("Kinh gui quy vi: Dai hoi dai bieu Dang bo tinh")


def test_strip_diacritics_maps_vietnamese_and_punctuation():
    assert strip_diacritics("ĂÂÊÔƠƯĐ ăâêôơưđ") == "AAEOOUD aaeooud"
    assert strip_diacritics("Người dân “Hậu Giang” – 50.000₫…") == (
        'Nguoi dan "Hau Giang" - 50.000d...')
    assert strip_diacritics("a\u00a0b\tc") == "a b c"
    decomposed = unicodedata.normalize("NFD", "Phụng Hiệp, Ngã Bảy")
    assert strip_diacritics(decomposed) == "Phung Hiep, Nga Bay"


def test_strip_diacritics_keeps_what_it_cannot_map():
    text = "Chúc mừng 🎉 Ωμέγα"
    plain = strip_diacritics(text)
    assert plain == "Chuc mung 🎉 Ωμέγα"
    result = analyse(plain)
    assert result.encoding == "ucs2" and result.forcing_char == "🎉"


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(mixed_text())
def test_split_round_trips_and_keeps_the_promised_count(text):
    result = analyse(text)
    parts = split(text)
    assert len(parts) == result.parts
    assert parts.encoding == result.encoding
    assert "".join(parts.texts) == text
    limit = budget(text)
    decoded = []
    for payload in parts.payloads():
        size = len(payload) if parts.encoding == "gsm7" else len(payload) // 2
        assert size <= limit
        # Each part decodes on its own: no escape or surrogate pair was cut.
        decoded.append(decode(payload, parts.data_coding))
        if parts.encoding == "gsm7":
            assert not payload.endswith(b"\x1b")  # no extension code is 0x1B
        else:
            units = [int.from_bytes(payload[i:i + 2], "big") for i in range(0, len(payload), 2)]
            if units:
                assert not 0xDC00 <= units[0] <= 0xDFFF
                assert not 0xD800 <= units[-1] <= 0xDBFF
    assert decoded == list(parts.texts)
    assert "".join(decoded) == text


@settings(max_examples=200, deadline=None)
@given(mixed_text())
def test_part_count_is_the_minimum(text):
    """Compare with an independent dynamic programme over every possible cut."""
    result = analyse(text)
    if result.units <= LIMITS[result.encoding][0]:
        assert result.parts == 1
        return
    limit = LIMITS[result.encoding][1]
    unit = [2 if (ch in gsm7.EXTENSION if result.encoding == "gsm7" else ord(ch) > 0xFFFF) else 1
            for ch in text]
    best = [0] + [math.inf] * len(text)
    for end in range(1, len(text) + 1):
        size = 0
        for start in range(end - 1, -1, -1):
            size += unit[start]
            if size > limit:
                break
            best[end] = min(best[end], best[start] + 1)
    assert result.parts == best[-1]
    assert result.parts >= math.ceil(result.units / limit)


@settings(max_examples=200, deadline=None)
@given(mixed_text(), st.sampled_from(["a", " "]))
def test_remaining_is_the_room_before_another_part(text, filler):
    result = analyse(text)
    assert analyse(text + filler * result.remaining).parts == result.parts
    assert analyse(text + filler * (result.remaining + 1)).parts == result.parts + 1


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=VIETNAMESE + PUNCTUATION + " \n.,;:!?()-0123456789", max_size=400))
def test_stripped_vietnamese_is_always_gsm7(text):
    plain = strip_diacritics(text)
    assert analyse(plain).encoding == "gsm7"
    assert analyse(plain).parts <= analyse(text).parts
    assert strip_diacritics(plain) == plain
    nfd = unicodedata.normalize("NFD", text)
    assert strip_diacritics(nfd) == plain
