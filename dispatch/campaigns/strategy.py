"""Channel strategies: which channel reaches whom, chosen by the editor and frozen at approval.

- `both`: SMS and push to everyone the audience takes in (the behaviour before strategies);
- `app_first`: push to the devices, SMS only to the audience's numbers without an active
  verified device among the campaign's push members;
- `app_then_sms`: push first; the SMS of a number with such a device waits, and goes only if
  every push to its devices was refused by FCM or stayed unopened for `fallback_minutes`
  (dispatch.engine.fallback). Its approved SMS cost is the worst case: every fallback sent.

A number is covered by the app only through a verified link (dispatch.push.numbers): a claimed
number never decides a channel. Freezing marks the covered SMS members (`held` = `app` for
app_first: never sent an SMS; `fallback` for app_then_sms: sent one only as a fallback).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import aliased

from dispatch.extensions import db
from dispatch.models import Campaign, CampaignMember, Contact, Device

BOTH, APP_FIRST, APP_THEN_SMS = "both", "app_first", "app_then_sms"
STRATEGIES = (BOTH, APP_FIRST, APP_THEN_SMS)
DEFAULT_FALLBACK_MINUTES = 30
MIN_FALLBACK_MINUTES = 5
# The held codes of covered SMS members: not opt-outs, they are the strategy's.
HELD = {APP_FIRST: "app", APP_THEN_SMS: "fallback"}


def snapshot_fields(c: Campaign) -> dict[str, Any]:
    """The strategy's part of the snapshot: nothing for `both`, so older hashes still hold."""
    name = c.strategy or BOTH
    if name == BOTH:
        return {}
    out: dict[str, Any] = {"strategy": name}
    if name == APP_THEN_SMS:
        out["fallback_minutes"] = c.fallback_minutes
    return out


def errors(name: str, minutes: int | None, *, channels: str,
           validity_hours: int) -> dict[str, list[str]]:
    """What is wrong with a strategy for a campaign of these channels and validity, by field."""
    if name == BOTH:
        return {}
    if channels != "both":
        return {"strategy": ["A channel strategy needs both channels (SMS and app)."]}
    if name == APP_THEN_SMS:
        if minutes is None:
            return {"fallback_minutes": ["Give the minutes a push may stay unopened."]}
        if not MIN_FALLBACK_MINUTES <= minutes < validity_hours * 60:
            return {"fallback_minutes": [
                "Give at least 5 minutes, and less than the campaign's validity."]}
    return {}


def verified_active() -> Any:
    """The condition on Device that its number may decide a channel."""
    return (Device.msisdn_verified_at.is_not(None) & Device.disabled_reason.is_(None)
            & Device.fcm_token.is_not(None))


def mark_covered(c: Campaign) -> None:
    """Mark the SMS members whose number has an active verified device among the push members."""
    held = HELD.get(c.strategy or BOTH)
    if held is None:
        return
    push = aliased(CampaignMember)
    sms = CampaignMember
    covered = (select(Contact.id)
               .join(Device, Device.msisdn == Contact.msisdn)
               .join(push, (push.recipient_id == Device.id) & (push.campaign_id == c.id)
                     & (push.channel == "push") & push.held.is_(None))
               .where(verified_active()))
    db.session.execute(
        sa.update(sms).where(sms.campaign_id == c.id, sms.channel == "sms", sms.held.is_(None),
                             sms.recipient_id.in_(covered))
        .values(held=held).execution_options(synchronize_session=False))


def push_data(c: Campaign) -> dict[str, str]:
    """What a campaign's push data adds: the campaign's id, for the app to report it opened."""
    return {"loa_campaign": str(c.id)} if c.strategy == APP_THEN_SMS and c.id else {}


def estimate(defined: dict[str, Any], *, text: str, plain: bool) -> dict[str, Any]:
    """For the composer, before anything is frozen: SMS for all against SMS to the numbers no
    active verified device of the push audience covers, and the saving."""
    from dispatch.campaigns import audience
    from dispatch.campaigns.frozen import sms_cost

    reachable = audience.sms_reachable(defined)
    devices = audience.push_reachable(defined)
    everyone: dict[str, int] = {}
    covered: dict[str, int] = {}
    if reachable is not None:
        def count(stmt: Any) -> dict[str, int]:
            return audience.by_operator(db.session.execute(
                stmt.with_only_columns(audience.OPERATOR, sa.func.count(),
                                       maintain_column_froms=True).group_by(audience.OPERATOR)))

        everyone = count(reachable)
        if devices is not None:
            numbers = devices.with_only_columns(Device.msisdn, maintain_column_froms=True).where(
                verified_active())
            covered = count(reachable.where(Contact.msisdn.in_(numbers)))
    draft = Campaign(sms_text=text, sms_plain=plain)
    direct = {op: n - covered.get(op, 0) for op, n in everyone.items()}
    all_cost, direct_cost = sms_cost(draft, everyone), sms_cost(draft, direct)
    return {"sms_all": {k: all_cost[k] for k in ("recipients", "parts", "cost_vnd")},
            "sms_direct": {k: direct_cost[k] for k in ("recipients", "parts", "cost_vnd")},
            "app_covered": sum(covered.values()),
            "saving_vnd": all_cost["cost_vnd"] - direct_cost["cost_vnd"]}
