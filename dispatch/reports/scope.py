"""What a report page or document covers (a `ReportScope`), and its figures from the ledger.

A scope is a title, a list of campaigns and, for a date range, its period: a campaign is a
scope of one, a date range the campaigns that started in it, a plan or one of its phases the
campaigns that belong to it (dispatch.campaigns.plans.campaigns_of), whatever their status.
`figures(scope)` computes everything the page and the document show with the same `Tally`
arithmetic as the API's report (dispatch.reports.tally), in a handful of GROUP BY queries, and
the results of the scope's campaigns that asked for an answer (dispatch.reports.survey: a
campaign's in detail, a range's, plan's or phase's per survey).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l

from dispatch.campaigns import plans
from dispatch.config import local_zone
from dispatch.errors import NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import Campaign, Message, Phase, Plan
from dispatch.models.common import utcnow
from dispatch.reports import reasons, survey
from dispatch.reports.campaign import funnel, grouped, local, timeline_of
from dispatch.reports.places import by_locality
from dispatch.reports.summary import approved_figures, chosen
from dispatch.reports.tally import Tally, price_for, prices

MAX_DAYS = 731  # a range of two years at most: a report, not an archive dump
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_VN = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")


@dataclass
class ReportScope:
    """What one report covers. `key` names its documents on disk (ASCII, no slash)."""

    kind: str  # campaign, range, plan, phase
    key: str
    title: str
    campaigns: list[Campaign]
    period: tuple[date, date] | None = None
    basis: list[str] = field(default_factory=list)  # the plan's or decisions' references
    # What the document job needs to build the same scope again: (kind, *plain values).
    args: tuple[str, ...] = ()


def for_campaign(c: Campaign) -> ReportScope:
    return ReportScope(kind="campaign", key=f"campaign-{c.id}", title=c.title, campaigns=[c],
                       basis=[c.decision_ref] if c.decision_ref else [],
                       args=("campaign", str(c.id)))


def for_range(since: date, until: date) -> ReportScope:
    campaigns = chosen(since, until, None)
    refs = sorted({c.decision_ref for c in campaigns if c.decision_ref})
    return ReportScope(
        kind="range", key=f"range-{since:%Y%m%d}-{until:%Y%m%d}",
        title=str(_l("Campaigns from %(since)s to %(until)s",
                     since=since.strftime("%d/%m/%Y"), until=until.strftime("%d/%m/%Y"))),
        campaigns=campaigns, period=(since, until), basis=refs,
        args=("range", since.isoformat(), until.isoformat()))


def for_plan(plan: Plan) -> ReportScope:
    return _of_plan(plan, "plan", f"plan-{plan.id}", plan.title, plans.campaigns_of(plan=plan),
                    (plan.starts_on, plan.ends_on), ("plan", str(plan.id)))


def for_phase(phase: Phase) -> ReportScope:
    plan = phase.plan
    return _of_plan(plan, "phase", f"phase-{phase.id}", f"{phase.name} — {plan.title}",
                    plans.campaigns_of(phase=phase), (phase.starts_on, phase.ends_on),
                    ("phase", str(phase.id)))


def _of_plan(plan: Plan, kind: str, key: str, title: str, campaigns: list[Campaign],
             dates: tuple[date | None, date | None], args: tuple[str, ...]) -> ReportScope:
    # The plan is the basis of what its campaigns did; the decisions that approved them next.
    basis = [f"{plan.title} ({plan.reference})" if plan.reference else plan.title]
    basis += sorted({c.decision_ref for c in campaigns if c.decision_ref})
    since, until = dates
    return ReportScope(kind=kind, key=key, title=title, campaigns=campaigns,
                       period=(since, until) if since and until else None, basis=basis,
                       args=args)


def rebuild(args: Iterable[str]) -> ReportScope:
    """The scope named by `ReportScope.args` (in the document job)."""
    kind, *rest = list(args)
    if kind == "campaign" and len(rest) == 1 and rest[0].isdigit():
        c = db.session.get(Campaign, int(rest[0]))
        if c is None:
            raise NotFound(f"No campaign {rest[0]}.")
        return for_campaign(c)
    if kind == "plan" and len(rest) == 1 and rest[0].isdigit():
        return for_plan(plans.get_plan(int(rest[0])))
    if kind == "phase" and len(rest) == 1 and rest[0].isdigit():
        return for_phase(plans.get_phase(int(rest[0])))
    if kind == "range" and len(rest) == 2:
        return for_range(date.fromisoformat(rest[0]), date.fromisoformat(rest[1]))
    raise ValueError(f"unknown report scope {args!r}")


# --- a date range typed in a form ----------------------------------------------------------

def read_day(raw: str, name: str) -> date:
    """A day typed as YYYY-MM-DD (the date input) or dd/mm/yyyy; a named refusal otherwise."""
    value = (raw or "").strip()
    if not value:
        raise ValidationFailed.field(name, "Give a date.")
    try:
        if _ISO.match(value):
            day = date.fromisoformat(value)
        elif _VN.match(value):
            day = datetime.strptime(value, "%d/%m/%Y").date()
        else:
            raise ValueError(value)
    except ValueError:
        raise ValidationFailed.field(name, "Not a date: write it as dd/mm/yyyy.") from None
    if not 2000 <= day.year <= 2100:
        raise ValidationFailed.field(name, "Give a date between 2000 and 2100.")
    return day


def read_range(raw_since: str, raw_until: str) -> tuple[date, date]:
    """The days since..until of a form, both required, in order, at most MAX_DAYS apart."""
    errors: dict[str, list[str]] = {}
    days: dict[str, date] = {}
    for name, raw in (("since", raw_since), ("until", raw_until)):
        try:
            days[name] = read_day(raw, name)
        except ValidationFailed as err:
            errors.update(err.errors)
    if not errors and days["since"] > days["until"]:
        errors["until"] = ["The end date is before the start date."]
    if not errors and (days["until"] - days["since"]).days >= MAX_DAYS:
        errors["until"] = ["A report covers at most two years: choose a shorter range."]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], errors=errors)
    return days["since"], days["until"]


def this_month() -> tuple[date, date]:
    today = datetime.now(local_zone()).date()
    return today.replace(day=1), today


# --- the figures -----------------------------------------------------------------------------

# The funnel the page and the document draw: (key, label), in order.
FUNNEL: tuple[tuple[str, Any], ...] = (
    ("approved", _l("Approved recipients")),
    ("targeted", _l("In the send list")),
    ("suppressed", _l("Not sent (excluded)")),
    ("opted_out", _l("of which opted out")),
    ("waiting", _l("Waiting to be sent")),
    ("cancelled", _l("Cancelled")),
    ("submitted", _l("Sent to the gateway")),
    ("delivered", _l("Delivered")),
    ("partial", _l("Partly delivered")),
    ("awaiting_receipt", _l("Awaiting a receipt")),
    ("accepted_by_fcm", _l("Accepted by Firebase (app)")),
    ("failed", _l("Failed")),
    ("expired", _l("Expired")),
    ("unknown", _l("Outcome unknown")),
)
# Problems by reason: which counter of a tally, and the heading it goes under.
PROBLEM_GROUPS: tuple[tuple[str, Any], ...] = (
    ("failed_by_reason", _l("Failed")),
    ("unknown_by_reason", _l("Outcome unknown")),
    ("suppressed_by_reason", _l("Not sent")),
)


def figures(scope: ReportScope) -> dict[str, Any]:
    """Everything the report page and document show for `scope`, from the ledger."""
    ids = [c.id for c in scope.campaigns]
    table = prices()
    if ids:
        mine = Message.campaign_id.in_(ids)
        totals = funnel(grouped(mine), table)
        per_campaign = _per_campaign(ids, table)
        places = by_locality(ids, table)
        times = timeline_of(mine)
    else:
        totals = {"total": Tally().as_dict(), "by_channel": {}, "by_operator": {}}
        per_campaign, places, times = {}, [], timeline_of(Message.id.is_(None))
    approved = {"sms_recipients": 0, "push_devices": 0, "cost_vnd": 0}
    campaigns: list[dict[str, Any]] = []
    for c in scope.campaigns:
        mine_approved = approved_figures(c)
        approved["sms_recipients"] += mine_approved["approved_sms_recipients"]
        approved["push_devices"] += mine_approved["approved_push_devices"]
        approved["cost_vnd"] += mine_approved["approved_cost_vnd"]
        campaigns.append({"campaign": c, "started_at": local(c.send_at or c.launched_at),
                          "figures": per_campaign.get(c.id, Tally().as_dict()),
                          "approved": mine_approved})
    phases: dict[str, dict[str, int]] = {}
    for item in campaigns:
        row = phases.setdefault(phase_of(item["campaign"]) or "—",
                                dict.fromkeys(PHASE_FIGURES, 0) | {"campaigns": 0})
        row["campaigns"] += 1
        for key in PHASE_FIGURES:
            row[key] += int(item["figures"][key] or 0)
    if scope.kind == "campaign":  # the page of one campaign: its results in detail
        surveys = [r for c in scope.campaigns
                   if (r := survey.results(c, ledger=totals, places=places))]
    else:
        surveys = survey.of_campaigns(scope.campaigns)
    total = totals["total"]
    sms = totals["by_channel"].get("sms", Tally().as_dict())
    push = totals["by_channel"].get("push", Tally().as_dict())
    return {
        "scope": scope,
        "as_of": local(utcnow()),
        "total": total,
        "by_channel": totals["by_channel"],
        "by_operator": totals["by_operator"],
        "prices": {op: price_for(table, op) for op in totals["by_operator"]},
        "by_locality": places,
        "campaigns": campaigns,
        "by_phase": phases,
        "approved": approved,
        "approved_vs_actual": [
            ("sms", approved["sms_recipients"], sms["targeted"]),
            ("push", approved["push_devices"], push["targeted"]),
            ("cost", approved["cost_vnd"], total["cost_vnd"]),
        ],
        "funnel": funnel_rows(total, approved["sms_recipients"] + approved["push_devices"]),
        "problems": problems(total),
        "surveys": surveys,
        **times,
    }


PHASE_FIGURES = ("targeted", "submitted", "delivered", "failed", "cost_vnd")


def phase_of(c: Campaign) -> str | None:
    """The campaign's phase as a reader names it."""
    return c.phase.name if c.phase is not None else None


