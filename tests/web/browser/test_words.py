"""The pages' script speaks the catalog's words: a paused campaign's note, redrawn by loa.js
from the progress API's code, reads as the server wrote it, in Vietnamese."""

from __future__ import annotations

import pytest

from dispatch.campaigns import notes
from dispatch.extensions import db
from dispatch.models import CampaignStatus, User
from tests.helpers.factories import PASSWORD
from tests.helpers.reports import T0, campaign
from tests.helpers.screen import Screen

pytestmark = pytest.mark.browser


def test_the_script_redraws_a_pause_note_in_vietnamese(backend: str, screen: Screen,
                                                        people: dict[str, User]) -> None:
    reason = notes.note(notes.GATEWAY_FAILURES, count=5, account="viettel-1",
                        last="ESME_RSYSERR")
    c = campaign(people, "Thông báo lịch tiếp công dân", status=CampaignStatus.PAUSED,
                 launched=T0, channels="sms", pause_reason=reason, expanded_at=T0)
    db.session.commit()
    screen.sign_in("approver1", PASSWORD)
    page = screen.page
    with page.expect_response(lambda r: r.url.endswith(f"/api/campaigns/{c.id}/progress")):
        page.goto(f"/campaigns/{c.id}")
    written = ("Tạm dừng: hệ thống tự dừng sau 5 lần gửi lỗi liên tiếp qua tài khoản SMPP "
               "viettel-1 (lần cuối: Lỗi hệ thống của nhà mạng).")
    # The script has had the API's answer (a code) and redrawn the note from it.
    page.wait_for_timeout(300)
    note = page.locator(".progress-panel [data-f=note]")
    assert note.inner_text() == written
    screen.shot("words-paused-note")
    assert screen.errors == []

