"""The SMS fallback of an `app_then_sms` campaign: the clock's step after the pushes.

Expansion writes the SMS row of each number covered by a verified device as `pending`
(`fallback` = `waiting`): it is in the ledger, counted in the approved (worst-case) cost, and
claimed by no sender. Each tick, for a sending, expanded campaign:

- a waiting row whose number's push was opened (the app's `opened` call) becomes `suppressed`
  (`opened_in_app`, fallback `opened`): the person was reached;
- a waiting row none of whose pushes may still reach (all refused by FCM — failed, expired,
  suppressed — or accepted and not opened within `fallback_minutes`) becomes `queued`, with
  fallback `refused` or `unopened`, and the smpp processes are woken to send it.

Exactly once: the row exists once (the ledger's unique campaign × channel × recipient), each
move is guarded (`pending` only, dispatch.engine.ledger.move) and committed with its cause in
one transaction, so a step killed anywhere and run again moves nothing twice; from `queued` on,
the SMS is the ordinary SMS of the ledger (claimed once, `unknown` after a crash mid-submit).
A push row is matched to a waiting SMS by the device's verified number as it is now: a device
unlinked since no longer holds the SMS back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import aliased

from dispatch.campaigns import strategy
from dispatch.engine import enqueue, ledger
from dispatch.extensions import db
from dispatch.models import Campaign, Device, Message, MessageStatus
from dispatch.models.ledger import UNSENT

S = MessageStatus
BATCH = 5000
WAITING = "waiting"
# FCM took the push (or its answer is unknowable): it may have been shown.
ACCEPTED = (S.SUBMITTED, S.DELIVERED, S.UNKNOWN)


def _pushes(c: Campaign, push: Any, *conditions: Any) -> Any:
    """EXISTS a push of this campaign to a verified device of the SMS row's number, such that…"""
    return exists().where(push.campaign_id == c.id, push.channel == "push",
                          push.recipient_id == Device.id, Device.msisdn == Message.address,
                          Device.msisdn_verified_at.is_not(None), *conditions)


def _waiting(c: Campaign) -> list[Any]:
    return [Message.campaign_id == c.id, Message.channel == "sms", Message.status == S.PENDING,
            Message.fallback == WAITING]


def _mark(ids: list[int], status: MessageStatus, cause: str) -> None:
    db.session.execute(update(Message).where(Message.id.in_(ids), Message.status == status,
                                             Message.fallback == WAITING)
                       .values(fallback=cause).execution_options(synchronize_session=False))


def step(c: Campaign, now: datetime) -> dict[str, int]:
    """Settle the campaign's waiting SMS rows that can be settled at `now`; returns the counts."""
    if c.strategy != strategy.APP_THEN_SMS or c.expanded_at is None:
        return {}
    push = aliased(Message)
    since = now - timedelta(minutes=c.fallback_minutes or strategy.DEFAULT_FALLBACK_MINUTES)
    opened = _pushes(c, push, push.opened_at.is_not(None))
    accepted_at = func.coalesce(push.submitted_at, push.sending_at, push.created_at)
    may_reach = _pushes(c, push, push.opened_at.is_(None),
                        push.status.in_(UNSENT) | (push.status.in_(ACCEPTED)
                                                   & (accepted_at > since)))
    accepted = _pushes(c, push, push.status.in_(ACCEPTED))
    done = {"fallback_opened": 0, "fallback_refused": 0, "fallback_unopened": 0}
    while ids := list(db.session.scalars(
            select(Message.id).where(*_waiting(c), opened).order_by(Message.id).limit(BATCH))):
        moved = ledger.move(ids, S.SUPPRESSED, only_from=[S.PENDING], reason="opened_in_app")
        _mark(ids, S.SUPPRESSED, "opened")
        db.session.commit()
        done["fallback_opened"] += moved
    accounts: set[int] = set()
    while rows := db.session.execute(
            select(Message.id, Message.account_id, accepted).where(*_waiting(c), ~opened,
                                                                   ~may_reach)
            .order_by(Message.id).limit(BATCH)).all():
        for cause, wanted in (("unopened", True), ("refused", False)):
            ids = [r[0] for r in rows if bool(r[2]) is wanted]
            # Stamped with the time it is: a queued_at ahead would hold the row back.
            moved = ledger.move(ids, S.QUEUED, only_from=[S.PENDING])
            _mark(ids, S.QUEUED, cause)
            done[f"fallback_{cause}"] += moved
        db.session.commit()
        accounts.update(r[1] for r in rows if r[1] is not None)
    if accounts:  # committed: tell the smpp processes the rows are there
        enqueue.wake_sms(accounts)
    return {k: n for k, n in done.items() if n}
