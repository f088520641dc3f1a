"""The audience frozen at submission: the members an approval covers, and its figures.

Submitting a campaign writes the exact set of contacts (SMS) and devices (push) its audience
resolves to into `campaign_members`, with one INSERT … SELECT per channel (the database copies
the ids; nothing is loaded into Python, whatever the audience's size), and stores the figures
the approver approves in `campaigns.frozen_reach`: recipients per operator, parts and cost,
devices. A launch reaches at most those members (dispatch.engine.expand sends to the frozen
members that are still in the audience): a contact who joins a list or moves into a locality
after submission is not sent the campaign, while opt-outs and removals since then still apply.

Why an exact set and not a high-water mark on ids: an old contact can join a list, or move into
a locality, after approval; neither leaves a trace in the ids. The set costs a narrow row per
member, written once per submission and dropped when the campaign goes back to draft.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import case, exists, func, literal, select

from dispatch.campaigns import audience, content, personal, settings, strategy
from dispatch.campaigns.preview import sms_preview
from dispatch.extensions import db
from dispatch.models import (
    Campaign,
    CampaignMember,
    CampaignStatus,
    Contact,
    Device,
    ListMember,
    Message,
    MessageStatus,
)
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import postgres
from dispatch.replies.ask import sent_text

M = CampaignMember
COLUMNS = ["campaign_id", "channel", "recipient_id", "held"]


def freeze(c: Campaign) -> dict[str, Any]:
    """Write the members of the campaign's audience as it is now, and their figures."""
    thaw(c)
    defined = audience.normalise(c.audience)
    if content.uses_sms(c.channels):
        included = audience.sms_included(defined)
        if included is not None:
            excluded = audience.sms_excluded(defined)
            held = case(*([(excluded, "excluded")] if excluded is not None else []),
                        (audience.sms_opted_out(), "opt_out"), else_=None)
            rows = select(literal(c.id), literal("sms"), Contact.id, held).where(
                Contact.id.in_(included))
            db.session.execute(sa.insert(M).from_select(COLUMNS, rows))
    if content.uses_push(c.channels):
        targeted = audience.push_targeted(defined)
        if targeted is not None:
            held = case((audience.device_disabled(), "device_disabled"),
                        (audience.push_opted_out(), "opt_out"), else_=None)
            rows = targeted.with_only_columns(literal(c.id), literal("push"), Device.id, held,
                                              maintain_column_froms=True)
            db.session.execute(sa.insert(M).from_select(COLUMNS, rows))
    strategy.mark_covered(c)
    if postgres():
        # A million new rows at once: give the planner their statistics now rather than when
        # autovacuum gets to them, so the launch's and the expansion's joins are planned right.
        db.session.execute(sa.text("ANALYZE campaign_members"))
    c.frozen_reach = figures(c)
    return c.frozen_reach


def thaw(c: Campaign) -> None:
    """Drop the frozen members (the campaign went back to draft: there is nothing approved)."""
    release(c)
    c.frozen_reach = None


def release(c: Campaign) -> None:
    """Drop the frozen members, keeping the approved figures: nothing will expand them again.

    Called once the expansion has written the ledger (or the campaign was cancelled): the
    members are a million rows per big campaign, and the ledger now says who was targeted.
    """
    db.session.execute(sa.delete(M).where(M.campaign_id == c.id))


def _members(c: Campaign, channel: str) -> Any:
    return (M.campaign_id == c.id) & (M.channel == channel)


# Members sent to, at worst: those not held, and an app_then_sms campaign's possible fallbacks.
_SENT = M.held.is_(None) | (M.held == strategy.HELD[strategy.APP_THEN_SMS])
_STRATEGY_HELD = tuple(strategy.HELD.values())


def _sms_counts(c: Campaign, which: Any) -> dict[str, int]:
    return audience.by_operator(db.session.execute(
        select(audience.OPERATOR, func.count()).select_from(M)
        .join(Contact, Contact.id == M.recipient_id)
        .where(_members(c, "sms"), which).group_by(audience.OPERATOR)))


