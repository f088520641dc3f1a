"""A channel strategy's report: which channel reached each person, and the fallback counts.

A person is a number of the SMS audience, told by its SMS ledger row: sent directly (`sms`),
left to the app by app_first (`app`, reason `app_covered`), or, under app_then_sms, reached by
the opened push (`app_opened`), sent the fallback SMS (`sms_fallback`: refused by FCM or not
opened in time), or still waiting. Counts come from the ledger, so they stay exact.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from dispatch.campaigns import strategy
from dispatch.extensions import db
from dispatch.models import Campaign, Device, Message, MessageStatus

S = MessageStatus
REACHED_BY = ("app", "app_opened", "sms", "sms_fallback", "waiting", "none")
FALLBACK_CAUSES = ("refused", "unopened", "opened", "waiting")
# An SMS counts as reaching the person once an SMSC took it.
SMS_SENT = (S.SUBMITTED, S.DELIVERED, S.PARTIAL, S.UNKNOWN)
PUSH_SENT = (S.SUBMITTED, S.DELIVERED, S.UNKNOWN)


def reached_by() -> Any:
    """The SQL expression, on an SMS ledger row, of the channel that reached its person."""
    return case(
        (Message.fallback == "waiting", "waiting"),
        (Message.fallback == "opened", "app_opened"),
        (Message.reason == "app_covered", "app"),
        (Message.status.not_in(SMS_SENT), "none"),
        (Message.fallback.in_(("refused", "unopened")), "sms_fallback"),
        else_="sms")


def figures(c: Campaign) -> dict[str, Any] | None:
    """The strategy section of the campaign's report (None for `both`)."""
    name = c.strategy or strategy.BOTH
    if name == strategy.BOTH:
        return None
    people = dict.fromkeys(REACHED_BY, 0)
    fallback = dict.fromkeys(FALLBACK_CAUSES, 0)
    sms = (Message.campaign_id == c.id) & (Message.channel == "sms")
    by = reached_by()
    for key, n in db.session.execute(select(by, func.count()).where(sms).group_by(by)):
        people[key] += n
    for cause, n in db.session.execute(
            select(Message.fallback, func.count())
            .where(sms, Message.fallback.is_not(None)).group_by(Message.fallback)):
        fallback[str(cause)] = fallback.get(str(cause), 0) + n
    push = (Message.campaign_id == c.id) & (Message.channel == "push")
    opened = db.session.scalar(select(func.count()).where(push, Message.opened_at.is_not(None)))
    accepted = db.session.scalar(select(func.count()).where(push,
                                                            Message.status.in_(PUSH_SENT)))
    return {"name": name, "fallback_minutes": c.fallback_minutes, "people": people,
            "fallback": fallback, "fallback_sent": fallback["refused"] + fallback["unopened"],
            "push_accepted": accepted or 0, "push_opened": opened or 0}


def fallback_counts(campaign_ids: list[int]) -> dict[int, int]:
    """Fallback SMS released per campaign (refused or unopened), for the summary."""
    if not campaign_ids:
        return {}
    return dict(db.session.execute(
        select(Message.campaign_id, func.count())
        .where(Message.campaign_id.in_(campaign_ids), Message.channel == "sms",
               Message.fallback.in_(("refused", "unopened")))
        .group_by(Message.campaign_id)).all())


def people(c: Campaign, *, msisdn: str | None = None, after: int = 0,
           limit: int = 100) -> list[dict[str, Any]]:
    """Per person (SMS row, by id after `after`): the channel that reached them and their
    devices' pushes of this campaign. `msisdn`: that number only (an inquiry)."""
    stmt = (select(Message.id, Message.address, Message.status, Message.reason,
                   Message.fallback, reached_by())
            .where(Message.campaign_id == c.id, Message.channel == "sms", Message.id > after)
            .order_by(Message.id).limit(limit))
    if msisdn is not None:
        stmt = stmt.where(Message.address == msisdn)
    rows = db.session.execute(stmt).all()
    numbers = [r.address for r in rows if r.address]
    pushes: dict[str, list[dict[str, Any]]] = {}
    if numbers:
        for number, installation, status, opened_at in db.session.execute(
                select(Device.msisdn, Device.installation_id, Message.status, Message.opened_at)
                .join(Message, (Message.recipient_id == Device.id)
                      & (Message.campaign_id == c.id) & (Message.channel == "push"))
                .where(Device.msisdn.in_(numbers), Device.msisdn_verified_at.is_not(None))
                .order_by(Device.id)):
            pushes.setdefault(str(number), []).append({
                "installation_id": installation, "status": status.value,
                "opened_at": opened_at})
    return [{"message_id": r.id, "msisdn": r.address, "reached_by": r[5],
             "sms_status": r.status.value, "sms_reason": r.reason, "fallback": r.fallback,
             "pushes": pushes.get(r.address or "", [])} for r in rows]
