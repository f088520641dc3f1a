"""Answers from the province app: authenticated by the installation's own secret, one per
installation per survey, changeable until the reply window closes, refused with a code after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Device, Message, MessageStatus
from dispatch.models.replies import Reply
from tests.helpers.push import AppClient, fcm_token, make_campaign, make_key

SURVEY = {"question": "Ban co dong y?", "choices": [{"key": "1", "label": "Đồng ý"},
                                                    {"key": "2", "label": "Không"}]}


def _reached(campaign, devices):
    db.session.add_all([Message(campaign_id=campaign.id, channel="push", recipient_id=d.id,
                                status=MessageStatus.SUBMITTED) for d in devices])
    db.session.commit()


def test_app_answers_one_per_installation_changeable_then_closed(app, client, backend):
    app_api = AppClient(client, make_key())
    for i in range(3):
        r = app_api.put(f"/api/app/devices/fid-{i:05d}", json={
            "fcm_token": fcm_token(f"a{i}-"), "platform": "android", "locality": "vi-thanh"})
        assert r.status_code == 201, r.json
    devices = db.session.scalars(select(Device).order_by(Device.id)).all()
    survey = make_campaign(channels="push", reply_mode="survey", survey=SURVEY, reply_days=7,
                           launched_at=datetime.now(UTC))
    closed = make_campaign(channels="push", reply_mode="survey", survey=SURVEY, reply_days=1,
                           launched_at=datetime.now(UTC) - timedelta(days=2))
    silent = make_campaign(channels="push", launched_at=datetime.now(UTC))
    _reached(survey, devices[:2])
    _reached(closed, devices[:1])
    _reached(silent, devices[:1])

    def answer(i, campaign, text, api=app_api):
        return api.post(f"/api/app/devices/fid-{i:05d}/answers",
                        json={"campaign_id": campaign.id, "text": text})

    first = answer(0, survey, "1")
    assert first.status_code == 201 and first.json["choice"] == "1", first.json
    changed = answer(0, survey, "khong")
    assert changed.status_code == 200 and changed.json["choice"] == "2"
    assert answer(1, survey, "Tôi muốn góp ý thêm").json["kind"] == "free"
    assert answer(2, survey, "1").json["code"] == "not_reached"
    assert answer(0, closed, "1").json["code"] == "reply_window_closed"
    assert answer(0, silent, "1").json["code"] == "not_asked"
    # Another copy of the app holding the key, not the installation's secret, is refused.
    assert answer(0, survey, "1", app_api.another_copy()).status_code in (401, 403)
    assert answer(0, survey, "").status_code == 422
    assert answer(0, survey, "x" * 2000).status_code == 422

    rows = db.session.scalars(select(Reply).where(Reply.campaign_id == survey.id)
                              .order_by(Reply.device_id)).all()
    assert [(r.device_id, r.channel, r.kind, r.choice, r.counted) for r in rows] == [
        (devices[0].id, "app", "answer", "2", True), (devices[1].id, "app", "free", None, False)]
    assert rows[0].locality_id is not None
