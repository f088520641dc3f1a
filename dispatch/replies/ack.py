"""Acknowledgements: one SMS "thank you" per number per campaign, through the real routes.

The acknowledgement of a campaign is a child campaign (`kind` ack, `parent_id` the campaign),
made on first need, whose text is the approved parent's frozen `reply_ack`: it was approved with
the rest of the parent's content (it is in the parent's snapshot), so it needs no approval of
its own. Its ledger rows are written `queued` with the route (account, operator) of the message
being answered, so the smpp process claims and sends them like any campaign's, under the
account's throttle, and the ledger's unique campaign × channel × recipient gives "at most one
acknowledgement per number" for free, even across processes.

Loops: an ack campaign asks for nothing, so an answer to it is never attributed to it; a number
already acknowledged is not acknowledged again; replies beyond the daily limit get none. An
auto-responder answering every message therefore gets one SMS from Loa per campaign at most.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus
from dispatch.models.replies import Reply
from dispatch.models.sqlbatch import any_of, insert_rows
from gateways.sms.encoding import analyse

if TYPE_CHECKING:
    from dispatch.replies.attribute import NewReply


def acknowledge(replies: Sequence[Reply] | Sequence[NewReply], now: datetime) -> None:
    """Queue the acknowledgements these new replies call for, and mark each reply (caller
    commits): `queued`, or `skipped` when its number was already acknowledged or is over the
    limit. Opt-outs, strangers and unattributed replies are never acknowledged."""
    wanting = [r for r in replies if r.kind in ("answer", "free") and r.campaign_id
               and r.message_id]
    if not wanting:
        return
    parents = {c.id: c for c in db.session.scalars(select(Campaign).where(
        any_of(Campaign.id, sorted({r.campaign_id for r in wanting if r.campaign_id}))))
        if (c.reply_ack or "").strip()}
    wanting = [r for r in wanting if r.campaign_id in parents]
    if not wanting:
        return  # no campaign answered thanks: no ledger row is read
    m = Message.__table__.c
    originals = {row.id: row for row in db.session.execute(
        select(m.id, m.recipient_id, m.address, m.operator, m.account_id).where(
            any_of(m.id, sorted({r.message_id for r in wanting if r.message_id}))))}
    for parent_id, parent in parents.items():
        mine = [r for r in wanting if r.campaign_id == parent_id]
        for r in mine:
            if r.over_limit:
                r.ack = "skipped"
        rows: dict[int, Reply | NewReply] = {}
        for r in mine:
            message = originals.get(r.message_id or 0)
            if r.over_limit or message is None:
                continue
            if message.recipient_id in rows:  # twice in one batch: the first is acknowledged
                r.ack = "skipped"
                continue
            rows[message.recipient_id] = r
        if not rows:
            continue
        child = _ack_campaign(parent, now)
        parts = analyse(child.sms_text or "").parts
        written = insert_rows(Message.__table__, [
            {"campaign_id": child.id, "channel": "sms", "recipient_id": recipient,
             "address": originals[r.message_id or 0].address, "status": MessageStatus.QUEUED,
             "operator": originals[r.message_id or 0].operator,
             "account_id": originals[r.message_id or 0].account_id, "parts": parts,
             "attempts": 0, "created_at": now, "queued_at": now}
            for recipient, r in rows.items()],
            skip_conflicts_on=("campaign_id", "channel", "recipient_id"),
            returning=("recipient_id",))
        new = {row[0] for row in written}
        for recipient, r in rows.items():
            r.ack = "queued" if recipient in new else "skipped"
        if new and child.status is not CampaignStatus.SENDING:
            # The clock completes an ack campaign whenever its rows are all final; a later
            # answer opens it again rather than making a second one (one ledger per parent).
            child.status, child.finished_at = CampaignStatus.SENDING, None


def _existing(parent_id: int) -> Campaign | None:
    return db.session.scalar(select(Campaign).where(Campaign.parent_id == parent_id,
                                                    Campaign.kind == "ack"))


def _ack_campaign(parent: Campaign, now: datetime) -> Campaign:
    child = _existing(parent.id)
    if child is not None:
        return child
    child = Campaign(
        kind="ack", parent_id=parent.id, title=f"{parent.title} — xác nhận"[:200],
        channels="sms", sms_text=parent.reply_ack, sms_sender=parent.sms_sender,
        sms_plain=parent.sms_plain, status=CampaignStatus.SENDING, priority=parent.priority,
        created_by_id=parent.created_by_id, approved_by_id=parent.approved_by_id,
        approved_at=parent.approved_at, launched_at=now, expanded_at=now,
        window_start=parent.window_start, window_end=parent.window_end,
        validity_hours=parent.validity_hours, audience={}, reply_mode="none")
    try:
        with db.session.begin_nested():
            db.session.add(child)
    except IntegrityError:
        # Another process made it between our look and our insert (uq_campaigns_one_ack):
        # answer through theirs, so a number is never acknowledged by two campaigns.
        made = _existing(parent.id)
        if made is None:
            raise
        return made
    return child
