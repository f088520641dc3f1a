"""What each header cell of an import file means, and which row is the header.

The rule, also in the API docs: the header row names the columns, compared without case,
diacritics, spaces, dashes or underscores. It is the first row, or the first of the first
HEADER_SEARCH_ROWS rows that names a phone column: title rows above it ("DANH SÁCH ĐOÀN VIÊN")
are skipped and listed as warnings.

- phone (required): `phone`, `phone_number`, `msisdn`, `mobile`, `so_dien_thoai` (Số điện thoại),
  `sdt` (SĐT), `so_dt`, `dien_thoai` (Điện thoại), `di_dong` (Di động), `so_di_dong`, `dtdd`;
- name: `name`, `full_name`, `ho_ten` (Họ tên), `ho_va_ten` (Họ và tên), `ten`;
- locality: `locality`, `dia_ban` (Địa bàn), and the administrative words `huyen`, `quan`,
  `thi_xa`, `thanh_pho` (districts), `xa`, `phuong`, `thi_tran` (communes) — the code or the name
  of a locality. A file may have a district and a commune column: a row takes the most specific
  locality found, and a column's word helps read its values ("Long Mỹ" under "Thị xã");
- operator: `operator`, `nha_mang` (Nhà mạng) — overrides the prefix's operator (ported numbers);
- `attr_<key>` or `attr.<key>`: a free attribute `<key>` of the contact;
- a column with an empty header, or the row number (`STT`, `TT`, `Số thứ tự`), is ignored; any
  other column is reported once as an unknown
  column (on the header's line) and its values are ignored, the rest of the file is imported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from dispatch.audiences.readers import BrokenRow, FileRejected, RowSource

HEADER_SEARCH_ROWS = 10
ABOVE_HEADER = "above the header row: not read as a contact"

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "phone_number", "msisdn", "mobile", "so_dien_thoai", "sdt", "so_dt",
              "dien_thoai", "di_dong", "so_di_dong", "dtdd", "so_dtdd", "dt"),
    "name": ("name", "full_name", "ho_ten", "ho_va_ten", "ten"),
    "operator": ("operator", "nha_mang"),
}
# Locality columns, most specific first, with the word their values may leave out.
LOCALITY_ALIASES: dict[str, str | None] = {
    "xa": "xa", "phuong": "phuong", "thi_tran": "thi tran", "xa_phuong": None,
    "phuong_xa": None, "locality": None, "dia_ban": None, "huyen": "huyen", "quan": "quan",
    "thi_xa": "thi xa", "thanh_pho": "thanh pho", "quan_huyen": None, "huyen_thi": None,
}


def _compact(key: str) -> str:
    return key.replace("_", "").replace(".", "")


_FIELD_OF = {_compact(alias): name for name, aliases in FIELD_ALIASES.items()
             for alias in aliases}
_FIELD_OF.update({_compact(alias): "locality:" + alias for alias in LOCALITY_ALIASES})
_IGNORED = {_compact(alias) for alias in ("stt", "tt", "so_thu_tu")}
_LOCALITY_RANK = {alias: rank for rank, alias in enumerate(LOCALITY_ALIASES)}
_NOT_WORD = re.compile(r"[^a-z0-9.]+")


def fold(text: str) -> str:
    """Lower case without diacritics, single spaces: 'Huyện  Phụng Hiệp' -> 'huyen phung hiep'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.lower().split())


_WORDS_MEMO = 50_000
_folded_words: dict[str, str] = {}


def fold_name(text: str) -> str:
    """`fold(text)`, a word at a time from a memo: names share few words, and an import folds a
    million of them (measured 1.8 µs a name through `fold`, 0.6 µs this way)."""
    parts = []
    for word in text.split():
        if word.isascii():  # O(1); folding ASCII only lowers it
            parts.append(word.lower())
            continue
        folded = _folded_words.get(word)
        if folded is None:
            folded = fold(word)
            if " " in folded or not folded:  # NFKD made a space or nothing: fold it whole
                return fold(text)
            if len(_folded_words) < _WORDS_MEMO:
                _folded_words[word] = folded
        parts.append(folded)
    return " ".join(parts)


