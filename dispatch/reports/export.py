"""Exports as CSV and XLSX: the per-recipient ledger of a campaign, and the summary.

CSV is UTF-8 with a byte-order mark (so Excel reads Vietnamese correctly), CRLF line ends, a
comma by default (`;` or tab on request, for Excel set to the Vietnamese list separator), and
times as `YYYY-MM-DD HH:MM:SS+07:00` in Asia/Ho_Chi_Minh. It is written while the rows are read:
a generator yields ~64 KB at a time, so memory stays flat whatever the size.

XLSX is openpyxl's write-only workbook (rows go to a temporary file as they are appended), saved
to a temporary file that is then streamed and deleted: the first byte leaves only once the whole
workbook is built. Times are Excel dates in local time (Excel has no time zones; the header says
so), and a sheet holds at most 1,048,575 rows, so bigger ledgers continue on a second sheet.

Two forms of the ledger:
- the code form (the API's, for machines): header names are Vietnamese with the field name in
  brackets, e.g. "Trạng thái (status)", values are the stored codes (`delivered`, `viettel`,
  `+84912345678`), times ISO; the columns are LEDGER_COLUMNS and SUMMARY_COLUMNS, also listed
  in the API documentation. Integrations parse it: it does not change.
- the readable form (the pages', for a clerk in Excel): READABLE_COLUMNS, Vietnamese headers
  and values (`Đã nhận`, `VinaPhone`, `0912 345 678`, `10/03/2025 08:00` local time), the E.164
  number kept in a column of its own; the words come translated from the caller (`Words`), so
  this wing needs no catalog. Its XLSX opens on a summary sheet (Tổng hợp) before the rows.

No export carries a secret: no token, password or key is ever selected, only what the ledger,
contacts and devices show.
Text that a spreadsheet would run as a formula (starting with = + - @) is prefixed with `'`,
except plain phone numbers.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, select

from dispatch.audiences.msisdn import display
from dispatch.config import local_zone
from dispatch.models import Contact, Device, Message, MessagePart, SmppAccount

BATCH = 5000
FLUSH_BYTES = 64 * 1024
SHEET_ROWS = 1_048_575  # Excel's row limit, less the header
TIME = "giờ VN"
LOCAL_TIME = "%d/%m/%Y %H:%M"  # as people write it: 10/03/2025 08:00
EXCEL_TIME = "dd/mm/yyyy hh:mm"

LEDGER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("message_id", "Mã tin"),
    ("channel", "Kênh"),
    ("recipient", "Người nhận: số điện thoại hoặc mã cài đặt ứng dụng"),
    ("name", "Họ tên"),
    ("operator", "Nhà mạng"),
    ("account", "Tài khoản SMPP"),
    ("status", "Trạng thái"),
    ("reason", "Lý do"),
    ("error_code", "Mã lỗi"),
    ("parts", "Số phần tin"),
    ("attempts", "Số lần gửi"),
    ("gateway_ids", "Mã tin tại cổng SMSC / FCM"),
    ("queued_at", f"Vào hàng đợi, {TIME}"),
    ("submitted_at", f"Gửi đi, {TIME}"),
    ("finished_at", f"Kết thúc, {TIME}"),
)
# Free text that came from outside (imports, gateways): guarded against formula injection.
_LEDGER_TEXT = (2, 3, 5, 7, 8, 11)
_LEDGER_TIMES = (12, 13, 14)
_PHONE = re.compile(r"^\+?\d{1,16}$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters XLSX (XML 1.0) cannot hold.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class Table:
    """Rows to export: (field, Vietnamese header) columns, which are times, which are text."""

    columns: Sequence[tuple[str, str]]
    rows: Iterator[list[Any]]
    times: Sequence[int] = ()
    text: Sequence[int] = ()
    readable: bool = False  # Vietnamese headers alone, times as people write them

    @property
    def headers(self) -> list[str]:
        if self.readable:
            return [vi for _, vi in self.columns]
        return [f"{vi} ({key})" for key, vi in self.columns]


@dataclass(frozen=True)
class Words:
    """The words a person reads for the codes of a readable export, translated beforehand.

    Built by the caller while it can translate (the rows are written after its request is
    gone): `labels` for statuses, channels and operators, `reasons` for the ledger's reason
    codes, `other_reasons` (by prefix) and `other_reason` the forms of a code with no words
    (`{code}` in them).
    """

    labels: Mapping[str, str]
    reasons: Mapping[str, str] = field(default_factory=dict)
    other_reasons: Mapping[str, str] = field(default_factory=dict)  # by the code's prefix
    other_reason: str = "{code}"
    topic: str = "topic"

    def label(self, code: str | None) -> str | None:
        if code is None:
            return None
        return self.labels.get(code, code)

    def reason(self, code: str | None) -> str | None:
        if not code:
            return None
        found = self.reasons.get(code)
        if found is not None:
            return found
        form = next((words for prefix, words in self.other_reasons.items()
                     if code.startswith(prefix)), self.other_reason)
        return form.replace("{code}", code)


def safe_text(value: str) -> str:
    """The text as a spreadsheet should show it, never as a formula."""
    if value.startswith(_FORMULA_START) and not _PHONE.match(value):
        return "'" + value
    return value


# --- the per-recipient ledger ------------------------------------------------------------------

def ledger_table(engine: Engine, campaign_id: int, *, batch: int = BATCH) -> Table:
    # The zone is read now: the rows may be read after the request's app context is gone.
    rows = ledger_rows(engine, campaign_id, batch=batch, zone=local_zone())
    return Table(LEDGER_COLUMNS, rows, times=_LEDGER_TIMES, text=_LEDGER_TEXT)


def ledger_rows(engine: Engine, campaign_id: int, *, batch: int = BATCH,
                zone: ZoneInfo | None = None) -> Iterator[list[Any]]:
    """Every ledger row of the campaign in id order, read from a server-side cursor in batches.

    Runs on a connection of its own (the response outlives the request's session). Times come
    out in local time (`zone`, by default the app's). The gateway ids of each batch's parts come
    from one more query per batch.
    """
    local = zone or local_zone()
    with engine.connect() as conn:
        accounts: dict[int, str] = {
            i: name for i, name in conn.execute(select(SmppAccount.id, SmppAccount.name))}
        stmt = (
            select(Message.id, Message.channel, Message.recipient_id, Message.address,
                   Contact.name, Device.installation_id, Message.operator, Message.account_id,
                   Message.status, Message.reason, Message.error_code, Message.parts,
                   Message.attempts, Message.queued_at, Message.submitted_at,
                   Message.finished_at)
            .outerjoin(Contact, and_(Message.channel == "sms",
                                     Contact.id == Message.recipient_id))
            .outerjoin(Device, and_(Message.channel == "push",
                                    Device.id == Message.recipient_id))
            .where(Message.campaign_id == campaign_id)
            .order_by(Message.id)
        )
        result = conn.execution_options(yield_per=batch).execute(stmt)
        for chunk in result.partitions():
            ids = _gateway_ids(conn, campaign_id, chunk[0].id, chunk[-1].id)
            for (mid, channel, recipient_id, address, name, installation, operator, account,
                 status, reason, error_code, parts, attempts, queued, submitted,
                 finished) in chunk:
                if channel == "sms":
                    recipient = address
                else:
                    recipient = installation or ("topic" if recipient_id == 0 else None)
                    # A push is not sent in parts, nor billed: an empty cell, so that the
                    # column adds up to SMS parts (the ledger keeps 1 for a device row).
                    parts = None
                yield [mid, channel, recipient, name, operator, accounts.get(account or 0),
                       status.value, reason, error_code, parts, attempts, ids.get(mid),
                       queued and queued.astimezone(local),
                       submitted and submitted.astimezone(local),
                       finished and finished.astimezone(local)]


READABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("message_id", "Mã tin"),
    ("channel", "Kênh"),
    ("phone", "Số điện thoại"),
    ("e164", "Số điện thoại quốc tế (E.164)"),
    ("installation", "Mã cài đặt ứng dụng"),
    ("name", "Họ tên"),
    ("operator", "Nhà mạng"),
    ("account", "Tài khoản SMPP"),
    ("status", "Trạng thái"),
    ("reason", "Lý do"),
    ("error_code", "Mã lỗi"),
    ("parts", "Số phần tin"),
    ("attempts", "Số lần gửi"),
    ("gateway_ids", "Mã tin tại cổng SMSC / FCM"),
    ("queued_at", f"Vào hàng đợi ({TIME})"),
    ("submitted_at", f"Gửi đi ({TIME})"),
    ("finished_at", f"Kết thúc ({TIME})"),
)
_READABLE_TEXT = (3, 4, 5, 7, 9, 10, 13)
_READABLE_TIMES = (14, 15, 16)


def readable_ledger_table(engine: Engine, campaign_id: int, words: Words, *,
                          batch: int = BATCH) -> Table:
    """The ledger in the readable form: words for codes, numbers as people write them."""
    rows = ledger_rows(engine, campaign_id, batch=batch, zone=local_zone())

    def readable() -> Iterator[list[Any]]:
        for (mid, channel, recipient, name, operator, account, status, reason, error_code,
             parts, attempts, ids, queued, submitted, finished) in rows:
            sms = channel == "sms"
            if not sms and recipient == "topic":
                recipient = words.topic
            yield [mid, words.label(channel), display(recipient) if sms else None,
                   recipient if sms else None, None if sms else recipient, name,
                   words.label(operator) if sms else None, account, words.label(status),
                   words.reason(reason), error_code, parts, attempts, ids,
                   queued, submitted, finished]

    return Table(READABLE_COLUMNS, readable(), times=_READABLE_TIMES, text=_READABLE_TEXT,
                 readable=True)


def _gateway_ids(conn: Any, campaign_id: int, first: int, last: int) -> dict[int, str]:
    """The SMSC (or FCM) ids of the parts of the campaign's messages first..last, in part order,
    space-separated.

    A range of ids rather than IN (5,000 ids): two parameters instead of 5,000 to render and
    parse per batch (that cost more than the rows themselves).
    """
    found: dict[int, list[str]] = {}
    for mid, smsc_id in conn.execute(
            select(MessagePart.message_id, MessagePart.smsc_id)
            .join(Message, Message.id == MessagePart.message_id)
            .where(Message.campaign_id == campaign_id,
                   MessagePart.message_id.between(first, last),
                   MessagePart.smsc_id.is_not(None))
            .order_by(MessagePart.message_id, MessagePart.part_no)):
        found.setdefault(mid, []).append(smsc_id)
    return {mid: " ".join(parts) for mid, parts in found.items()}


# --- the summary -------------------------------------------------------------------------------

SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "Mã chiến dịch"),
    ("title", "Tên chiến dịch"),
    ("phase", "Đợt"),
    ("status", "Trạng thái"),
    ("channels", "Kênh"),
    ("started_at", f"Bắt đầu, {TIME}"),
    ("finished_at", f"Kết thúc, {TIME}"),
    # What the approval covered, beside what the ledger holds.
    ("approved_sms_recipients", "Người nhận SMS được duyệt"),
    ("approved_push_devices", "Thiết bị được duyệt (thông báo đẩy)"),
    ("approved_cost_vnd", "Chi phí SMS được duyệt (VND)"),
    ("targeted", "Số người nhận"),
    ("suppressed", "Không gửi (loại trừ)"),
    ("waiting", "Đang chờ gửi"),
    ("cancelled", "Đã hủy"),
    ("expired_unsent", "Hết hạn trước khi gửi"),
    ("submitted", "Đã gửi tới cổng"),
    ("delivered", "Đã nhận (SMS)"),
    ("partial", "Nhận một phần (SMS)"),
    ("failed", "Thất bại"),
    ("expired", "Hết hạn sau khi gửi"),
    ("unknown", "Không rõ kết quả"),
    ("awaiting_receipt", "Chờ báo nhận (SMS)"),
    ("accepted_by_fcm", "FCM đã nhận, không phải đã đến máy (thông báo đẩy)"),
    ("sms_delivered_percent", "Tỷ lệ SMS đã nhận (%)"),
    ("parts_billed", "Số phần tin tính cước"),
    ("cost_vnd", "Chi phí ước tính (VND)"),
    # Last, so that the columns before keep their places: what people answered.
    ("survey_answers", "Số trả lời khảo sát được tính"),
    ("survey_response_rate_percent", "Tỷ lệ trả lời khảo sát (%)"),
)


def summary_table(report: dict[str, Any]) -> Table:
    """The summary's campaigns, then a total row."""
    keys = [key for key, _ in SUMMARY_COLUMNS]
    total = report["total"]

    def rows() -> Iterator[list[Any]]:
        for item in report["campaigns"]:
            yield [item[k] for k in keys]
        yield [None, f"Tổng cộng ({total['campaigns']} chiến dịch)", report["phase"],
               None, None, None, None, *(total[k] for k in keys[7:])]

    return Table(SUMMARY_COLUMNS, rows(), times=(5, 6), text=(1, 2))


# --- writers -----------------------------------------------------------------------------------

def csv_chunks(table: Table, *, delimiter: str = ",") -> Iterator[bytes]:
    """The table as UTF-8 CSV with a BOM, in chunks of about FLUSH_BYTES."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(table.headers)
    times, text = tuple(table.times), tuple(table.text)
    for row in table.rows:
        for i in times:
            if row[i] is not None:
                row[i] = (row[i].strftime(LOCAL_TIME) if table.readable
                          else row[i].isoformat(sep=" ", timespec="seconds"))
        for i in text:
            if row[i]:
                row[i] = safe_text(row[i])
        writer.writerow(row)
        if buffer.tell() >= FLUSH_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


@dataclass
class Sheet:
    """A sheet of label / value lines (a summary), not a table: no header row, no filter."""

    title: str
    lines: Sequence[Sequence[Any]]


def xlsx_file(table: Table, sheet: str, *, folder: str | None = None,
              before: Sequence[Sheet] = ()) -> IO[bytes]:
    """The table as an XLSX workbook in an anonymous temporary file, rewound for reading.

    `before` are summary sheets that come first (the workbook opens on the first). The file is
    unlinked at once, so it disappears when the handle is closed, however the response ends.
    """
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for summary in before:
        _summary_sheet(book, summary)
    widths = [max(10, min(40, len(h) + 2)) for h in table.headers]
    times, text = tuple(table.times), tuple(table.text)
    n = 0
    ws = None
    for row in table.rows:
        if ws is None or n == SHEET_ROWS:
            ws = _sheet(book, sheet if ws is None else f"{sheet} ({len(book.worksheets) + 1})",
                        table.headers, widths)
            n = 0
        for i in times:
            if row[i] is not None:
                row[i] = row[i].replace(tzinfo=None)
                if table.readable:
                    row[i] = _cell(ws, row[i], EXCEL_TIME)
        for i in text:
            if row[i]:
                row[i] = _ILLEGAL.sub("", safe_text(row[i]))
        ws.append(row)
        n += 1
    if ws is None:
        _sheet(book, sheet, table.headers, widths)
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", dir=folder, delete=False)  # noqa: SIM115
    try:
        book.save(handle)
        handle.flush()
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    finally:
        os.unlink(handle.name)
    return handle


def _cell(ws: Any, value: Any, number_format: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = number_format
    return cell


def _summary_sheet(book: Any, summary: Sheet) -> None:
    from openpyxl.styles import Font

    ws = book.create_sheet(summary.title[:31])
    ws.column_dimensions["A"].width = 42
    for letter in "BCDEFG":
        ws.column_dimensions[letter].width = 18
    bold = Font(bold=True)
    for line in summary.lines:
        cells = []
        for i, value in enumerate(line):
            if isinstance(value, datetime):
                value = _cell(ws, value.replace(tzinfo=None), EXCEL_TIME)
            elif isinstance(value, str):
                value = _ILLEGAL.sub("", safe_text(value))
            if i == 0 and len(line) == 1 and isinstance(value, str):
                value = _styled(ws, value, bold)
            cells.append(value)
        ws.append(cells)


def _styled(ws: Any, value: str, font: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.font = font
    return cell


def _sheet(book: Any, title: str, headers: list[str], widths: list[int]) -> Any:
    from openpyxl.utils import get_column_letter

    ws = book.create_sheet(title[:31])
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.append(headers)
    return ws


def file_chunks(handle: IO[bytes], size: int = FLUSH_BYTES) -> Iterator[bytes]:
    try:
        while chunk := handle.read(size):
            yield chunk
    finally:
        handle.close()


def local_now() -> datetime:
    return datetime.now(local_zone())
