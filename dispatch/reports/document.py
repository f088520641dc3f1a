"""The report document the department sends up: a Vietnamese DOCX, built in the background.

Layout of a Vietnamese administrative report (Decree 30/2020/ND-CP): the issuing unit and the
national motto side by side, place and date, the title "BÁO CÁO Kết quả …", the basis (căn
cứ), the results per channel, campaign, operator and locality as tables with charts (PNG drawn
by dispatch.reports.charts), the problems by reason, and "Đề xuất, kiến nghị" left for staff
to write. The document is always Vietnamese, whoever asked for it.

Files live under the instance folder, `reports/<scope key>/<YYYYmmdd-HHMMSS-micro>.docx` (UTC),
written to a temporary name and renamed when complete; `pending` beside them says a job was asked
for (its content: when). The job takes the scope's plain arguments (`ReportScope.args`), so it can
run twice: each run writes a new, complete file. No PDF is produced (docs/ENGINE.md says why).
"""

from __future__ import annotations

import io
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale

from dispatch import jobs
from dispatch.config import local_zone
from dispatch.extensions import db
from dispatch.ops.files import private_dir
from dispatch.reports import charts, survey
from dispatch.reports import scope as scopes
from dispatch.reports.scope import ReportScope

log = logging.getLogger(__name__)

JOB = "dispatch.reports.document.make_document"
QUEUE = "low"
KEEP = 5  # documents kept per scope; older ones are deleted when a new one is written
PENDING_FOR = timedelta(hours=1)  # a `pending` older than this belongs to a job that died
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_NAME = re.compile(r"^\d{8}-\d{6}-\d{6}\.docx$")
_KEY = re.compile(r"^[a-z]+-[0-9-]+$")

UNIT_PARENT = "UBND TỈNH HẬU GIANG"
UNIT = "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"
UNIT_SHORT = "Sở Thông tin và Truyền thông"
PLACE = "Hậu Giang"
CHANNELS = {"sms": "Tin nhắn SMS", "push": "Thông báo qua ứng dụng"}
OPERATORS = {"viettel": "Viettel", "vinaphone": "VinaPhone", "mobifone": "MobiFone",
             "vietnamobile": "Vietnamobile", "gmobile": "Gmobile", "itelecom": "Itelecom",
             "other": "Khác"}
REPLY_CHANNELS = {"sms": "Tin nhắn SMS", "app": "Trên ứng dụng"}
FREE_TEXTS = 200  # free replies written out in the document; all of them are in the inbox
STATUSES = {"completed": "Hoàn thành", "sending": "Đang gửi", "paused": "Tạm dừng",
            "cancelled": "Đã hủy", "scheduled": "Đã lên lịch", "approved": "Đã duyệt"}


# --- where documents are ---------------------------------------------------------------------

def folder(key: str) -> Path:
    if not _KEY.match(key):
        raise ValueError(f"bad report key {key!r}")
    return Path(current_app.config["INSTANCE_PATH"]) / "reports" / key


@dataclass(frozen=True)
class Stored:
    name: str
    made_at: datetime  # local time
    size: int


def newest(key: str) -> Stored | None:
    docs = stored(key)
    return docs[0] if docs else None


def stored(key: str) -> list[Stored]:
    where = folder(key)
    if not where.is_dir():
        return []
    out = []
    for path in where.iterdir():
        if _NAME.match(path.name):
            made = datetime.strptime(path.stem, "%Y%m%d-%H%M%S-%f").replace(tzinfo=UTC)
            out.append(Stored(path.name, made.astimezone(local_zone()), path.stat().st_size))
    return sorted(out, key=lambda d: d.name, reverse=True)


def path_of(key: str, name: str) -> Path | None:
    """The stored document `name` of scope `key`, or None (never a path outside its folder)."""
    if not _NAME.match(name):
        return None
    path = folder(key) / name
    return path if path.is_file() else None


