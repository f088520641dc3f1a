"""The expected duration on the three pages before launch, and the pace while sending."""

from __future__ import annotations

from typing import Any

from dispatch.models import User
from dispatch.sms import status as smpp_status
from tests.helpers import web as helpers
from tests.helpers.factories import add_account
from tests.helpers.sms import make_campaign, queue_rows

EXPECTED = "Thời gian gửi SMS dự kiến: ≈ 1 phút; viettel là tài khoản lâu nhất."


def test_the_duration_is_on_the_preview_the_approval_and_the_launch_confirmation(
        backend: str, as_role: Any, redis: Any, people: dict[str, User]) -> None:
    add_account(name="viettel", tps=1)  # 3 recipients, 1 part each, 1 a second: 3 s
    lst = helpers.contact_list(numbers=3)
    c = helpers.submitted(people["editor"], lst)
    editor, approver = as_role("editor"), as_role("approver")
    assert EXPECTED in editor.get(f"/campaigns/{c.id}").get_data(as_text=True)
    review = approver.get(f"/approvals/{c.id}").get_data(as_text=True)
    assert EXPECTED in review
    approver.post(f"/approvals/{c.id}", {"decision": "approve", "snapshot_hash": c.snapshot_hash})
    confirm = editor.get(f"/campaigns/{c.id}/confirm/launch").get_data(as_text=True)
    assert EXPECTED in confirm
    # Whether it ends tonight or continues tomorrow depends on the time the test runs: the
    # page says one or the other (the arithmetic is tests/dispatch/campaigns/test_duration.py).
    assert "Dự kiến kết thúc khoảng" in confirm or "sáng hôm sau" in confirm


def test_while_sending_the_page_says_what_sets_each_accounts_pace(
        backend: str, as_role: Any, redis: Any, people: dict[str, User]) -> None:
    account = add_account(name="viettel", tps=5000, window=20)
    c = make_campaign(people["editor"])
    queue_rows(c, account, 5)
    row = {"account_id": account.id, "account": "viettel", "process": "test",
           "state": "bound", "bind_mode": "transceiver", "window": 20, "round_trip": 0.03,
           "accepted_rate": 640.0, "refused_recent": 0}
    smpp_status.publish(redis, [{**row, "name": "viettel-1"}, {**row, "name": "viettel-2"}])
    page = as_role("editor").get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert 'data-pace-limit="window"' in page
    assert "cửa sổ: SMSC trả lời quá chậm so với TPS" in page
    assert "1.333" in page  # 2 binds × 20 ÷ 0.03 s, in the window limit column


def test_an_admin_sets_an_account_to_evenly_spaced_submits(backend: str, as_role: Any) -> None:
    from sqlalchemy import select

    from dispatch.extensions import db
    from dispatch.models import SmppAccount

    account = add_account(name="viettel", tps=50)
    assert account.pacing == "per_second"  # today's behaviour unless told
    admin = as_role("admin")
    form = admin.get(f"/admin/smpp/{account.id}").get_data(as_text=True)
    assert "Giãn đều (khoảng cách tối thiểu)" in form
    values = {"name": "viettel", "host": "127.0.0.1", "port": "2775", "system_id": "loa",
              "bind_mode": "trx", "binds": "1", "tps": "50", "window": "10",
              "pacing": "spacing", "source_ton": "5", "source_npi": "0",
              "validity_minutes": "1440", "id_format": "auto", "concat": "udh",
              "brandnames": "LOA", "operators": ["viettel"], "enabled": "on"}
    assert admin.post(f"/admin/smpp/{account.id}", values).status_code == 302
    db.session.expire_all()
    assert db.session.scalars(select(SmppAccount)).one().pacing == "spacing"
    refused = admin.post(f"/admin/smpp/{account.id}", values | {"pacing": "fast"})
    assert refused.status_code == 422
