"""The CSV reader alone: whatever the text, every line is a row of its own, numbered as written."""

from __future__ import annotations

import io
import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.audiences.columns import fold, fold_name
from dispatch.audiences.readers import BrokenRow, CsvSource, open_source

LINE_BREAK = re.compile(r"\r\n|\r|\n")
CSVISH = st.text(alphabet=st.sampled_from(['0', '9', 'a', 'ấ', ',', ';', '"', '"', ' ', '\n',
                                           '\r', '\t']), min_size=1, max_size=80)


@settings(max_examples=1500, deadline=None)
@given(CSVISH)
def test_every_line_is_one_row_with_its_own_number(text):
    """Stray quotes, any line ending: no line is swallowed into another row, none is lost."""
    data = ("phone,name\n" + text).encode("utf-8")
    source = open_source(io.BytesIO(data), "x.csv")
    assert isinstance(source, CsvSource)
    parts = LINE_BREAK.split("phone,name\n" + text)
    lines = len(parts) - (parts[-1] == "")  # a final line break ends a line, starts none
    numbers = [line for line, _ in source.rows()]
    assert numbers == list(range(2, lines + 1)), (text, numbers)


def test_a_broken_row_carries_the_line_as_written():
    source = open_source(io.BytesIO(b'phone;name\r\n0912;"Nguy\xe1\xbb\x85n\r\n0913;x\r\n'),
                         "x.csv")
    rows = list(source.rows())
    assert isinstance(rows[0][1], BrokenRow) and rows[0][1].text == '0912;"Nguyễn'
    assert rows[1] == (3, ["0913", "x"])


NAMES = st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"),
                                       exclude_characters='",;\t'), max_size=30)


@settings(max_examples=500, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=5), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_every_cell_leaves_the_reader_in_nfc(names, codec):
    text = "phone,name\n" + "".join(f"0912345678,{unicodedata.normalize('NFD', n)}\n"
                                    for n in names)
    source = open_source(io.BytesIO(text.encode(codec)), "x.csv")
    rows = list(source.rows())
    assert [cells[1] for _, cells in rows] == [unicodedata.normalize("NFC", n) for n in names]


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=40))
def test_folding_a_name_word_by_word_is_folding_it_whole(text):
    assert fold_name(text) == fold(text)
    assert fold_name(text) == fold_name(text)  # and again, from the memo
