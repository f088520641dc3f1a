"""kill -9 of a worker, the clock and `flask smpp run` while an app_then_sms campaign's SMS
fallbacks go out, then a restart: nobody gets two SMS, nobody whose push was opened gets one.

600 numbers, each with a verified device; FCM refuses 500 of the tokens (dead), so the clock's
fallback step releases those 500 SMS at once, and the throttled account is still sending them
when the processes are killed. The other 100 devices report their push opened: their SMS never
goes. The ledger's unique row per campaign × channel × recipient and the guarded move from
`pending` make each fallback exactly one row; the smpp process's claims make it one submit
(or `unknown` when the kill cut it off, never resent).
"""

from __future__ import annotations

from datetime import time as clock_time

import sqlalchemy as sa

from scripts.drills import campaign
from scripts.harness import wait_for
from tests.helpers.drills import COMPLETE_WITHIN, accepted_per_destination, explain

CONTACTS, OPENED = 600, 100


def _link_devices(stack, seeded) -> None:
    """Device i tells number i, through a key that verifies numbers; FCM refuses most tokens."""
    from dispatch.extensions import db
    from dispatch.models import Device
    from dispatch.models.common import utcnow

    with stack.app.app_context():
        for i in range(seeded.devices):
            token = f"drill-token-{i:07d}"
            db.session.execute(sa.update(Device).where(
                Device.installation_id == f"drill-install-{i:07d}").values(
                msisdn=campaign.number(i), msisdn_verified_at=utcnow(),
                fcm_token=token if i < OPENED else "unregistered-" + token))
        db.session.commit()
        db.session.remove()


def _launch(stack, seeded) -> int:
    from dispatch.campaigns import service
    from dispatch.extensions import db
    from dispatch.models import User

    stack.wait_ready()
    with stack.app.app_context():
        editor, approver = (db.session.get(User, i) for i in (seeded.editor_id,
                                                              seeded.approver_id))
        c = service.create({
            "title": "Diễn tập dự phòng", "channels": "both", "strategy": "app_then_sms",
            "fallback_minutes": 30, "sms_sender": "HAUGIANG", "sms_text": campaign.TEXT,
            "push_title": campaign.PUSH_TITLE, "push_body": campaign.PUSH_BODY,
            "audience": {"lists": [seeded.list_id], "all_app_users": True},
            "window_start": clock_time(0, 0), "window_end": clock_time(23, 59)}, actor=editor)
        db.session.commit()
        service.submit(c, actor=editor)
        db.session.commit()
        campaign.frozen_here_or_there(c)
        service.approve(c, actor=approver, snapshot_hash=c.snapshot_hash or "")
        db.session.commit()
        service.launch(c, actor=approver)
        db.session.commit()
        return int(c.id)


def _open_accepted_pushes(stack, cid: int) -> int:
    """What the app does: each installation whose push arrived reports it opened."""
    from dispatch.extensions import db
    from dispatch.models import Device, Message, MessageStatus
    from dispatch.push import numbers

    with stack.app.app_context():
        devices = db.session.scalars(sa.select(Device).join(
            Message, (Message.recipient_id == Device.id) & (Message.channel == "push"))
            .where(Message.campaign_id == cid, Message.status == MessageStatus.SUBMITTED)).all()
        for device in devices:
            numbers.opened(device, cid)
        db.session.commit()
        db.session.remove()
        return len(devices)


def test_kill_9_mid_fallback_nobody_gets_two_sms(make_stack, backend):
    stack = make_stack(workers=1, fcm=True, engine={"CLAIM_TIMEOUT_SECONDS": 10})
    seeded = campaign.seed(stack, contacts=CONTACTS, devices=CONTACTS, tps=100, window=10)
    _link_devices(stack, seeded)
    cid = _launch(stack, seeded)
    refused = CONTACTS - OPENED
    assert wait_for(lambda: campaign.status_counts(stack, cid).get("push.submitted", 0) == OPENED,
                    60, "the pushes sent", tolerate=(OSError, ValueError)), explain(stack)
    assert _open_accepted_pushes(stack, cid) == OPENED
    wait_for(lambda: stack.smsc_stats().get("accepted", 0) >= refused // 4, 60,
             "a quarter of the fallbacks sent", tolerate=(OSError, ValueError))
    for name in ("smpp", "worker.1", "clock"):
        stack.kill(name)
    at_kill = campaign.status_counts(stack, cid)
    for name in ("smpp", "worker.1", "clock"):
        stack.start_process(name)

    assert campaign.wait_completed(stack, cid, timeout=COMPLETE_WITHIN), (
        campaign.status_counts(stack, cid), explain(stack))
    sent = accepted_per_destination(stack)
    assert max(sent.values()) == 1, [d for d, n in sent.items() if n > 1][:10]
    opened_numbers = {campaign.number(i).lstrip("+") for i in range(OPENED)}
    assert not {d.lstrip("+") for d in sent} & opened_numbers  # opened: no SMS
    assert at_kill.get("sms.queued", 0) > 0, at_kill  # the kill landed mid-fallback
    final = campaign.status_counts(stack, cid)
    assert final.get("sms.suppressed", 0) == OPENED, final
    # Every refused push's SMS went once, or is `unknown` where the kill cut it off.
    assert final.get("sms.delivered", 0) + final.get("sms.unknown", 0) == refused, final
    assert len(sent) >= final.get("sms.delivered", 0)