_COST = ("recipients", "parts", "cost_vnd")


def _personal_sets(c: Campaign) -> dict[str, dict[str, Any]] | None:
    """A personalised campaign's exact figures in one pass over its members: `sent` (what the
    approval covers at worst) and, under a strategy, `direct` (SMS at once), `covered` (numbers
    the app reaches) and `all` (SMS for everyone, the saving's baseline). None: not personal."""
    name = c.strategy or strategy.BOTH
    if name == strategy.BOTH:
        members = select(M.recipient_id, literal("direct")).where(_members(c, "sms"), _SENT)
        return personal.exact_by(c, members, {"direct": ("sent",)})
    into = {"direct": ("sent", "direct", "all"),
            "covered": ("covered", "all", *(("sent",) if name == strategy.APP_THEN_SMS else ()))}
    members = select(M.recipient_id,
                     case((M.held.is_(None), literal("direct")), else_=literal("covered"))
                     ).where(_members(c, "sms"), M.held.is_(None) | M.held.in_(_STRATEGY_HELD))
    return personal.exact_by(c, members, into)


def _strategy_figures(c: Campaign, sms: dict[str, Any],
                      texts: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """Per channel who gets what under the strategy, and the saving against SMS for all;
    priced on each recipient's own text when the campaign is personalised (`texts`)."""
    name = c.strategy or strategy.BOTH
    covered = _sms_counts(c, M.held.in_(_STRATEGY_HELD))
    if texts is not None:
        direct, everyone = texts["direct"], texts["all"]
        fallback = texts["covered"] if name == strategy.APP_THEN_SMS else dict.fromkeys(_COST, 0)
    else:
        direct = sms_cost(c, _sms_counts(c, M.held.is_(None)))
        everyone = sms_cost(c, _sms_counts(c, M.held.is_(None) | M.held.in_(_STRATEGY_HELD)))
        fallback = sms_cost(c, covered if name == strategy.APP_THEN_SMS else {})
    return {
        "name": name,
        "fallback_minutes": c.fallback_minutes if name == strategy.APP_THEN_SMS else None,
        "app_covered": sum(covered.values()),
        "sms_direct": {k: direct[k] for k in _COST},
        "sms_fallback_max": {k: fallback[k] for k in _COST},
        "sms_all": {k: everyone[k] for k in _COST},
        # app_first saves it outright; app_then_sms at most (every push opened), at least 0.
        "saving_vnd": everyone["cost_vnd"] - sms["cost_vnd"],
        "saving_max_vnd": everyone["cost_vnd"] - direct["cost_vnd"],
    }


def figures(c: Campaign) -> dict[str, Any]:
    """The frozen members' figures: what the approver approves."""
    out: dict[str, Any] = {"at": utcnow().isoformat(), "sms": None, "push": None, "held": {}}
    for channel, held, n in db.session.execute(
            select(M.channel, M.held, func.count()).where(
                M.campaign_id == c.id, M.held.is_not(None), M.held.not_in(_STRATEGY_HELD))
            .group_by(M.channel, M.held)):
        out["held"][f"{channel}_{held}"] = n
    if content.uses_sms(c.channels):
        out["sms"] = sms_cost(c, _sms_counts(c, _SENT))
        # Personalised: each member's own text, parts and cost (a full pass, streamed).
        texts = _personal_sets(c)
        if texts is not None:
            exact = out["personal"] = texts["sent"]
            out["sms"].update(parts=exact["parts"], cost_vnd=exact["cost_vnd"])
        if (c.strategy or strategy.BOTH) != strategy.BOTH:
            out["strategy"] = _strategy_figures(c, out["sms"], texts)
    if content.uses_push(c.channels):
        out["push"] = {"devices": db.session.scalar(
            select(func.count()).select_from(M).where(_members(c, "push"), M.held.is_(None))) or 0}
    return out


def sms_cost(c: Campaign, counts: dict[str, int],
             prices: dict[str, int] | None = None) -> dict[str, Any]:
    """Recipients, parts and cost per operator of the campaign's SMS to `counts` recipients."""
    text = sent_text(c.sms_text or "", c.reply_mode, c.survey)
    preview = sms_preview(text, recipients=counts, prices=prices)
    variant = "plain" if c.sms_plain else "original"
    return {
        "recipients": preview["totals"]["recipients"],
        "parts": preview["totals"][variant]["parts"],
        "cost_vnd": preview["totals"][variant]["cost"],
        "parts_per_message": preview[variant]["parts"],
        "by_operator": {row["operator"]: {"recipients": row["recipients"],
                                          "parts": row[variant]["parts"],
                                          "cost_vnd": row[variant]["cost"],
                                          "price_per_part": row["price_per_part"]}
                        for row in preview["operators"]},
    }


def _approved_prices(c: Campaign) -> dict[str, int]:
    frozen = (c.frozen_reach or {}).get("sms") or {}
    return {op: row["price_per_part"] for op, row in (frozen.get("by_operator") or {}).items()}


# --- the audience now against the frozen one ---------------------------------------------------

def not_approved(c: Campaign, channel: str, still: Any = None) -> int:
    """Members the audience reaches now that the approval does not cover (they are not sent).

    `still`: `_still(c, channel)` when the caller has it already.
    """
    # All reached now, less the approved still reached: two counts that join positively. The
    # direct anti-join ("reached and NOT EXISTS a member") is planned, on tables whose
    # statistics lag a bulk write, as a rescan of the members for every contact (7 minutes for
    # 100,000 in the benchmark).
    defined = audience.normalise(c.snapshot["audience"] if c.snapshot else c.audience)
    if still is None:
        still = _still(c, channel)
    if channel == "sms":
        # Numbers app_first leaves to the app are approved members too, only not sent an SMS.
        covered = (sum(_still(c, "sms", M.held == strategy.HELD[strategy.APP_FIRST]).values())
                   if c.strategy == strategy.APP_FIRST else 0)
        return sum(audience.sms_recipients(defined).values()) - sum(still.values()) - covered
    return audience.push_recipients(defined) - int(still)


def _still(c: Campaign, channel: str, which: Any = None) -> Any:
    """Approved members the audience still reaches now (counted per operator for SMS); `which`:
    the members to count (by default those sent to)."""
    defined = audience.normalise(c.snapshot["audience"] if c.snapshot else c.audience)
    if channel == "sms":
        reachable = audience.sms_reachable(defined)
        if reachable is None:
            return {}
        stmt = (reachable.where(exists().where(_members(c, "sms"), M.recipient_id == Contact.id,
                                               _SENT if which is None else which))
                .with_only_columns(audience.OPERATOR, func.count(), maintain_column_froms=True)
                .group_by(audience.OPERATOR))
        return audience.by_operator(db.session.execute(stmt))
    reachable = audience.push_reachable(defined)
    if reachable is None:
        return 0
    stmt = reachable.where(exists().where(_members(c, "push"), M.recipient_id == Device.id,
                                          M.held.is_(None)))
    return db.session.scalar(stmt.with_only_columns(func.count(),
                                                    maintain_column_froms=True)) or 0


def _ledger(c: Campaign) -> dict[str, Any]:
    """Recipients the expansion wrote to be sent (not suppressed), per channel and operator."""
    rows = db.session.execute(
        select(Message.channel, Message.operator, func.count())
        .where(Message.campaign_id == c.id, Message.status != MessageStatus.SUPPRESSED)
        .group_by(Message.channel, Message.operator)).all()
    sms = audience.by_operator((op, n) for channel, op, n in rows if channel == "sms")
    push = sum(n for channel, _op, n in rows if channel == "push")
    if c.push_mode == "topic":
        push = int((c.expansion or {}).get("topic_devices", push))
    return {"sms": sms, "push": push}


def reach(c: Campaign) -> dict[str, Any] | None:
    """Approved against actual recipients and cost, for the pages, the API and the report.

    Before the expansion has finished, "actual" is what a launch would send now (the approved
    members still in the audience); afterwards it is the ledger. `not_approved` counts those the
    audience gained since it was frozen: they are not sent this campaign.
    """
    frozen = c.frozen_reach
    if not frozen:
        return None
    # Expanded, or cancelled before it was (its members are dropped): the ledger says it all.
    expanded = c.expanded_at is not None or c.status in (CampaignStatus.CANCELLED,
                                                         CampaignStatus.COMPLETED)
    out: dict[str, Any] = {"frozen_at": frozen.get("at"), "approved": {}, "actual": {},
                           "basis": "ledger" if expanded else "audience_now",
                           "not_approved": {}, "no_longer_reached": {}}
    figures = c.expansion or {}
    ledger = _ledger(c) if expanded else None
    if frozen.get("sms") is not None:
        out["approved"]["sms"] = frozen["sms"]
        counts = ledger["sms"] if ledger else _still(c, "sms")
        # At the approved prices, so that the difference is the audience's; an operator the
        # approval did not price (a number ported since) at today's.
        prices = {**settings.get("sms_price_per_part"), **_approved_prices(c)}
        out["actual"]["sms"] = sms_cost(c, counts, prices=prices)
        out["not_approved"]["sms"] = (int(figures.get("not_approved", 0)) if expanded
                                      else not_approved(c, "sms", still=counts))
        out["no_longer_reached"]["sms"] = max(
            0, frozen["sms"]["recipients"] - out["actual"]["sms"]["recipients"])
    if frozen.get("push") is not None:
        out["approved"]["push"] = frozen["push"]
        devices = ledger["push"] if ledger else _still(c, "push")
        out["actual"]["push"] = {"devices": devices}
        out["not_approved"]["push"] = (int(figures.get("push_not_approved", 0)) if expanded
                                       else not_approved(c, "push", still=devices))
        out["no_longer_reached"]["push"] = max(0, frozen["push"]["devices"] - devices)
    out["not_approved_total"] = sum(out["not_approved"].values())
    return out


# --- for the expansion: the frozen members in batches, and which are still in the audience -----

def next_members(c: Campaign, channel: str, after: int,
                 limit: int) -> list[tuple[int, str | None]]:
    """The next `limit`-or-fewer frozen members above id `after`, (id, held), by the key."""
    return [(r[0], r[1]) for r in db.session.execute(
        select(M.recipient_id, M.held).where(_members(c, channel), M.recipient_id > after)
        .order_by(M.recipient_id).limit(limit))]


def still_in(defined: dict[str, Any], channel: str) -> Any:
    """The condition on Contact (SMS) or Device (push) that the audience still takes it in.

    Its lists and localities (SMS) or places (push) only: exclusions and opt-outs are the
    expansion's to apply, as they give ledger figures of their own. A member who left every
    list and locality, or whose row is gone, is not sent. Asked of a batch of ids, each way in
    is an index lookup per id.
    """
    if defined.get("correction_of"):
        return sa.true()  # its members are the original's recipients; nothing to leave
    places = audience.locality_ids(defined["localities"])
    if channel == "push":
        return sa.true() if defined["all_app_users"] else Device.locality_id.in_(places)
    ways: list[Any] = []
    if defined["lists"]:
        ways.append(exists().where(ListMember.contact_id == Contact.id,
                                   ListMember.list_id.in_(defined["lists"])))
    if places:
        ways.append(Contact.locality_id.in_(places))
    return sa.or_(*ways) if ways else sa.false()