def pending_since(key: str) -> datetime | None:
    """When a document was asked for that is not written yet (None: nothing pending)."""
    marker = folder(key) / "pending"
    try:
        asked = datetime.fromisoformat(marker.read_text().strip())
    except (OSError, ValueError):
        return None
    if datetime.now(UTC) - asked > PENDING_FOR:
        return None
    return asked.astimezone(local_zone())


def request_document(scope: ReportScope) -> None:
    """Mark the scope's document as asked for, then enqueue the job that writes it."""
    where = private_dir(folder(scope.key))
    marker = where / "pending"
    marker.write_text(datetime.now(UTC).isoformat())
    try:
        jobs.queue(QUEUE).enqueue(JOB, list(scope.args), job_timeout=1800,
                                  description=f"report document {scope.key}")
    except BaseException:
        marker.unlink(missing_ok=True)  # nothing will write it: do not say it is coming
        raise


# --- the job ---------------------------------------------------------------------------------

@jobs.in_app_context
def make_document(args: list[str]) -> str:
    """Job: write the scope's document; return its file name."""
    scope = scopes.rebuild(args)
    with force_locale("vi"):
        data = build(scope, scopes.figures(scope))
    where = private_dir(folder(scope.key))
    name = f"{datetime.now(UTC):%Y%m%d-%H%M%S-%f}.docx"
    partial = where / f".{name}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    partial.replace(where / name)
    (where / "pending").unlink(missing_ok=True)
    for old in stored(scope.key)[KEEP:]:
        (where / old.name).unlink(missing_ok=True)
    log.info("report document %s/%s written (%d bytes)", scope.key, name, len(data))
    return name


# --- the document ----------------------------------------------------------------------------

