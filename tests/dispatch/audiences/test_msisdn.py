"""Number normalisation: every written form, every reason, and the fast path proven exact."""

from __future__ import annotations

import multiprocessing
import os
import random
import unicodedata
from concurrent.futures import ProcessPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers.carrierdata import CARRIER_DATA

from dispatch.audiences import msisdn
from dispatch.audiences.msisdn import (
    BAD_CHARACTER,
    EMPTY,
    FOREIGN,
    INVALID,
    LETTERS,
    NOT_MOBILE,
    normalise,
    normalise_slow,
    operator_code,
    parse_operator,
)
from dispatch.models import OPERATORS

FORMS_OF_ONE_NUMBER = [
    "0912345678", "0912 345 678", "0912.345.678", "0912-345-678", "(091) 234-5678",
    "84912345678", "84 912 345 678", "+84912345678", "+84 912 345 678", "+84 (0) 912 345 678",
    "+84-912-345-678", "0084912345678", "0084 912 345 678", "912345678", "  0912345678\t",
    "(+84) 912.345.678", "( +84 ) 912 345 678", "0912\u00a0345\u00a0678", "0912\u202f345\u2009678",
    "0912\u200b345678", "\ufeff0912345678", "0912\t345\t678",
]


@pytest.mark.parametrize("raw", FORMS_OF_ONE_NUMBER)
def test_every_written_form_gives_e164(raw):
    assert normalise(raw) == (("+84912345678", "vinaphone", None))
    assert normalise_slow(raw) == normalise(raw)


@pytest.mark.parametrize(("raw", "reason"), [
    ("", EMPTY), ("   ", EMPTY), (None, EMPTY),
    ("12345", INVALID), ("0912 345", INVALID), ("0912345678901", INVALID),
    ("0894 123 456", INVALID),  # 089 is only 0896-0899
    ("0292 3812 345", NOT_MOBILE),  # a Cần Thơ landline
    ("0293 3876 543", NOT_MOBILE),  # a Hậu Giang landline
    ("1900 1234", NOT_MOBILE), ("1800 1234", NOT_MOBILE),
    ("+1 202 555 0143", FOREIGN), ("+44 7911 123456", FOREIGN), ("0033 6 12 34 56 78", FOREIGN),
])
def test_reasons(raw, reason):
    assert normalise(raw) == (None, None, reason)
    assert normalise_slow(raw) == normalise(raw)


@pytest.mark.parametrize(("raw", "operator"), [
    ("0961234567", "viettel"), ("0321234567", "viettel"), ("0861234567", "viettel"),
    ("0912345678", "vinaphone"), ("0881234567", "vinaphone"),
    ("0901234567", "mobifone"), ("0701234567", "mobifone"), ("0898123456", "mobifone"),
    ("0921234567", "vietnamobile"), ("0561234567", "vietnamobile"),
    ("0993123456", "gmobile"), ("0591234567", "gmobile"),
    ("0998123456", "itelecom"), ("0999123456", "itelecom"),
    ("0559123456", "other"),  # "Reddi" in phonenumbers' data
])
def test_original_operator(raw, operator):
    assert normalise(raw).operator == operator


def test_every_vietnamese_carrier_name_maps_to_an_operator():
    names = {d["en"] for k, d in CARRIER_DATA.items() if k.startswith("84") and "en" in d}
    mapped = {name: operator_code(name) for name in names}
    assert mapped["Indochina Telecom"] == "itelecom" and mapped["G-Mobile"] == "gmobile"
    assert {v for k, v in mapped.items() if k != "Reddi"} == set(OPERATORS) - {"other"}
    assert all(v in OPERATORS for v in mapped.values())


def test_operator_typed_by_a_person():
    assert parse_operator("Viettel") == "viettel"
    assert parse_operator("VinaPhone") == "vinaphone"
    assert parse_operator("G-Mobile") == "gmobile"
    assert parse_operator("itel") == "itelecom"
    assert parse_operator("vinafone") is None


def test_search_digits():
    assert msisdn.search_digits("0912 34") == "91234"
    assert msisdn.search_digits("+84 912 345 678") == "912345678"
    assert msisdn.search_digits("8496") == "8496"


FORMS = ("", "0", "84", "+84", "0084")
SEPARATED = (" ", ".", "-")
LENGTHS = (8, 9, 10)  # digits after the written prefix: mobiles, landlines, old or mistyped


def _check_prefixes(args: tuple[int, int, int]) -> tuple[int, list[str]]:
    """Compare fast and slow on every (form, 4-digit prefix, length) for prefixes in a range."""
    start, stop, seed = args
    rng = random.Random(seed)
    checked, wrong = 0, []
    for value in range(start, stop):
        prefix = str(value).zfill(4)
        for form in FORMS:
            for size in LENGTHS:
                for attempt in range(2):
                    tail = "".join(rng.choice("0123456789") for _ in range(size - 4))
                    text = form + prefix + tail
                    if attempt == 1:  # separators must not change the answer either
                        cut = rng.randrange(1, len(text))
                        text = text[:cut] + rng.choice(SEPARATED) + text[cut:]
                    checked += 1
                    if normalise(text) != normalise_slow(text):
                        wrong.append(text)
    return checked, wrong[:20]


