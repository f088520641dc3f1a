"""One acknowledgement campaign per parent, even when two processes take first answers at once:
the partial unique index decides, and the loser answers through the winner's campaign."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dispatch.extensions import db
from dispatch.models import Campaign, Message, MessageStatus
from dispatch.models.common import utcnow
from dispatch.models.replies import Reply
from dispatch.replies import ack
from tests.helpers.replies import reply, survey


def _answered(parent: Campaign, n: int) -> list[Reply]:
    rows = []
    for i in range(n):
        m = Message(campaign_id=parent.id, channel="sms", recipient_id=100 + i,
                    address=f"+8491200000{i}", status=MessageStatus.DELIVERED,
                    operator="viettel")
        db.session.add(m)
        db.session.flush()
        rows.append(reply("1", msisdn=m.address, campaign=parent, kind="answer",
                          message_id=m.id))
    return rows


def test_a_second_ack_campaign_for_one_parent_is_refused(app, people, backend):
    parent = survey(people["editor"])

    def child(kind: str) -> Campaign:
        return Campaign(title=kind, kind=kind, parent_id=parent.id, channels="sms",
                        created_by_id=parent.created_by_id)

    db.session.add(child("ack"))
    db.session.commit()
    db.session.add(child("ack"))
    with pytest.raises(IntegrityError) as refused:
        db.session.commit()
    assert "uq_campaigns_one_ack" in str(refused.value) or "parent_id" in str(refused.value)
    db.session.rollback()
    # Other children (corrections, tests) are not limited by it.
    db.session.add_all([child("correction"), child("correction")])
    db.session.commit()


def test_losing_the_race_answers_through_the_winners_campaign(app, people, backend,
                                                               monkeypatch):
    parent = survey(people["editor"])
    parent.reply_ack = "Cam on ban"
    db.session.commit()
    first, second = _answered(parent, 2)
    ack.acknowledge([first], utcnow())
    db.session.commit()
    winner = db.session.scalars(select(Campaign).where(Campaign.kind == "ack")).one()

    # This process looked before the other one's insert was visible: it finds nothing.
    looks = iter([None])
    real = ack._existing
    monkeypatch.setattr(ack, "_existing", lambda pid: next(looks, None) or real(pid))
    ack.acknowledge([second], utcnow())
    db.session.commit()

    children = db.session.scalars(select(Campaign).where(Campaign.kind == "ack")).all()
    assert [c.id for c in children] == [winner.id]
    acks = db.session.scalars(select(Message.address).where(
        Message.campaign_id == winner.id).order_by(Message.address)).all()
    assert acks == [first.msisdn, second.msisdn]
    assert {first.ack, second.ack} == {"queued"}
