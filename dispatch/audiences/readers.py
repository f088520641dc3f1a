"""Rows out of an uploaded CSV or XLSX file, streamed, with the file's own line numbers.

This module has what every file has (RowSource, the errors, `open_source`) and the CSV reader;
the XLSX one, with its limits on what a workbook may cost, is dispatch.audiences.xlsx.

A CSV's encoding is found, not assumed: a BOM names UTF-8 or UTF-16 (LE/BE); otherwise the whole
file is checked as UTF-8 (one pass at C speed), and a file that is not UTF-8 is read as
Windows-1258, what Excel on a Vietnamese Windows writes. Every text leaves here in NFC
(Windows-1258 writes tone marks as combining characters). Line numbers are the file's physical
lines, as a text editor and Excel count them: a quoted cell that runs over a line break is
reported as a broken row on the line where its quote opened, and the lines after it are read
again as rows of their own, so a stray quote cannot swallow the rest of the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Iterator
from typing import IO

from dispatch.audiences.refusals import Refusal

CSV_DELIMITERS = (",", ";", "\t")
_SNIFF_BYTES = 64 * 1024
_CHUNK = 1024 * 1024
_DELIMITER_LINES = 10  # lines (title rows, the header, first rows) that choose the delimiter

UTF8, UTF8_BOM, UTF16_LE, UTF16_BE, WINDOWS_1258 = (
    "UTF-8", "UTF-8 (BOM)", "UTF-16 LE", "UTF-16 BE", "Windows-1258")
# What the import report says was read -> Python's codec.
CODECS = {UTF8: "utf-8", UTF8_BOM: "utf-8-sig", UTF16_LE: "utf-16", UTF16_BE: "utf-16",
          WINDOWS_1258: "cp1258"}
_NO_BOM_UTF16 = {UTF16_LE: "utf-16-le", UTF16_BE: "utf-16-be"}

QUOTE_NOT_CLOSED = "a quote opened on this line is not closed on it (a cell cannot span lines)"
CELL_TOO_LONG = "a cell is longer than the CSV reader allows"


class FileRejected(Refusal):
    """The file as a whole cannot be imported (not CSV/XLSX, no header, no phone column...)."""


class FileBroken(Refusal):
    """The file turned out to be malformed part-way through."""


class BrokenRow(list[str]):
    """A line that is not a row (no cells), with why and the line's text for the report."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__()
        self.reason = reason
        self.text = text


class RowSource:
    """The header and the data rows of a file; `position`/`size` measure progress."""

    unit = "bytes"
    encoding: str | None = None  # what a CSV was read as (one of CODECS); None for a workbook

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
        # Imported here: dispatch.audiences.xlsx builds on this module's RowSource and errors.
        from dispatch.audiences.xlsx import XlsxSource

        return XlsxSource(stream)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected("xls_file")
    if not head.strip():
        raise FileRejected("file_empty")
    if head.startswith(b"%PDF"):
        raise FileRejected("not_csv_or_xlsx", name=filename or "upload")
    return CsvSource(stream, detect_encoding(stream, head, filename))


def detect_encoding(stream: IO[bytes], head: bytes, filename: str = "") -> str:
    """The encoding a CSV is written in (a key of CODECS), or FileRejected naming the line."""
    if head.startswith(codecs.BOM_UTF8):
        at = _first_utf8_error(stream)
        if at is not None:
            raise FileRejected("bom_not_utf8", line=_line_at(stream, at), byte=at + 1)
        return UTF8_BOM
    if head.startswith(codecs.BOM_UTF16_LE):
        return UTF16_LE
    if head.startswith(codecs.BOM_UTF16_BE):
        return UTF16_BE
    if head.count(0) > len(head) // 10:
        # Text without a BOM has no NUL bytes, except UTF-16 (every other byte of ASCII text).
        for label, zeros_at in ((UTF16_LE, 1), (UTF16_BE, 0)):
            if head[zeros_at::2].count(0) > len(head) // 5 > head[1 - zeros_at::2].count(0):
                return label
        raise FileRejected("not_csv_or_xlsx", name=filename or "upload")
    at = _first_utf8_error(stream)
    if at is None:
        return UTF8
    if _mostly_utf8(stream):
        raise FileRejected("line_not_utf8", line=_line_at(stream, at), byte=at + 1)
    at = _first_cp1258_error(stream)
    if at is not None:
        stream.seek(at)
        byte = stream.read(1)[0]
        stream.seek(0)
        raise FileRejected("not_text", byte=f"{byte:#04x}", line=_line_at(stream, at))
    return WINDOWS_1258


