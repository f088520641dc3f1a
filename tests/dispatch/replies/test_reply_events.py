"""Replies raise their webhook events: `reply.received` for each new or changed reply, and
`survey.answered` for one counted as an answer, written in the reply's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.hooks import events, registry
from dispatch.models import Device, HookEvent, Message, MessageStatus
from tests.helpers.push import AppClient, fcm_token, make_campaign, make_key

SURVEY = {"question": "Ban co dong y?", "choices": [{"key": "1", "label": "Đồng ý"},
                                                    {"key": "2", "label": "Không"}]}


def outbox() -> list[tuple[str, str, str | None]]:
    db.session.rollback()
    return [(e.event, e.data["kind"], e.data["choice"])
            for e in db.session.scalars(select(HookEvent).order_by(HookEvent.id))]


def test_app_answers_raise_reply_and_survey_events(app, client, redis):
    events.forget()
    app_api = AppClient(client, make_key())
    for i in range(2):
        r = app_api.put(f"/api/app/devices/fid-{i:05d}", json={
            "fcm_token": fcm_token(f"e{i}-"), "platform": "android"})
        assert r.status_code == 201, r.json
    survey = make_campaign(channels="push", reply_mode="survey", survey=SURVEY, reply_days=7,
                           launched_at=datetime.now(UTC))
    db.session.add_all([Message(campaign_id=survey.id, channel="push", recipient_id=d.id,
                                status=MessageStatus.SUBMITTED)
                        for d in db.session.scalars(select(Device))])
    db.session.commit()

    def answer(i: int, text: str) -> None:
        r = app_api.post(f"/api/app/devices/fid-{i:05d}/answers",
                         json={"campaign_id": survey.id, "text": text})
        assert r.status_code in (200, 201), r.json

    answer(0, "1")
    assert outbox() == []  # no hook wants them: nothing written
    registry.create({"name": "Bảng điều khiển", "url": "http://127.0.0.1:9/hook",
                     "events": [events.REPLY_RECEIVED, events.SURVEY_ANSWERED]}, actor=None)
    db.session.commit()
    events.forget()
    answer(0, "khong")  # changed: a reply again, and the answer that now counts
    answer(1, "Tôi muốn góp ý thêm")  # free text: a reply, not an answer
    assert outbox() == [("reply.received", "answer", "2"), ("survey.answered", "answer", "2"),
                        ("reply.received", "free", None)]
    data = db.session.scalars(select(HookEvent)).first().data
    assert data["campaign_id"] == survey.id and data["channel"] == "app"
    assert data["number"] is None and data["reply_id"]
