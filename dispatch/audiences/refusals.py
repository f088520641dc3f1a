"""Why an import refused its file, stored as a code with its values, like the campaign notes
(`dispatch.campaigns.notes`): `not_text?byte=0x81&line=3`, `file_empty`.

A sibling of notes rather than more codes in it: the API answers an import's refusal with its
English sentence next to the code (`message`, as every API error has one), so each code here
carries that sentence; the campaign notes have none, and the audiences do not depend on the
campaigns. The stored form and its reading are the same, so the pages read both alike
(`dispatch.web.labels.note`, in the reader's language).
"""

from __future__ import annotations

import re
from typing import Any

from dispatch.models import codes

# code: the English sentence (the API's `message`), with the values as placeholders.
TEXTS: dict[str, str] = {
    "file_empty": "The file is empty.",
    "not_csv_or_xlsx": "%(name)s is not a CSV or XLSX file.",
    "xls_file": "This is an old Excel 97-2003 (.xls) file: save it as .xlsx or CSV.",
    "not_text": "The file is not text in UTF-8, UTF-16 or Windows-1258: byte %(byte)s on line "
                "%(line)s is none of them. Save it as 'CSV UTF-8' or XLSX.",
    "bom_not_utf8": "Line %(line)s is not valid UTF-8 (byte %(byte)s), though the file says it "
                    "is: correct it or save the file again.",
    "line_not_utf8": "Line %(line)s is not valid UTF-8 (byte %(byte)s) while the rest of the "
                     "file is: correct that line or save the file again as 'CSV UTF-8'.",
    "line_not_text": "Line %(line)s is not valid %(encoding)s text: %(why)s.",
    "line_nul": "Line %(line)s contains a NUL character (byte 0): the file is damaged or not a "
                "CSV.",
    "no_header": "The first line must be a header naming the columns (phone, ...).",
    "column_twice": "Columns %(first)s and %(second)s both give %(field)s: keep one.",
    "no_phone_column": "No phone column: the header (line %(line)s) has %(found)s; name the "
                       "column of numbers one of %(names)s, 'số điện thoại' or 'SĐT'.",
    "no_phone": "No phone column.",
    "header_broken": "Line %(line)s, the header: %(why)s: %(text)s.",
    "not_xlsx": "The file is not a readable XLSX workbook (%(why)s).",
    "sheet_unreadable": "The first worksheet cannot be read (%(why)s).",
    "workbook_damaged": "The workbook is damaged after line %(line)s: %(why)s.",
    "cell_too_long": "The workbook has a cell longer than %(limit)s characters (the limit "
                     "LOA_IMPORT_MAX_CELL_CHARS).",
    "part_too_large": "The workbook's part %(part)s decompresses to more than %(limit_mb)s MB "
                      "(the limit %(setting)s).",
    "part_declared_too_large": "The workbook's part %(part)s declares %(size_mb)s MB "
                               "uncompressed, more than the limit of %(limit_mb)s MB "
                               "(%(setting)s).",
    "rows_declared": "The worksheet declares %(rows)s rows, more than the limit of %(limit)s "
                     "(LOA_IMPORT_MAX_ROWS).",
    "cells_declared": "The worksheet declares %(rows)s rows × %(columns)s columns = %(cells)s "
                      "cells, more than the limit of %(limit)s (LOA_IMPORT_MAX_CELLS).",
    "too_many_rows": "The worksheet holds more than %(limit)s rows (the limit "
                     "LOA_IMPORT_MAX_ROWS).",
    "too_many_cells": "The worksheet holds more than %(limit)s cells (the limit "
                      "LOA_IMPORT_MAX_CELLS).",
}
CODES = frozenset(TEXTS)

# Values that are counts: stored as plain digits, shown with the reader's thousands separator.
NUMBERS = frozenset({"limit", "rows", "columns", "cells", "size_mb", "limit_mb"})


def note(code: str, **values: object) -> str:
    """The stored form of a refusal and its values (dispatch.models.codes)."""
    return codes.encode(CODES, code, **values)


def read(text: str | None) -> tuple[str, dict[str, str]] | None:
    """(code, values) of a stored refusal, or None for text that is not one."""
    return codes.decode(CODES, text)


def text(stored: str | None) -> str | None:
    """The English sentence of a stored refusal; any other text as it is."""
    coded = read(stored)
    if coded is None:
        return stored
    code, values = coded
    shown: dict[str, Any] = {key: f"{int(value):,}" if key in NUMBERS and value.isdigit()
                             else value for key, value in values.items()}
    return TEXTS[code] % _filled(code, shown)


def describe(stored: str | None) -> dict[str, Any] | None:
    """The API's form of a refusal: {"code", "message", ...its values}; None for no refusal."""
    coded = read(stored)
    if coded is None:
        return None
    code, values = coded
    return {**values, "code": code, "message": text(stored)}


def _filled(code: str, values: dict[str, Any]) -> dict[str, Any]:
    for key in re.findall(r"%\((\w+)\)s", TEXTS[code]):
        values.setdefault(key, "—")
    return values


class Refusal(Exception):
    """A refusal of the whole file: its code and values; str() is the English sentence."""

    def __init__(self, code: str, **values: object) -> None:
        self.note = note(code, **values)
        self.code = code
        super().__init__(text(self.note))
