"""What an import says about the file (dispatch.audiences.importer): its counts, the capped
lists of errors and warnings, the summary line, and the refused rows as a CSV to fix and send
again.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from dispatch.audiences.readers import BrokenRow

ERROR_CAP = 1000  # error entries stored with an import; error_rows counts them all
VALUE_MAX = 200  # characters of a bad cell quoted in the report
REASON_TITLE = "lý do"  # the refused-rows CSV's last column; ignored when uploaded again


class Report:
    """Counts and the capped list of errors, filled while rows stream by."""

    def __init__(self) -> None:
        self.total = self.imported = self.new = self.duplicates = self.error_rows = 0
        self.warning_rows = 0
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.encoding: str | None = None
        self.reasons: list[str] = []  # the current row's, for the refused-rows file

    def error(self, line: int, column: str | None, value: str, reason: str) -> None:
        self.reasons.append(reason)
        if len(self.errors) < ERROR_CAP:
            self.errors.append({"line": line, "column": column, "value": value[:VALUE_MAX],
                                "reason": reason})

    def warning(self, line: int, column: str | None, value: str, reason: str) -> None:
        self.warning_rows += 1
        if len(self.warnings) < ERROR_CAP:
            self.warnings.append({"line": line, "column": column, "value": value[:VALUE_MAX],
                                  "reason": reason})


def summary(report: Report) -> str:
    if report.total == 0:
        return "The file has a header but no data rows."
    text = (f"{report.imported:,} of {report.total:,} rows imported ({report.new:,} new "
            f"contacts, {report.duplicates:,} duplicate rows merged); {report.error_rows:,} rows "
            "with errors.")
    if report.warning_rows:
        text += f" {report.warning_rows:,} rows with warnings."
    if len(report.errors) >= ERROR_CAP or len(report.warnings) >= ERROR_CAP:
        text += f" Only the first {ERROR_CAP:,} problems are listed."
    if report.imported == 0:
        text = "Nothing imported: " + text
    return text


def row_text(cells: list[str], delimiter: str) -> str:
    """A row as the report quotes it: a broken line's own text, else its cells joined (without
    the empty cells Excel pads a title row with)."""
    if isinstance(cells, BrokenRow):
        return cells.text
    while cells and not cells[-1].strip():
        cells = cells[:-1]
    return delimiter.join(cells)


class RefusedRows:
    """The refused rows in the file's own columns plus the reasons: a CSV to fix and re-send."""

    def __init__(self, path: Path, header: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow([*header, REASON_TITLE])

    def write(self, cells: list[str], reasons: list[str]) -> None:
        self._csv.writerow([*cells, "; ".join(dict.fromkeys(reasons))])

    def close(self) -> None:
        self._file.close()