def _first_utf8_error(stream: IO[bytes]) -> int | None:
    """The offset of the first byte that is not UTF-8, or None; the stream is left at 0."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        while True:
            chunk = stream.read(_CHUNK)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start
            if not chunk:
                return None
            offset += len(chunk)
    finally:
        stream.seek(0)


_SURROGATE = re.compile("[\udc80-\udcff]")


def _mostly_utf8(stream: IO[bytes]) -> bool:
    """True when valid multi-byte UTF-8 outnumbers the bytes that are not: a damaged UTF-8 file.

    A Windows-1258 text almost never forms a valid multi-byte sequence (its letters are
    followed by letters, not by the 0x80-0xBF symbols a sequence needs), so decoding it as
    Windows-1258 would turn a damaged UTF-8 file into mojibake: it is refused instead.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    good = bad = 0
    while chunk := stream.read(_CHUNK):
        text = decoder.decode(chunk)
        if not text.isascii():
            wrong = len(text) - len(_SURROGATE.sub("", text))  # no list of a match per byte
            bad += wrong
            good += len(text) - len(text.encode("ascii", "ignore")) - wrong
    stream.seek(0)
    return good > bad


def _first_cp1258_error(stream: IO[bytes]) -> int | None:
    offset = 0
    try:
        while chunk := stream.read(_CHUNK):
            try:
                chunk.decode("cp1258")
            except UnicodeDecodeError as exc:
                return offset + exc.start
            offset += len(chunk)
        return None
    finally:
        stream.seek(0)


def _line_at(stream: IO[bytes], offset: int) -> int:
    """The line (1-based; CR LF, CR or LF end one) holding byte `offset`; stream left at 0."""
    line, left, last = 1, offset, b""
    while left > 0:
        chunk = stream.read(min(_CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        line += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
        if last == b"\r" and chunk[:1] == b"\n":
            line -= 1
        last = chunk[-1:]
    stream.seek(0)
    return line


class _Lines:
    """The decoded lines of a CSV, numbered, in NFC; lines can be handed back to be read again.

    `taken` collects the lines handed out since it was last cleared: the lines of one record.
    """

    def __init__(self, text: io.TextIOWrapper, encoding: str) -> None:
        self._text = text
        self._encoding = encoding
        self._read = 0
        self._again: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            number, line = self._again.popleft()
        else:
            try:
                line = next(self._text)
            except UnicodeDecodeError as exc:
                raise FileBroken("line_not_text", line=self._read + 1, encoding=self._encoding,
                                 why=exc.reason) from None
            self._read += 1
            number = self._read
            if "\x00" in line:
                raise FileBroken("line_nul", line=number)
            if not line.isascii():  # O(1) in CPython; normalising ASCII would be a no-op
                line = unicodedata.normalize("NFC", line)
        self.taken.append((number, line))
        return line

    def again(self, lines: list[tuple[int, str]]) -> None:
        """Read these lines again, before the rest."""
        self._again.extendleft(reversed(lines))


def _delimiter(lines: list[str]) -> str:
    """The delimiter most lines use the same number of times (title rows use none)."""
    best, best_score = ",", (0, 0)
    for delimiter in CSV_DELIMITERS:
        counts = Counter(n for n in (line.count(delimiter) for line in lines) if n)
        if counts:
            count, lines_with_it = counts.most_common(1)[0]
            if (lines_with_it, count) > best_score:
                best, best_score = delimiter, (lines_with_it, count)
    return best


class CsvSource(RowSource):
    """A CSV in `encoding` (a key of CODECS); the delimiter is , ; or tab, whichever the first
    lines agree on."""

    def __init__(self, stream: IO[bytes], encoding: str = UTF8) -> None:
        super().__init__()
        self.encoding = encoding
        self._raw = stream
        stream.seek(0, io.SEEK_END)
        self._size = stream.tell()
        stream.seek(0)
        codec = CODECS[encoding]
        if encoding in _NO_BOM_UTF16 and stream.read(2) not in (codecs.BOM_UTF16_LE,
                                                              codecs.BOM_UTF16_BE):
            codec = _NO_BOM_UTF16[encoding]
        stream.seek(0)
        self._text = io.TextIOWrapper(stream, encoding=codec, newline="")
        self._lines = _Lines(self._text, encoding)
        first = [line for _, line in zip(range(_DELIMITER_LINES), self._lines, strict=False)]
        self._lines.again(self._lines.taken)
        self.delimiter = _delimiter([line for line in first if line.strip()])
        self._reader = csv.reader(self._lines, delimiter=self.delimiter)
        self._records = self._read()
        self.header = []
        for _, cells in self._records:  # a BrokenRow stays one, to be named as the header
            self.header = cells if isinstance(cells, BrokenRow) else [c.strip() for c in cells]
            break

    def _read(self) -> Iterator[tuple[int, list[str]]]:
        lines, reader = self._lines, self._reader
        taken = lines.taken
        while True:
            taken.clear()
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:  # a cell past csv.field_size_limit(), quoted or not
                number, text = taken[0]
                lines.again(taken[1:])
                yield number, BrokenRow(CELL_TOO_LONG, text.rstrip("\r\n"))
                continue
            if len(taken) == 1:
                yield taken[0][0], cells
            else:  # the record ran over a line break inside quotes
                number, text = taken[0]
                lines.again(taken[1:])
                yield number, BrokenRow(QUOTE_NOT_CLOSED, text.rstrip("\r\n"))

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        return self._records

    def position(self) -> int:
        return self._raw.tell()

    @property
    def size(self) -> int:
        return self._size

    def detach(self) -> None:
        """Leave the caller's stream open when this reader goes away."""
        self._text.detach()