def _n(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return f"{int(value):,}".replace(",", ".")


def _vnd(value: Any) -> str:
    return f"{_n(value)} đồng"


def build(scope: ReportScope, fig: dict[str, Any]) -> bytes:
    """The DOCX of `scope` with figures `fig` (dispatch.reports.scope.figures)."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(13)

    def para(text: str = "", *, bold: bool = False, italic: bool = False, center: bool = False,
             size: int | None = None) -> Any:
        p = doc.add_paragraph()
        run = p.add_run(text)
        run.bold, run.italic = bold, italic
        if size:
            run.font.size = Pt(size)
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        return p

    # Heading: the unit on the left, the national motto on the right.
    head = doc.add_table(rows=1, cols=2)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = head.rows[0].cells
    for cell, lines in ((left, [(UNIT_PARENT, False), (UNIT, True), ("Số: …/BC-STTTT", False)]),
                        (right, [("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", True),
                                 ("Độc lập - Tự do - Hạnh phúc", True)])):
        cell.paragraphs[0].text = ""
        for i, (text, bold) in enumerate(lines):
            p = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
            run = p.add_run(text)
            run.bold = bold
            run.font.size = Pt(12)
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    made = fig["as_of"]
    dated = right.add_paragraph()
    run = dated.add_run(f"{PLACE}, ngày {made:%d} tháng {made:%m} năm {made:%Y}")
    run.italic = True
    dated.alignment = WD_ALIGN_PARAGRAPH.CENTER

    para()
    para("BÁO CÁO", bold=True, center=True, size=14)
    what = (f"Kết quả nhắn tin thông tin, tuyên truyền {_period(scope)}" if scope.kind == "range"
            else f"Kết quả nhắn tin thông tin, tuyên truyền: {scope.title}")
    para(what, bold=True, center=True)

    for ref in scope.basis or ["Kế hoạch số …/KH-… ngày … tháng … năm … của … "
                               "(cán bộ bổ sung số, ngày của kế hoạch)"]:
        para(f"Căn cứ {ref};", italic=True)
    para(f"{UNIT_SHORT} báo cáo kết quả thực hiện như sau (số liệu tính đến "
         f"{made:%H:%M} ngày {made:%d/%m/%Y}, lấy từ sổ gửi tin của hệ thống Loa):")

    total = fig["total"]
    para("I. KẾT QUẢ THỰC HIỆN", bold=True)
    para("1. Tổng hợp chung", bold=True)
    approved = fig["approved"]
    para(f"Số chiến dịch: {_n(len(fig['campaigns']))}. Người nhận được duyệt: "
         f"{_n(approved['sms_recipients'])} thuê bao SMS và {_n(approved['push_devices'])} "
         f"thiết bị cài ứng dụng; đã gửi tới cổng {_n(total['submitted'])} tin, trong đó "
         f"{_n(total['delivered'])} tin SMS có báo đã nhận; chi phí ước tính "
         f"{_vnd(total['cost_vnd'])}.")
    _table(doc, ["Chỉ tiêu", "Số lượng"],
           [[row["label"], _n(row["count"])] for row in fig["funnel"]], key="funnel")
    _picture(doc, charts.bars_png("Phễu kết quả gửi tin",
                                  [(r["label"], r["count"]) for r in fig["funnel"]]))

    para("2. Theo kênh gửi", bold=True)
    for channel, t in fig["by_channel"].items():
        name = CHANNELS.get(channel, channel)
        if channel == "sms":
            share = t["sms_delivered_percent"]
            para(f"- {name}: {_n(t['targeted'])} người nhận, đã gửi {_n(t['submitted'])}, "
                 f"đã nhận {_n(t['delivered'])} ({_n(share)} % số tin đã gửi), thất bại "
                 f"{_n(t['failed'])}, không rõ kết quả {_n(t['unknown'])}, "
                 f"{_n(t['parts_billed'])} phần tin tính cước.")
        else:
            para(f"- {name}: {_n(t['targeted'])} thiết bị, Firebase đã nhận "
                 f"{_n(t['accepted_by_fcm'])} thông báo (Firebase không báo thiết bị đã nhận "
                 f"hay chưa), thất bại {_n(t['failed'])}.")
    if not fig["by_channel"]:
        para("- Chưa có tin nào được gửi trong phạm vi báo cáo.")
    _table(doc, ["Kênh", "Người nhận", "Đã gửi", "Đã nhận", "Thất bại", "Không rõ",
                 "Không gửi"],
           [[CHANNELS.get(ch, ch), _n(t["targeted"]), _n(t["submitted"]), _n(t["delivered"]),
             _n(t["failed"]), _n(t["unknown"]), _n(t["suppressed"])]
            for ch, t in fig["by_channel"].items()], key="channels")

    para("3. Theo đợt, chiến dịch", bold=True)
    _table(doc, ["Đợt", "Số chiến dịch", "Người nhận", "Đã gửi", "Đã nhận", "Thất bại",
                 "Chi phí (đồng)"],
           [[phase, _n(p["campaigns"]), _n(p["targeted"]), _n(p["submitted"]),
             _n(p["delivered"]), _n(p["failed"]), _n(p["cost_vnd"])]
            for phase, p in fig["by_phase"].items()], key="phases")
    _table(doc, ["Chiến dịch", "Đợt", "Bắt đầu", "Người nhận", "Đã gửi", "Đã nhận",
                 "Chi phí (đồng)"],
           [[item["campaign"].title, scopes.phase_of(item["campaign"]) or "—",
             item["started_at"].strftime("%d/%m/%Y %H:%M") if item["started_at"] else "—",
             _n(item["figures"]["targeted"]), _n(item["figures"]["submitted"]),
             _n(item["figures"]["delivered"]), _n(item["figures"]["cost_vnd"])]
            for item in fig["campaigns"]], key="campaigns")

    para("4. Theo nhà mạng (SMS)", bold=True)
    _table(doc, ["Nhà mạng", "Người nhận", "Đã gửi", "Đã nhận", "Thất bại", "Tỷ lệ nhận (%)"],
           [[OPERATORS.get(op, op), _n(t["targeted"]), _n(t["submitted"]), _n(t["delivered"]),
             _n(t["failed"]), _n(t["sms_delivered_percent"])]
            for op, t in fig["by_operator"].items()], key="operators")

    para("5. Theo địa bàn", bold=True)
    _table(doc, ["Địa bàn", "Người nhận", "Đã gửi", "Đã nhận", "Thất bại"],
           [[row["name"], _n(row["targeted"]), _n(row["submitted"]), _n(row["delivered"]),
             _n(row["failed"])] for row in fig["by_locality"]], key="localities")

    para("6. Chi phí", bold=True)
    _table(doc, ["Nhà mạng", "Phần tin tính cước", "Đơn giá (đồng/phần)", "Thành tiền (đồng)"],
           [*([OPERATORS.get(op, op), _n(t["parts_billed"]), _n(fig["prices"][op]),
               _n(t["cost_vnd"])] for op, t in fig["by_operator"].items()),
            ["Tổng cộng", _n(total["parts_billed"]), "", _n(total["cost_vnd"])]], key="cost")
    para("Chi phí là ước tính theo đơn giá hiện hành của từng nhà mạng; số liệu đối soát "
         "cước theo hóa đơn của nhà mạng.", italic=True)

    buckets = fig["timeline"]["buckets"]
    if buckets:
        para("7. Diễn biến gửi tin theo thời gian", bold=True)
        labels = [b["start"].strftime("%d/%m %H:%M") for b in buckets]
        _picture(doc, charts.lines_png(
            "Số tin đã gửi và đã nhận theo thời gian", labels,
            [("Đã gửi", [b["submitted"] for b in buckets]),
             ("Đã nhận", [b["delivered"] for b in buckets])]))

    if fig["surveys"]:
        para(f"{8 if buckets else 7}. Kết quả khảo sát, lấy ý kiến", bold=True)
        for result in fig["surveys"]:
            _survey(doc, para, scope, result)

    para("II. TỒN TẠI, HẠN CHẾ", bold=True)
    if fig["problems"]:
        para("Các tin không đến được người nhận, theo lý do:")
        _table(doc, ["Nhóm", "Lý do", "Mã", "Số tin"],
               [[p["heading"], p["words"], p["code"], _n(p["count"])] for p in fig["problems"]],
               key="problems")
    else:
        para("Không ghi nhận tin lỗi trong phạm vi báo cáo.")

    para("III. ĐỀ XUẤT, KIẾN NGHỊ", bold=True)
    para("(Cán bộ phụ trách điền nội dung đề xuất, kiến nghị.)", italic=True)
    for _ in range(3):
        para("…" * 40)

    sign = doc.add_table(rows=1, cols=2)
    to, who = sign.rows[0].cells
    to.paragraphs[0].add_run("Nơi nhận:").bold = True
    for line in ("- …;", "- Lưu: VT."):
        to.add_paragraph(line)
    for i, (text, bold) in enumerate((("GIÁM ĐỐC", True), ("(Ký, ghi rõ họ tên)", False))):
        p = who.paragraphs[0] if i == 0 else who.add_paragraph()
        p.add_run(text).bold = bold
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _survey(doc: Any, para: Any, scope: ReportScope, r: dict[str, Any]) -> None:
    """One campaign's survey or free replies (dispatch.reports.survey.results)."""
    c = next(c for c in scope.campaigns if c.id == r["campaign_id"])
    if scope.kind != "campaign":
        para(f"- Chiến dịch: {c.title}", bold=True)
    if r["question"]:
        para(f"Câu hỏi: {r['question']}", italic=True)
    else:
        para("Chiến dịch đề nghị người nhận trả lời tự do.", italic=True)
    what = "số trả lời được tính" if r["mode"] == "survey" else "số người trả lời"
    para(f"Thời hạn nhận trả lời: {r['window']['days']} ngày; {what}: {_n(r['answers'])}; "
         f"số người đã nhận tin: {_n(r['reached']['total'])}; tỷ lệ trả lời: "
         f"{_n(r['response_rate_percent'])} %. Ý kiến trả lời tự do: {_n(r['free_replies'])}. "
         f"Được lưu nhưng không tính: {_n(r['not_counted']['replaced'])} trả lời trước đã "
         f"được thay bằng trả lời sau, {_n(r['not_counted']['over_limit'])} tin vượt giới hạn "
         f"trong ngày; {_n(r['not_counted']['opted_out'])} người từ chối nhận tin bằng tin "
         "trả lời.")
    if r["choices"]:
        _table(doc, ["Phương án", "Số trả lời", "Tỷ lệ (%)"],
               [*([f"{ch['key']}. {ch['label']}", _n(ch["answers"]), _n(ch["percent"])]
                  for ch in r["choices"]), ["Tổng cộng", _n(r["answers"]), ""]],
               key="survey_choices")
        _picture(doc, charts.bars_png("Số trả lời theo phương án",
                                      [(ch["label"], ch["answers"]) for ch in r["choices"]]))
    _table(doc, ["Kênh", "Số trả lời", "Số người đã nhận tin", "Tỷ lệ trả lời (%)"],
           [*([REPLY_CHANNELS.get(ch, ch), _n(row["answers"]), _n(row["reached"]),
               _n(row["rate_percent"])] for ch, row in r["by_channel"].items()),
            ["Tổng cộng", _n(r["answers"]), _n(r["reached"]["total"]),
             _n(r["response_rate_percent"])]], key="survey_channels")
    if "by_locality" not in r:
        return
    keys = [ch["key"] for ch in r["choices"]]
    labels = [ch["label"] for ch in r["choices"]]
    _table(doc, ["Địa bàn", "Số trả lời", *labels, "Số người đã nhận tin", "Tỷ lệ trả lời (%)"],
           [[row["name"], _n(row["answers"]), *(_n(row["by_choice"][k]) for k in keys),
             _n(row["reached"]), _n(row["rate_percent"])] for row in r["by_locality"]],
           key="survey_localities")
    _table(doc, ["Nhà mạng", "Số trả lời", *labels, "SMS đã nhận", "Tỷ lệ trả lời (%)"],
           [[OPERATORS.get(op, op), _n(row["answers"]), *(_n(row["by_choice"][k]) for k in keys),
             _n(row["reached"]), _n(row["rate_percent"])]
            for op, row in r["by_operator"].items()], key="survey_operators")
    buckets = r["timeline"]["buckets"]
    if buckets:
        _picture(doc, charts.lines_png(
            "Tin trả lời theo thời gian (giờ Việt Nam)",
            [b["start"].strftime("%d/%m %H:%M") for b in buckets],
            [("Tin trả lời nhận được", [b["replies"] for b in buckets]),
             ("Số trả lời được tính", [b["answers"] for b in buckets])]))
    if r["free_replies"]:
        texts = db.session.scalars(survey.free_replies(c).limit(FREE_TEXTS)).all()
        para(f"Ý kiến trả lời tự do ({_n(r['free_replies'])} ý kiến"
             + (f", {FREE_TEXTS} ý kiến mới nhất dưới đây; xem đủ trong hộp thư phản hồi):"
                if r["free_replies"] > FREE_TEXTS else "):"))
        for reply in texts:
            when = reply.received_at.astimezone(local_zone())
            para(f"- {when:%d/%m/%Y %H:%M}: {reply.text}")


def _period(scope: ReportScope) -> str:
    if scope.period is None:
        return ""
    since, until = scope.period
    return f"từ ngày {since:%d/%m/%Y} đến ngày {until:%d/%m/%Y}"


def _table(doc: Any, headers: list[str], rows: list[list[str]], *, key: str) -> None:
    """A bordered table with a bold header row (`key` names it for the reader of the code)."""
    from docx.shared import Pt

    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        run.font.size = Pt(11)
    for row in rows or [["Không có số liệu", *[""] * (len(headers) - 1)]]:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(str(text)).font.size = Pt(11)
    doc.add_paragraph()


def _picture(doc: Any, png: bytes) -> None:
    from docx.shared import Cm

    doc.add_picture(io.BytesIO(png), width=Cm(15.5))
