"""The approval, launch and campaign pages show approved against actual recipients and cost."""

from __future__ import annotations

import re
from typing import Any

from rq import Queue, SimpleWorker

from dispatch.extensions import db
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import CampaignStatus, Contact, ContactList, ListMember, User
from dispatch.sms import accounts as smpp_accounts
from tests.helpers import web as helpers
from tests.helpers.engine import submit

GREW = ("2 người đã vào đối tượng nhận sau khi danh sách được chốt để duyệt: chiến dịch này "
        "không gửi cho họ.")


def grow(lst: ContactList, n: int) -> None:
    for i in range(n):
        contact = Contact(msisdn=f"+8498765{i:04d}", operator="viettel")
        db.session.add(contact)
        db.session.flush()
        db.session.add(ListMember(list_id=lst.id, contact_id=contact.id))
    db.session.commit()


def row(html: str, name: str) -> list[str]:
    """The cells of the reach table's row `name` (sms-recipients, sms-cost, push-devices)."""
    found = re.search(rf'<tr data-reach="{name}">(.*?)</tr>', html, re.S)
    assert found, name
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)]


def test_a_grown_list_is_shown_before_approval_at_launch_and_after(
        backend: str, as_role: Any, redis: Any, people: dict[str, User]) -> None:
    smpp_accounts.create(
        {"name": "viettel", "host": "127.0.0.1", "port": 2775, "system_id": "loa",
         "password": "pw", "operators": ["viettel"], "brandnames": ["HAUGIANG"]}, actor=None)
    lst = helpers.contact_list(numbers=3)
    c = helpers.submitted(people["editor"], lst)
    grow(lst, 2)

    approver = as_role("approver")
    review = approver.get(f"/approvals/{c.id}").get_data(as_text=True)
    assert "Trình duyệt" in review and "Nếu gửi bây giờ" in review
    assert row(review, "sms-recipients") == ["Người nhận SMS", "3", "3", "0"]
    assert GREW in review
    # The estimate the approver reads is the frozen one: 3 recipients, not the 5 of the list now.
    assert "3 người nhận qua SMS" in review and "5 người nhận qua SMS" not in review

    approver.post(f"/approvals/{c.id}", {"decision": "approve", "snapshot_hash": c.snapshot_hash})
    assert c.status is CampaignStatus.APPROVED
    editor = as_role("editor")
    confirm = editor.get(f"/campaigns/{c.id}/confirm/launch").get_data(as_text=True)
    assert GREW in confirm and row(confirm, "sms-recipients")[1:3] == ["3", "3"]
    launched = editor.post(f"/campaigns/{c.id}/confirm/launch")
    assert launched.status_code == 302
    after = editor.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert GREW in after  # the flash on launching, and the campaign page's own note

    SimpleWorker([Queue("default", connection=get_redis())],
                 connection=get_redis()).work(burst=True)
    db.session.expire_all()
    page = editor.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert "Người nhận được duyệt và thực tế" in page and "Thực tế" in page
    assert row(page, "sms-recipients") == ["Người nhận SMS", "3", "3", "0"]
    approved_cost, actual_cost = row(page, "sms-cost")[1:3]
    assert approved_cost == actual_cost and approved_cost.endswith("₫")
    assert GREW in page


def test_an_approval_names_the_freeze_it_reviewed(backend: str, as_role: Any,
                                                  people: dict[str, User]) -> None:
    """Withdrawn and submitted again unchanged: same hash, a new freeze; the old page is stale."""
    from dispatch.campaigns import service

    lst = helpers.contact_list(numbers=3)
    c = helpers.submitted(people["editor"], lst)
    approver = as_role("approver")
    review = approver.get(f"/approvals/{c.id}").get_data(as_text=True)
    seen = re.search(r'name="frozen_at" value="([^"]+)"', review)
    assert seen
    service.reopen(c, actor=people["editor"])
    db.session.commit()
    grow(lst, 2)
    submit(c, actor=people["editor"])
    stale = approver.post(f"/approvals/{c.id}", {"decision": "approve",
                                                 "snapshot_hash": c.snapshot_hash,
                                                 "frozen_at": seen.group(1)})
    assert stale.status_code == 422
    assert "Đối tượng nhận đã được chốt lại sau khi bạn xem" in stale.get_data(as_text=True)
    assert c.status is CampaignStatus.PENDING_APPROVAL
    fresh = approver.get(f"/approvals/{c.id}").get_data(as_text=True)
    assert row(fresh, "sms-recipients")[1] == "5"
