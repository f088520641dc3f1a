"""Progress that tells the truth: why nothing moves (the send window, a pause, no bind), what a
cancelled campaign sent, no rate or ETA when nothing moves, pushes apart from the operators —
through the progress API, the campaign page and the dashboard."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from dispatch.campaigns import service
from dispatch.config import local_zone
from dispatch.engine import ledger
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.models import Campaign, Message, MessageStatus, User
from dispatch.sms import status as smpp_status
from tests.helpers.engine import launched, numbers, work
from tests.helpers.factories import add_account, add_contacts
from tests.helpers.push import make_device, queue_rows

S = MessageStatus


def _closed_window() -> tuple[time, time, str]:
    """A same-day window the present moment is outside of, and how the page says it opens."""
    now = datetime.now(local_zone())
    if now.hour < 22:
        start = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0).time()
        return start, time(23, 59), start.strftime("%H:%M")
    tomorrow = (now + timedelta(days=1)).strftime("%d/%m/%Y")
    return time(7, 0), time(8, 0), f"07:00 {tomorrow}"


def _progress(api: Any, who: User, c: Campaign, redis: Any) -> dict[str, Any]:
    redis.delete(keys.progress(c.id))  # the figures as of now, not the cached ones
    r = api.as_(who).get(f"/api/campaigns/{c.id}/progress")
    assert r.status_code == 200, r.json
    return dict(r.json)


def _stats(page: str) -> dict[str, str]:
    """The panel's figures by name: rate, eta, percent…"""
    return dict(re.findall(r'data-f="(\w+)"[^>]*>([^<]*)<', page))


def test_a_campaign_outside_its_send_window_says_when_it_starts(
        backend: str, redis: Any, api: Any, as_role: Any, people: dict[str, User]) -> None:
    add_account()
    lst = add_contacts("A", numbers(0, 3))
    start, end, opens = _closed_window()
    c = launched(people, audience={"lists": [lst.id]}, window_start=start, window_end=end)
    work()
    figures = _progress(api, people["editor"], c, redis)
    assert figures["status"] == "sending" and figures["unsent"] == 3
    assert figures["waiting_for"] == "send_window"
    opening = datetime.fromisoformat(figures["waiting_until"]).astimezone(local_zone())
    assert opening.time() == start and opening > datetime.now(local_zone())
    assert figures["rate_per_second"] is None and figures["eta_seconds"] is None
    said = f"Chờ khung giờ gửi, bắt đầu lúc {opens}"
    editor = as_role("editor")
    page = editor.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert said in page and 'data-waiting="send_window"' in page
    # The page's script says the same from the API's code: the words are on the panel.
    assert 'data-wait-send_window="Chờ khung giờ gửi, bắt đầu lúc {time}"' in page
    assert said in editor.get("/").get_data(as_text=True)


def test_a_paused_campaign_shows_no_rate_and_no_time_left(
        backend: str, redis: Any, api: Any, as_role: Any, people: dict[str, User]) -> None:
    add_account()
    lst = add_contacts("A", numbers(0, 4))
    c = launched(people, audience={"lists": [lst.id]})
    work()
    ids = list(db.session.scalars(select(Message.id).where(Message.campaign_id == c.id)))
    ledger.claim(ids[:1])
    ledger.move(ids[:1], S.SUBMITTED)  # one submit in the last minute: a rate while moving
    db.session.commit()
    service.pause(c, actor=people["approver"])
    db.session.commit()
    figures = _progress(api, people["editor"], c, redis)
    assert figures["waiting_for"] == "paused"
    assert figures["rate_per_second"] is None and figures["eta_seconds"] is None
    page = as_role("editor").get(f"/campaigns/{c.id}").get_data(as_text=True)
    stats = _stats(page)
    assert stats["rate"] == "—" and stats["eta"] == "—"
    note = re.search(r"data-waiting=\"paused\">([^<]*)<", page)
    assert note and note.group(1).startswith("Tạm dừng"), note  # and why, if known


def test_no_bind_up_is_the_reason_and_a_bind_up_makes_it_move(
        backend: str, redis: Any, api: Any, people: dict[str, User]) -> None:
    account = add_account()
    lst = add_contacts("A", numbers(0, 2))
    c = launched(people, audience={"lists": [lst.id]})
    work()
    figures = _progress(api, people["editor"], c, redis)
    assert figures["waiting_for"] == "bind_down" and figures["rate_per_second"] is None
    smpp_status.publish(redis, [{"account_id": account.id, "account": account.name,
                                 "process": "test:1", "name": "trx-1", "state": "bound"}])
    figures = _progress(api, people["editor"], c, redis)
    assert figures["waiting_for"] is None and figures["rate_per_second"] == 0.0


def test_a_cancelled_campaign_shows_what_was_sent_not_a_green_100(
        backend: str, redis: Any, api: Any, as_role: Any, people: dict[str, User]) -> None:
    add_account()
    lst = add_contacts("A", numbers(0, 4))
    c = launched(people, audience={"lists": [lst.id]})
    work()
    ids = list(db.session.scalars(select(Message.id).where(Message.campaign_id == c.id)
                                  .order_by(Message.id)))
    ledger.claim(ids[:1])
    ledger.move(ids[:1], S.SUBMITTED)
    ledger.move(ids[:1], S.DELIVERED)
    db.session.commit()
    service.cancel(c, actor=people["approver"], reason="Sai nội dung")
    db.session.commit()
    figures = _progress(api, people["editor"], c, redis)
    assert figures["status"] == "cancelled" and figures["percent_sent"] == 25.0
    assert figures["waiting_for"] is None and figures["eta_seconds"] is None
    page = as_role("editor").get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert 'class="progress-panel cancelled"' in page
    assert '<progress max="100" value="25.0"' in page and _stats(page)["percent"] == "25 %"
    assert "Đã huỷ: đã gửi 1 trên 4 tin." in page


def test_pushes_are_shown_as_the_app_not_under_an_operator(
        backend: str, redis: Any, api: Any, as_role: Any, people: dict[str, User]) -> None:
    add_account()
    lst = add_contacts("A", numbers(0, 2))
    c = launched(people, audience={"lists": [lst.id]})
    work()
    queue_rows(c, [make_device(f"token-{i}") for i in range(3)])
    figures = _progress(api, people["editor"], c, redis)
    assert figures["by_operator"] == {"viettel": {"queued": 2}}
    assert figures["by_channel"]["push"] == {"queued": 3}
    page = as_role("editor").get(f"/campaigns/{c.id}").get_data(as_text=True)
    operators = page.split("data-operators>", 1)[1].split("</tbody>", 1)[0]
    assert "<td>—</td>" not in operators
    cell = r'<td[^>]*>(?:<div class="cell">)?'
    assert re.search(rf'data-channel-row="push">{cell}Thông báo ứng dụng(?:</div>)?</td>'
                     rf'{cell}3<', operators), operators
