"""Rows out of an uploaded CSV or XLSX file, streamed, with the file's own line numbers."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import IO, Any

CSV_DELIMITERS = (",", ";", "\t")
_SNIFF_BYTES = 64 * 1024


class FileRejected(Exception):
    """The file as a whole cannot be imported (not CSV/XLSX, no header, no phone column...)."""


class FileBroken(Exception):
    """The file turned out to be malformed part-way through."""


class RowSource:
    """The header and the data rows of a file; `position`/`size` measure progress."""

    unit = "bytes"

    def __init__(self) -> None:
        self.header: list[str] = []

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (line number as a spreadsheet counts it, header being 1, cells)."""
        raise NotImplementedError

    def position(self) -> int:
        raise NotImplementedError

    @property
    def size(self) -> int:
        raise NotImplementedError


def open_source(stream: IO[bytes], filename: str) -> RowSource:
    """Recognise the file by its content (the name only helps the messages)."""
    head = stream.read(_SNIFF_BYTES)
    stream.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return XlsxSource(stream)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected("This is an old Excel 97-2003 (.xls) file: save it as .xlsx or CSV.")
    if not head.strip():
        raise FileRejected("The file is empty.")
    if b"\x00" in head or head.startswith(b"%PDF"):
        raise FileRejected(f"{filename or 'The file'} is not a CSV or XLSX file.")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"The file is not UTF-8 text (byte {exc.start + 1}): save it as 'CSV UTF-8' or XLSX."
        ) from None
    return CsvSource(stream)


class CsvSource(RowSource):
    """A UTF-8 CSV (BOM optional); the delimiter is whichever of , ; or tab the header uses most."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._raw = stream
        stream.seek(0, io.SEEK_END)
        self._size = stream.tell()
        stream.seek(0)
        self._text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        first = self._text.readline()
        counts = {d: first.count(d) for d in CSV_DELIMITERS}
        self.delimiter = max(CSV_DELIMITERS, key=lambda d: counts[d])
        if counts[self.delimiter] == 0:
            self.delimiter = ","
        self._first = first
        header = next(csv.reader([first], delimiter=self.delimiter), [])
        self.header = [cell.strip() for cell in header]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(self._text, delimiter=self.delimiter)
        line = 1
        try:
            for cells in reader:
                line += 1
                yield line, cells
        except UnicodeDecodeError as exc:
            raise FileBroken(
                f"The file is not valid UTF-8 after line {line}: {exc.reason}.") from None
        except csv.Error as exc:
            raise FileBroken(f"Line {line + 1} is not valid CSV: {exc}.") from None

    def position(self) -> int:
        return self._raw.tell()

    @property
    def size(self) -> int:
        return self._size

    def detach(self) -> None:
        """Leave the caller's stream open when this reader goes away."""
        self._text.detach()


def _cell_text(value: Any) -> str:
    """A cell as the person sees it: 912345678.0 stored by Excel is the number 912345678."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


class XlsxSource(RowSource):
    """The first worksheet of an XLSX workbook, read in openpyxl's streaming mode."""

    unit = "rows"

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        from openpyxl import load_workbook

        try:
            self._book = load_workbook(stream, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise FileRejected(f"The file is not a readable XLSX workbook ({exc}).") from None
        except Exception as exc:  # openpyxl's InvalidFileException and XML errors
            raise FileRejected(f"The file is not a readable XLSX workbook ({exc}).") from None
        self._sheet = self._book.worksheets[0]
        self._rows = self._sheet.iter_rows(values_only=True)
        self._line = 0
        try:
            first = next(self._rows, None)
        except Exception as exc:
            raise FileRejected(f"The first worksheet cannot be read ({exc}).") from None
        self._line = 1
        self.header = [_cell_text(v).strip() for v in first or ()]
        while self.header and not self.header[-1]:
            self.header.pop()
        self._size = self._sheet.max_row or 0

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        try:
            for values in self._rows:
                self._line += 1
                yield self._line, [_cell_text(v) for v in values]
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError) as exc:
            raise FileBroken(f"The workbook is damaged after line {self._line}: {exc}.") from None
        finally:
            self._book.close()

    def position(self) -> int:
        return self._line

    @property
    def size(self) -> int:
        return self._size
