"""The report document: asked for on the report page, written by the RQ job, downloaded, opened
with python-docx; its tables hold the ledger's figures. Written again on request."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import docx
import pytest
from rq import Queue

from dispatch.extensions import db
from dispatch.jobs import Worker
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus
from tests.helpers import report_pages
from tests.helpers.report_pages import count, vi
from tests.helpers.reports import T0, Ledger, campaign

S = MessageStatus
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture()
def finished(app: Any, people: dict[str, Any]) -> Campaign:
    return report_pages.finished_campaign(app, people)


def work() -> None:
    """Run the queued jobs (the document's queue is `low`) in this process, then stop."""
    conn = get_redis()
    Worker([Queue(name, connection=conn) for name in ("urgent", "default", "low")],
           connection=conn).work(burst=True)


def table(document: Any, first_header: str) -> list[list[str]]:
    """The rows (header included) of the document's table whose first header cell is given."""
    for t in document.tables:
        rows = [[cell.text.strip() for cell in row.cells] for row in t.rows]
        if rows and rows[0][0] == first_header:
            return rows
    raise AssertionError(f"no table {first_header!r}")


def download_link(html: str) -> str:
    found = re.search(r'<a class="button" href="([^"]+)" data-document', html)
    assert found, "no download link"
    return found.group(1)


def test_the_document_is_written_downloaded_and_holds_the_ledger(
        finished: Campaign, as_role: Any, redis: Any) -> None:
    c = finished
    clerk = as_role("editor")
    before = clerk.get(f"/campaigns/{c.id}/report").get_data(as_text=True)
    assert "Chưa có văn bản báo cáo" in before and "data-document" not in before

    asked = clerk.post(f"/campaigns/{c.id}/report/document")
    assert asked.status_code == 302
    waiting = clerk.get(f"/campaigns/{c.id}/report").get_data(as_text=True)
    assert "data-pending" in waiting and "Đang tạo văn bản mới" in waiting
    work()

    page = clerk.get(f"/campaigns/{c.id}/report").get_data(as_text=True)
    assert "data-pending" not in page and "Tạo lúc" in page
    link = download_link(page)
    got = clerk.get(link)
    assert got.status_code == 200 and got.mimetype == DOCX
    assert "attachment" in got.headers["Content-Disposition"]
    document = docx.Document(io.BytesIO(got.data))
    text = "\n".join(p.text for p in document.paragraphs)
    heading = "\n".join(cell.text for cell in document.tables[0].rows[0].cells)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in heading
    assert "Độc lập - Tự do - Hạnh phúc" in heading and "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" in heading
    assert re.search(r"Hậu Giang, ngày \d\d tháng \d\d năm \d{4}", heading)
    assert "BÁO CÁO" in text and f"Kết quả nhắn tin thông tin, tuyên truyền: {c.title}" in text
    assert "Căn cứ Kế hoạch số 45/KH-STTTT ngày 01/3/2025;" in text
    assert "II. TỒN TẠI, HẠN CHẾ" in text and "III. ĐỀ XUẤT, KIẾN NGHỊ" in text
    assert len(document.inline_shapes) == 2  # the funnel and the timeline, as pictures

    funnel = dict(table(document, "Chỉ tiêu")[1:])
    assert funnel["Người nhận được duyệt"] == "26"
    assert funnel["Trong danh sách gửi"] == vi(count(c.id))
    assert funnel["Đã nhận"] == vi(count(c.id, Message.status == S.DELIVERED)) == "7"
    assert funnel["Thất bại"] == vi(count(c.id, Message.status == S.FAILED)) == "3"
    assert funnel["Không rõ kết quả"] == vi(count(c.id, Message.status == S.UNKNOWN))
    assert funnel["trong đó từ chối nhận tin"] == vi(
        count(c.id, Message.status == S.SUPPRESSED, Message.reason == "opt_out")) == "3"
    channels = {row[0]: row[1:] for row in table(document, "Kênh")[1:]}
    assert channels["Tin nhắn SMS"][0] == vi(count(c.id, Message.channel == "sms"))
    assert channels["Thông báo qua ứng dụng"][0] == vi(count(c.id, Message.channel == "push"))
    operators = {row[0]: row[1:] for row in table(document, "Nhà mạng")[1:]}
    assert operators["Viettel"][:4] == [
        vi(count(c.id, Message.operator == "viettel")), "10",
        vi(count(c.id, Message.operator == "viettel", Message.status == S.DELIVERED)),
        vi(count(c.id, Message.operator == "viettel", Message.status == S.FAILED))]
    # Two tables open with "Nhà mạng": by operator, then the cost.
    cost = [t for t in ([[cell.text for cell in r.cells] for r in tb.rows]
                        for tb in document.tables) if t[0][0] == "Nhà mạng"][1]
    assert cost[-1] == ["Tổng cộng", "15", "", "12.000"]
    problems = {(row[2]): row[3] for row in table(document, "Nhóm")[1:]}
    assert problems["UNDELIV"] == "1" and problems["opt_out"] == "3"
    assert problems["ESME_RINVDSTADR"] == "1" and problems["no_receipt"] == "1"
    places = {row[0]: row[1] for row in table(document, "Địa bàn")[1:]}
    assert places["Thành phố Vị Thanh"] == "13" and places["Thành phố Ngã Bảy"] == "5"
    assert places["Chưa rõ địa bàn"] == "7"

    # Written again on request: a newer document, the page links the newest.
    clerk.post(f"/campaigns/{c.id}/report/document")
    work()
    again = download_link(clerk.get(f"/campaigns/{c.id}/report").get_data(as_text=True))
    assert again != link and again > link
    assert clerk.get(link).status_code == 200  # the older one is still there


def test_a_period_document_lists_its_campaigns(finished: Campaign, as_role: Any, redis: Any,
                                               people: dict[str, Any]) -> None:
    other = campaign(people, "Nhắc lịch bầu cử", status=CampaignStatus.COMPLETED,
                     launched=T0 + timedelta(days=2), channels="sms")
    Ledger(other).sms("mobifone", S.DELIVERED, submitted=172800, finished=172830, count=3)
    db.session.commit()
    approver = as_role("approver")
    asked = approver.post("/reports/document", {"since": "01/03/2025", "until": "2025-03-31"})
    assert asked.status_code == 302 and "since=2025-03-01" in asked.headers["Location"]
    work()
    page = approver.get("/reports?since=2025-03-01&until=2025-03-31").get_data(as_text=True)
    document = docx.Document(io.BytesIO(approver.get(download_link(page)).data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "từ ngày 01/03/2025 đến ngày 31/03/2025" in text
    phases = {row[0]: row[1:5] for row in table(document, "Đợt")[1:]}
    assert phases == {finished.phase.name: ["1", "25", "17", "7"], "—": ["1", "3", "3", "3"]}
    campaigns = {row[0]: row[3:6] for row in table(document, "Chiến dịch")[1:]}
    assert campaigns == {finished.title: ["25", "17", "7"], other.title: ["3", "3", "3"]}
    # No plan reference is known for the second campaign, but the first's is the basis.
    assert "Căn cứ Kế hoạch số 45/KH-STTTT" in text


def test_an_unreachable_queue_is_said_not_hidden(finished: Campaign, as_role: Any, app: Any,
                                                  redis: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    clerk = as_role("editor")  # signing in uses Redis too: before it goes away
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    app.extensions.pop("loa_redis", None)
    try:
        asked = clerk.post(f"/campaigns/{finished.id}/report/document")
        assert asked.status_code == 302
        page = clerk.get(f"/campaigns/{finished.id}/report").get_data(as_text=True)
        assert "Không kết nối được hàng đợi" in page and "data-pending" not in page
    finally:
        app.extensions.pop("loa_redis", None)


def test_a_phase_document_names_its_phase_and_plan(finished: Campaign, as_role: Any,
                                                   redis: Any) -> None:
    phase = finished.phase
    clerk = as_role("editor")
    address = f"/plans/{phase.plan_id}/phases/{phase.id}/report"
    asked = clerk.post(f"{address}/document")
    assert asked.status_code == 302 and asked.headers["Location"].endswith(address)
    work()
    page = clerk.get(address).get_data(as_text=True)
    document = docx.Document(io.BytesIO(clerk.get(download_link(page)).data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert phase.name in text and f"Căn cứ {phase.plan.title}" in text
    campaigns = {row[0]: row[3:6] for row in table(document, "Chiến dịch")[1:]}
    assert campaigns == {finished.title: ["25", "17", "7"]}