def funnel_rows(total: dict[str, Any], approved: int) -> list[dict[str, Any]]:
    values = dict(total, approved=approved,
                  opted_out=total["suppressed_by_reason"].get("opt_out", 0))
    return [{"key": key, "label": str(label), "count": int(values[key])}
            for key, label in FUNNEL]


def problems(total: dict[str, Any]) -> list[dict[str, Any]]:
    """What did not get through, by reason, most first within each group."""
    rows = []
    for counter, heading in PROBLEM_GROUPS:
        for code, n in sorted(total[counter].items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append({"group": counter.removesuffix("_by_reason"), "heading": str(heading),
                         "code": code, "words": reasons.words(code), "count": int(n)})
    if total["expired"]:
        rows.append({"group": "expired", "heading": str(_l("Expired")), "code": "EXPIRED",
                     "words": reasons.words("EXPIRED"), "count": int(total["expired"])})
    if total["expired_unsent"]:
        rows.append({"group": "expired_unsent", "heading": str(_l("Not sent")),
                     "code": "validity_ended", "words": reasons.words("validity_ended"),
                     "count": int(total["expired_unsent"])})
    return rows


def _per_campaign(ids: list[int], table: dict[str, int]) -> dict[int, dict[str, Any]]:
    tallies: dict[int, Tally] = {}
    for cid, channel, operator, status, sent, n, parts in grouped(
            Message.campaign_id.in_(ids), by=[Message.campaign_id], reasons=False):
        tallies.setdefault(cid, Tally()).add(channel, status, None, sent, n, int(parts),
                                             price_for(table, operator))
    return {cid: t.as_dict() for cid, t in tallies.items()}


def delivered_share(delivered: int, sent: int) -> float | None:
    return round(100.0 * delivered / sent, 1) if sent else None


def period_days(scope: ReportScope) -> int | None:
    if scope.period is None:
        return None
    since, until = scope.period
    return (until - since + timedelta(days=1)).days