def test_fast_path_equals_slow_path_on_every_prefix():
    """Exhaustive over every first-4-digits prefix x every form x every length: the prefix
    tables answer exactly what phonenumbers answers (the mobile pattern and the carrier data
    look at most 4 digits deep)."""
    total = 10**4
    workers = max(1, min(4, os.cpu_count() or 1))
    step = -(-total // (workers * 4))
    chunks = [(start, min(start + step, total), start) for start in range(0, total, step)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = list(pool.map(_check_prefixes, chunks))
    checked = sum(c for c, _ in results)
    wrong = [w for _, ws in results for w in ws]
    assert checked == total * len(FORMS) * len(LENGTHS) * 2
    assert wrong == []


def test_the_prefix_tables_hold_every_mobile_and_landline_range():
    """The fast path takes every valid mobile and every landline, not just some."""
    for value in range(1000, 10_000):
        prefix = str(value)
        mobile = normalise_slow(f"0{prefix}12345")
        table = msisdn.MOBILE_PREFIXES.get(prefix[:3]) or msisdn.MOBILE_PREFIXES.get(prefix)
        assert (mobile.operator if mobile.ok else None) == table, prefix
        landline = normalise_slow(f"0{prefix}123456")
        if prefix.startswith("2"):
            assert (landline.error == NOT_MOBILE) == (prefix[:3] in msisdn.LANDLINE_PREFIXES)
    msisdn._unusual.clear()
    assert normalise("0912 345 678").ok and normalise("0292 3812 345").error == NOT_MOBILE
    assert msisdn._unusual == {}  # both answered from the tables


NUMBERISH = st.text(alphabet="0123456789 +.-()", max_size=22)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(NUMBERISH, st.sampled_from(["", "0", "84", "+84", "0084", "00"]).flatmap(
    lambda form: NUMBERISH.map(lambda rest: form + rest))))
def test_fast_path_equals_slow_path_on_any_text(text):
    assert normalise(text) == normalise_slow(text)


@pytest.mark.parametrize(("raw", "reason"), [
    ("0912abc345", LETTERS),  # phonenumbers alone reads this as +84912222345
    ("abc", LETTERS), ("0912 345 678 ext 12", LETTERS), ("Nguyễn Văn An", LETTERS),
    ("0912345678x", LETTERS), ("O912345678", LETTERS),  # a capital o for the zero
    ("09123456７8", f"{BAD_CHARACTER}: '７'"),  # a full-width digit is not read as 7
    ("0912#345678", f"{BAD_CHARACTER}: '#'"), ("0912/345/678", f"{BAD_CHARACTER}: '/'"),
    ("+84+912345678", f"{BAD_CHARACTER}: '+'"), ("0912 345 678+", f"{BAD_CHARACTER}: '+'"),
    ("0-+84912345678", f"{BAD_CHARACTER}: '+'"),
    ("0912\u00ad345678", f"{BAD_CHARACTER}: U+00AD"),  # a soft hyphen is invisible: its code
    ("0912*345# abc", LETTERS),  # a letter anywhere is the reason, whatever else is there
])
def test_a_cell_with_letters_or_other_characters_is_refused_never_repaired(raw, reason):
    assert normalise(raw) == (None, None, reason)
    assert normalise_slow(raw) == normalise(raw)


ALLOWED_MARKS = " .-()+\u00a0\t"
CELLISH = st.text(alphabet=st.one_of(st.sampled_from("0123456789" + ALLOWED_MARKS),
                                     st.characters()), max_size=24)


def _cell_digits(text: str) -> str:
    return "".join(ch for ch in text if "0" <= ch <= "9")


@settings(max_examples=3000, deadline=None)
@given(CELLISH, st.characters(categories=("Lu", "Ll", "Lt", "Lm", "Lo")), st.integers(0, 24))
def test_no_text_with_a_letter_is_ever_accepted(text, letter, at):
    with_letter = text[:at] + letter + text[at:]
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        written = unicodedata.normalize(form, with_letter)
        assert not normalise(written).ok and normalise(written) == normalise_slow(written)
        if any(ch.isalpha() for ch in written):  # NFKD may turn a mark letter into a mark
            assert normalise(written).error == LETTERS, written


PREFIXES = ("", "0", "84", "840", "0084", "00840")


@settings(max_examples=3000, deadline=None)
@given(st.one_of(CELLISH, st.sampled_from(["0", "84", "+84", "0084", "(+84) "]).flatmap(
    lambda form: st.text(alphabet="0123456789" + ALLOWED_MARKS, min_size=8, max_size=16).map(
        lambda rest: form + rest))))
def test_an_accepted_number_is_made_only_of_the_cells_digits(text):
    result = normalise(text)
    assert result == normalise_slow(text)
    if not result.ok:
        return
    assert not any(ch.isalpha() for ch in text)
    national = result.msisdn[3:]
    digits = _cell_digits(text)
    assert result.msisdn.startswith("+84") and digits.endswith(national), (text, result)
    assert digits[:len(digits) - len(national)] in PREFIXES, (text, result)


@settings(max_examples=1000, deadline=None)
@given(CELLISH)
def test_nfc_and_nfd_forms_of_a_cell_get_one_answer(text):
    composed, decomposed = (unicodedata.normalize(f, text) for f in ("NFC", "NFD"))
    assert normalise(composed).ok == normalise(decomposed).ok
    if normalise(composed).ok:
        assert normalise(composed) == normalise(decomposed)