def header_key(text: str) -> str:
    """A header cell as a key: 'Số điện thoại' -> 'so_dien_thoai', 'attr.Nghề' -> 'attr.nghe'."""
    return _NOT_WORD.sub("_", fold(text)).strip("_")


def _target(title: str) -> str | None:
    """The field a header cell names ('phone', 'locality:huyen', 'attr:nghe'), or None."""
    key = header_key(title)
    if key.startswith(("attr_", "attr.")) and len(key) > 5:
        return "attr:" + key[5:].strip("._")
    return _FIELD_OF.get(_compact(key))


@dataclass
class Columns:
    """Where each known field sits in a row, and the columns reported as unknown."""

    width: int
    phone: int
    name: int | None = None
    operator: int | None = None
    # (index, the word its values may omit) for each locality column, most specific first.
    localities: list[tuple[int, str | None]] = field(default_factory=list)
    attributes: list[tuple[int, str]] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    line: int = 1  # the header's line


def map_header(header: list[str], line: int = 1) -> Columns:
    """Read the header row; a file without a phone column, or with one field twice, is refused."""
    header = [cell.strip() for cell in header]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise FileRejected("no_header")
    seen: dict[str, int] = {}
    attributes: list[tuple[int, str]] = []
    unknown: list[tuple[int, str]] = []
    for index, title in enumerate(header):
        if not header_key(title) or _compact(header_key(title)) in _IGNORED:
            continue
        target = _target(title)
        if target is None:
            unknown.append((index, title))
            continue
        if target in seen:
            first = header[seen[target]]
            raise FileRejected("column_twice", first=repr(first), second=repr(title),
                               field=target.removeprefix("attr:").split(":")[0])
        seen[target] = index
        if target.startswith("attr:"):
            attributes.append((index, target[5:]))
    if "phone" not in seen:
        found = ", ".join(repr(c) for c in header if c)
        raise FileRejected("no_phone_column", line=line, found=found,
                           names=", ".join(FIELD_ALIASES["phone"][:5]))
    places = sorted((_LOCALITY_RANK[target[9:]], at, LOCALITY_ALIASES[target[9:]])
                    for target, at in seen.items() if target.startswith("locality:"))
    return Columns(
        width=len(header), phone=seen["phone"], name=seen.get("name"),
        operator=seen.get("operator"), localities=[(at, word) for _, at, word in places],
        attributes=attributes, unknown=unknown, titles=header, line=line,
    )


def _names_phone(cells: list[str]) -> bool:
    return any(_target(cell) == "phone" for cell in cells if cell.strip())


Rows = Iterator[tuple[int, list[str]]]


def find_header(source: RowSource) -> tuple[Columns, Rows, list[tuple[int, list[str]]]]:
    """The columns, the data rows after the header, and the non-blank rows above it.

    The header is line 1, or the first of the first HEADER_SEARCH_ROWS lines naming a phone
    column; without one, line 1 (or the first non-blank line) is refused as a header.
    """
    rows = source.rows()
    seen = [(1, source.header)]
    if not _names_phone(source.header):
        for line, cells in rows:
            seen.append((line, cells))
            if _names_phone(cells) or len(seen) >= HEADER_SEARCH_ROWS:
                break
    at = next((i for i, (_, cells) in enumerate(seen) if _names_phone(cells)), None)
    if at is None:
        line, cells = next(((n, c) for n, c in seen if any(x.strip() for x in c)
                            or isinstance(c, BrokenRow)), seen[0])
        if isinstance(cells, BrokenRow):
            raise FileRejected("header_broken", line=line, why=cells.reason, text=repr(cells.text))
        map_header(cells, line)  # raises, naming what that row has
        raise FileRejected("no_phone")  # pragma: no cover - map_header raised
    line, cells = seen[at]
    columns = map_header(cells, line)
    above = [(n, c) for n, c in seen[:at] if isinstance(c, BrokenRow) or any(x.strip() for x in c)]
    if at and source.unit == "rows":
        return columns, _padded(rows, columns.width), above
    return columns, rows, above


def _padded(rows: Rows, width: int) -> Rows:
    """Workbook rows as wide as a header found below line 1 (a sheet omits trailing blanks)."""
    for line, cells in rows:
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        yield line, cells
