"""The summary across campaigns for a date range, a plan and/or a phase: the report to leadership.

One GROUP BY over the ledger rows of the chosen campaigns (by campaign, channel, operator,
status and sent flag); per-campaign and total funnels come from the same `Tally` arithmetic as
a single campaign's report, so the two always agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, select

from dispatch.campaigns import kinds
from dispatch.config import local_zone
from dispatch.extensions import db
from dispatch.models import Campaign, Message, Phase, Plan
from dispatch.models.common import utcnow
from dispatch.reports import strategy as strategy_report
from dispatch.reports import survey
from dispatch.reports.campaign import COST_NOTE, PUSH_NOTE, grouped, local
from dispatch.reports.tally import Tally, price_for, prices

# The figures of each campaign (and of the total) in the summary, in this order.
FIGURES = ("targeted", "suppressed", "waiting", "cancelled", "expired_unsent", "submitted",
           "delivered", "partial", "failed", "expired", "unknown", "awaiting_receipt",
           "accepted_by_fcm", "sms_delivered_percent", "parts_billed", "cost_vnd")


def started_at() -> ColumnElement[datetime]:
    """When a launched campaign started or was due to: the later of launch and send_at."""
    return case((Campaign.send_at > Campaign.launched_at, Campaign.send_at),
                else_=Campaign.launched_at)


def day_start(day: date) -> datetime:
    """Local midnight opening `day`, in UTC."""
    return datetime.combine(day, time(0), local_zone()).astimezone(UTC)


def chosen(since: date | None, until: date | None, phase_id: int | None = None,
           plan_id: int | None = None) -> list[Campaign]:
    """Launched campaigns that started on local days since..until (inclusive), of the phase
    and/or plan."""
    start = started_at()
    stmt = select(Campaign).where(Campaign.launched_at.is_not(None), kinds.counted())
    if since is not None:
        stmt = stmt.where(start >= day_start(since))
    if until is not None:
        stmt = stmt.where(start < day_start(until + timedelta(days=1)))
    if phase_id is not None:
        stmt = stmt.where(Campaign.phase_id == phase_id)
    if plan_id is not None:
        stmt = stmt.where(Campaign.phase_id.in_(select(Phase.id).where(Phase.plan_id == plan_id)))
    return list(db.session.scalars(stmt.order_by(start, Campaign.id)))


def _name(model: type[Phase] | type[Plan], row_id: int | None) -> str | None:
    row = None if row_id is None else db.session.get(model, row_id)
    if isinstance(row, Phase):
        return row.name
    return row.title if isinstance(row, Plan) else None


def topic_note(c: Campaign) -> str:
    """A topic send is one ledger row standing for many devices: say for how many."""
    figures = c.expansion or {}
    topic, devices = figures.get("push_topic"), figures.get("topic_devices")
    to = f" to {topic!r}" if topic else ""
    reach = "" if devices is None else f", for the {int(devices):,} devices of its audience"
    return (f"Campaign {c.id} ({c.title}): the push went as one topic send{to}{reach}, "
            "counted as one ledger row.")


APPROVED_KEYS = ("approved_sms_recipients", "approved_push_devices", "approved_cost_vnd")


def approved_figures(c: Campaign) -> dict[str, int]:
    """What the approval of `c` covered (0 for a campaign approved before audiences froze)."""
    reach = c.frozen_reach or {}
    sms, push = reach.get("sms") or {}, reach.get("push") or {}
    return {"approved_sms_recipients": int(sms.get("recipients", 0)),
            "approved_push_devices": int(push.get("devices", 0)),
            "approved_cost_vnd": int(sms.get("cost_vnd", 0))}


def summary(since: date | None = None, until: date | None = None,
            phase_id: int | None = None, plan_id: int | None = None) -> dict[str, Any]:
    campaigns = chosen(since, until, phase_id, plan_id)
    table = prices()
    tallies = {c.id: Tally() for c in campaigns}
    has_push = False
    if campaigns:
        rows = grouped(Message.campaign_id.in_(list(tallies)), by=[Message.campaign_id],
                       reasons=False)
        for cid, channel, operator, status, sent, n, parts in rows:
            has_push = has_push or channel == "push"
            tallies[cid].add(channel, status, None, sent, n, int(parts),
                             price_for(table, operator))
    surveys = {r["campaign_id"]: r for r in survey.of_campaigns(campaigns)}
    fallbacks = strategy_report.fallback_counts(list(tallies))
    total = Tally()
    items = []
    approved_total = dict.fromkeys(APPROVED_KEYS, 0)
    for c in campaigns:
        total.merge(tallies[c.id])
        figures = tallies[c.id].as_dict()
        approved = approved_figures(c)
        for key in APPROVED_KEYS:
            approved_total[key] += approved[key]
        items.append({
            "id": c.id, "title": c.title, "phase_id": c.phase_id,
            "phase": c.phase.name if c.phase else None, "status": c.status.value,
            "channels": c.channels, "started_at": local(max(filter(None, (c.launched_at,
                                                                           c.send_at)))),
            "finished_at": local(c.finished_at),
            **{k: figures[k] for k in FIGURES},
            **approved,
            **_answered(surveys.get(c.id)),
            "strategy": c.strategy, "fallback_sms": fallbacks.get(c.id, 0),
        })
    figures = total.as_dict()
    notes = [COST_NOTE] + ([PUSH_NOTE] if has_push else []) + [
        topic_note(c) for c in campaigns if c.push_mode == "topic"]
    return {
        "since": since, "until": until, "phase_id": phase_id, "plan_id": plan_id,
        "phase": _name(Phase, phase_id), "plan": _name(Plan, plan_id),
        "as_of": local(utcnow()),
        "campaigns": items,
        "total": {"campaigns": len(items), **{k: figures[k] for k in FIGURES},
                  **approved_total, **_answered_all(list(surveys.values()))},
        "prices_vnd_per_part": table,
        "notes": notes,
    }


def _answered(r: dict[str, Any] | None) -> dict[str, Any]:
    """A campaign's counted answers and response rate (None when it asked for no answer)."""
    return {"survey_answers": r["answers"] if r else None,
            "survey_response_rate_percent": r["response_rate_percent"] if r else None}


def _answered_all(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Counted answers of every survey, against the recipients those surveys reached."""
    if not results:
        return _answered(None)
    answers = sum(r["answers"] for r in results)
    return {"survey_answers": answers, "survey_response_rate_percent": survey.percent(
        answers, sum(r["reached"]["total"] for r in results))}
