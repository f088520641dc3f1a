"""What each header cell of an import file means.

The rule, also in the API docs: the header row (line 1) names the columns, compared without case,
diacritics, spaces or dashes.

- phone (required): `phone`, `phone_number`, `msisdn`, `mobile`, `so_dien_thoai` (Số điện thoại),
  `sdt`, `so_dt`, `dien_thoai`;
- name: `name`, `full_name`, `ho_ten` (Họ tên), `ho_va_ten`;
- locality: `locality`, `dia_ban` (Địa bàn) — the code or the name of a locality;
- operator: `operator`, `nha_mang` (Nhà mạng) — overrides the prefix's operator (ported numbers);
- `attr_<key>` or `attr.<key>`: a free attribute `<key>` of the contact;
- a column with an empty header is ignored; any other column is reported once as an unknown
  column (line 1) and its values are ignored, the rest of the file is imported.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from dispatch.audiences.readers import FileRejected

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "phone_number", "msisdn", "mobile", "so_dien_thoai", "sdt", "so_dt",
              "dien_thoai"),
    "name": ("name", "full_name", "ho_ten", "ho_va_ten"),
    "locality": ("locality", "dia_ban"),
    "operator": ("operator", "nha_mang"),
}
_FIELD_OF = {alias: name for name, aliases in FIELD_ALIASES.items() for alias in aliases}
_NOT_WORD = re.compile(r"[^a-z0-9.]+")


def fold(text: str) -> str:
    """Lower case without diacritics, single spaces: 'Huyện  Phụng Hiệp' -> 'huyen phung hiep'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.lower().split())


def header_key(text: str) -> str:
    """A header cell as a key: 'Số điện thoại' -> 'so_dien_thoai', 'attr.Nghề' -> 'attr.nghe'."""
    return _NOT_WORD.sub("_", fold(text)).strip("_")


@dataclass
class Columns:
    """Where each known field sits in a row, and the columns reported as unknown."""

    width: int
    phone: int
    name: int | None = None
    locality: int | None = None
    operator: int | None = None
    attributes: list[tuple[int, str]] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)


def map_header(header: list[str]) -> Columns:
    """Read the header row; a file without a phone column, or with one field twice, is refused."""
    if not any(cell.strip() for cell in header):
        raise FileRejected("The first line must be a header naming the columns (phone, ...).")
    seen: dict[str, int] = {}
    attributes: list[tuple[int, str]] = []
    unknown: list[tuple[int, str]] = []
    for index, title in enumerate(header):
        key = header_key(title)
        if not key:
            continue
        if key.startswith(("attr_", "attr.")) and len(key) > 5:
            target = "attr:" + key[5:].strip("._")
        elif key in _FIELD_OF:
            target = _FIELD_OF[key]
        else:
            unknown.append((index, title))
            continue
        if target in seen:
            first = header[seen[target]]
            raise FileRejected(f"Columns {first!r} and {title!r} both give "
                               f"{target.removeprefix('attr:')}: keep one.")
        seen[target] = index
        if target.startswith("attr:"):
            attributes.append((index, target[5:]))
    if "phone" not in seen:
        found = ", ".join(repr(c) for c in header if c.strip())
        raise FileRejected(
            f"No phone column: the header (line 1) has {found}; name the column of numbers "
            f"one of {', '.join(FIELD_ALIASES['phone'][:5])} or 'số điện thoại'."
        )
    return Columns(
        width=len(header), phone=seen["phone"], name=seen.get("name"),
        locality=seen.get("locality"), operator=seen.get("operator"),
        attributes=attributes, unknown=unknown, titles=list(header),
    )
