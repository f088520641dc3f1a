"""The first worksheet of an uploaded XLSX workbook as rows (dispatch.audiences.readers), read in
openpyxl's streaming mode within limits on what one workbook may cost: the IMPORT_MAX_* settings,
checked on what the workbook declares before anything is decompressed, and again while it is.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import IO, Any, Literal

from dispatch.audiences.readers import FileBroken, FileRejected, RowSource


def _cell_text(value: Any) -> str:
    """A cell as the person sees it: 912345678.0 stored by Excel is the number 912345678."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = str(value)
    return text if text.isascii() else unicodedata.normalize("NFC", text)


_MB = 1024 * 1024


class _Limits:
    """What one workbook may cost (the IMPORT_MAX_* settings, documented in the README)."""

    def __init__(self) -> None:
        from flask import current_app, has_app_context

        config: Any = current_app.config if has_app_context() else {}
        self.rows = int(config.get("IMPORT_MAX_ROWS", 1_048_576))
        self.cells = int(config.get("IMPORT_MAX_CELLS", 20_000_000))
        self.cell_chars = int(config.get("IMPORT_MAX_CELL_CHARS", 32_767))
        self.part = int(config.get("IMPORT_MAX_PART_MB", 512)) * _MB
        self.strings = int(config.get("IMPORT_MAX_SHARED_STRINGS_MB", 64)) * _MB

    def part_limit(self, name: str) -> tuple[int, str]:
        if name.rsplit("/", 1)[-1].lower().startswith("sharedstrings"):
            return self.strings, "LOA_IMPORT_MAX_SHARED_STRINGS_MB"
        return self.part, "LOA_IMPORT_MAX_PART_MB"

    def too_long(self) -> FileRejected:
        return FileRejected("cell_too_long", limit=self.cell_chars)


class _GuardedPart(io.RawIOBase):
    """A zip part read through its decompressor, refused as soon as it grows past its limit.

    It also refuses XML text with no markup over long stretches: a run of text longer than
    twice `block` bytes holds a whole aligned block without a '<', which `bytes.count` finds at
    C speed. That is a cell far longer than the cell limit, and it is refused before the XML
    parser has to hold it as one string.
    """

    def __init__(self, raw: IO[bytes], name: str, limit: int, setting: str, limits: _Limits,
                 watch_text: bool) -> None:
        super().__init__()
        self._raw, self._name, self._limit, self._setting = raw, name, limit, setting
        self._limits, self._watch_text = limits, watch_text
        self._read = 0
        self._block = max(4 * limits.cell_chars, 4096)
        self._filled = 0
        self._marked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._read += n
        if self._read > self._limit:
            raise FileRejected("part_too_large", part=self._name, limit_mb=self._limit // _MB,
                               setting=self._setting)
        if self._watch_text:
            self._scan(data)
        return n

    def _scan(self, data: bytes) -> None:
        at, end = 0, len(data)
        while at < end:
            take = min(self._block - self._filled, end - at)
            if not self._marked and data.count(b"<", at, at + take):
                self._marked = True
            self._filled += take
            at += take
            if self._filled == self._block:
                if not self._marked:
                    raise self._limits.too_long()
                self._filled, self._marked = 0, False

    def close(self) -> None:
        self._raw.close()
        super().close()


class _GuardedZip(zipfile.ZipFile):
    """The workbook's zip, every part of which is read through a _GuardedPart."""

    limits: _Limits

    def open(self, name: Any, mode: Literal["r", "w"] = "r", pwd: bytes | None = None, *,
             force_zip64: bool = False) -> IO[bytes]:
        raw = super().open(name, mode, pwd, force_zip64=force_zip64)
        part = name.filename if isinstance(name, zipfile.ZipInfo) else str(name)
        limit, setting = self.limits.part_limit(part)
        watch_text = part.lower().startswith("xl/")
        return io.BufferedReader(_GuardedPart(raw, part, limit, setting, self.limits,
                                              watch_text))


def _open_book(stream: IO[bytes], limits: _Limits) -> Any:
    """openpyxl's read-only workbook over a guarded zip: every part's declared size is checked
    before anything is decompressed, and its real size while it is."""
    from openpyxl.reader.excel import ExcelReader

    archive = _GuardedZip(stream)
    archive.limits = limits
    for info in archive.infolist():
        limit, setting = limits.part_limit(info.filename)
        if info.file_size > limit:
            raise FileRejected("part_declared_too_large", part=info.filename,
                               size_mb=round(info.file_size / _MB), limit_mb=limit // _MB,
                               setting=setting)
    reader = ExcelReader(stream, read_only=True, data_only=True)
    reader.archive, reader.valid_files = archive, archive.namelist()
    reader.read()
    return reader.wb


class XlsxSource(RowSource):
    """The first worksheet of an XLSX workbook, read in openpyxl's streaming mode, within the
    limits of _Limits: a workbook beyond one is refused before the work is done."""

    unit = "rows"

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._limits = limits = _Limits()
        try:
            self._book = _open_book(stream, limits)
        except FileRejected:
            raise
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise FileRejected("not_xlsx", why=str(exc)) from None
        except Exception as exc:  # openpyxl's InvalidFileException and XML errors
            raise FileRejected("not_xlsx", why=str(exc)) from None
        self._sheet = self._book.worksheets[0]
        self._check_declared()
        if max(map(len, self._sheet._shared_strings), default=0) > limits.cell_chars:
            raise limits.too_long()
        self._rows = self._sheet.iter_rows(values_only=True)
        self._line = 0
        self._cells = 0
        try:
            first = next(self._rows, None)
        except FileRejected:
            raise
        except Exception as exc:
            raise FileRejected("sheet_unreadable", why=str(exc)) from None
        self._line = 1
        self.header = [_cell_text(v).strip() for v in first or ()]
        while self.header and not self.header[-1]:
            self.header.pop()
        self._width = len(self.header)

    def _check_declared(self) -> None:
        """Refuse by the sheet's `dimension` (cheap: it is near the top of the sheet), then
        forget it: openpyxl pads every row to it (a 2 KB file declaring A1:XFD1048576 made it
        build 17 billion cells), and a dimension smaller than the data cut rows off silently."""
        limits, sheet = self._limits, self._sheet
        rows, columns = sheet.max_row or 0, sheet.max_column or 0
        self._size = rows
        if rows > limits.rows:
            raise FileRejected("rows_declared", rows=rows, limit=limits.rows)
        if rows * columns > limits.cells:
            raise FileRejected("cells_declared", rows=rows, columns=columns,
                               cells=rows * columns, limit=limits.cells)
        sheet.reset_dimensions()

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        limits, width = self._limits, self._width
        max_rows, max_cells, max_chars = limits.rows, limits.cells, limits.cell_chars
        try:
            for values in self._rows:
                self._line += 1
                if self._line > max_rows:
                    raise FileRejected("too_many_rows", limit=max_rows)
                self._cells += len(values)
                if self._cells > max_cells:
                    raise FileRejected("too_many_cells", limit=max_cells)
                cells = [_cell_text(v) for v in values]
                if cells and max(map(len, cells)) > max_chars:
                    raise limits.too_long()
                if len(cells) < width:  # openpyxl no longer pads rows: as the header's
                    cells.extend([""] * (width - len(cells)))
                yield self._line, cells
        except FileRejected:
            raise
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError) as exc:
            raise FileBroken("workbook_damaged", line=self._line, why=str(exc)) from None
        finally:
            self._book.close()

    def position(self) -> int:
        return self._line

    @property
    def size(self) -> int:
        return self._size
