"""What people answered to campaigns that asked for it: survey results and free replies.

Every figure is a GROUP BY over `replies` (served by its (campaign_id, kind, received_at)
index) beside the ledger's own figures; no reply row is loaded but the page of free texts shown.

What counts:
- a survey's answers are its replies of kind `answer` with `counted` set: the last answer of a
  number or an installation (dispatch.models.replies). Earlier answers it replaced and replies
  beyond the per-number daily limit are kept and shown apart, never counted;
- a free-reply campaign's respondents are its `free` replies with `counted` set (one per number
  or installation), its replies all of them;
- free text sent to a survey (kind `free`) is listed, not counted as an answer;
- opt-outs (`opt_out`), replies no open campaign asked for (`unattributed`) and replies from
  numbers the campaign never reached (`stranger`) never count; opt-outs by reply are shown.

The response rate is counted answers ÷ recipients reached, from the ledger with the funnel's
definitions (dispatch.reports.tally): an SMS reached is `delivered` (a delivery receipt); a push
has no receipt, so an app notification reached is `accepted_by_fcm`, and the app's rate says so.
SMS answers are rated against SMS delivered, app answers against pushes accepted, both together
against both. By locality: the answer's locality (`replies.locality_id`, its district) against
the funnel's recipients by locality (dispatch.reports.places: where they live now); by operator:
SMS answers against SMS delivered by the operator of the ledger row.
Answers over time are counted by the hour (by the day past four days), in local time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from dispatch.config import local_zone
from dispatch.extensions import db
from dispatch.models import Campaign, Message
from dispatch.models.replies import Reply
from dispatch.reports import places as localities
from dispatch.reports.campaign import funnel, grouped, local
from dispatch.reports.sql import time_bucket
from dispatch.reports.tally import prices

MODES = ("survey", "free")
REPLIED = ("answer", "free")  # what a person wrote to the campaign; opt-outs and the rest aside
LEDGER_CHANNEL = {"sms": "sms", "app": "push"}  # a reply's channel → the ledger's
HOURLY_UP_TO = timedelta(days=4)


def asks(c: Campaign) -> bool:
    """Whether the campaign asked for an answer (a survey or free replies)."""
    return c.reply_mode in MODES


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def reached(figures: dict[str, Any] | None) -> int:
    """Recipients a tally's rows reached: SMS delivered, pushes accepted by FCM."""
    if not figures:
        return 0
    return int(figures["delivered"]) + int(figures["accepted_by_fcm"])


def counted_kind(c: Campaign) -> str:
    """The kind of reply the campaign's figures count."""
    return "answer" if c.reply_mode == "survey" else "free"


def choices_of(c: Campaign) -> list[dict[str, str]]:
    survey = c.survey if isinstance(c.survey, dict) else {}
    return [{"key": str(ch.get("key")), "label": str(ch.get("label") or ch.get("key"))}
            for ch in survey.get("choices") or [] if isinstance(ch, dict) and ch.get("key")]


# --- queries ---------------------------------------------------------------------------------

def _counts(ids: Sequence[int]) -> dict[int, list[Any]]:
    """Replies of the campaigns by campaign, kind, channel, choice, counted and over_limit."""
    keys = [Reply.campaign_id, Reply.kind, Reply.channel, Reply.choice, Reply.counted,
            Reply.over_limit]
    out: dict[Any, list[Any]] = {cid: [] for cid in ids}
    for row in db.session.execute(
            select(*keys, func.count()).where(Reply.campaign_id.in_(list(ids)))
            .group_by(*keys)):
        out[row[0]].append(list(row[1:]))
    return out


def _counted(c: Campaign) -> list[Any]:
    return [Reply.campaign_id == c.id, Reply.kind == counted_kind(c), Reply.counted.is_(True)]


def _by_locality(c: Campaign) -> dict[str, Counter[str]]:
    """Counted answers by the district of the reply's locality, by choice ('' for free)."""
    known = localities.names()
    out: dict[str, Counter[str]] = {}
    for locality_id, choice, n in db.session.execute(
            select(Reply.locality_id, Reply.choice, func.count()).where(*_counted(c))
            .group_by(Reply.locality_id, Reply.choice)):
        out.setdefault(localities.district(locality_id, known), Counter())[choice or ""] += n
    return out


def _by_operator(c: Campaign) -> dict[str, Counter[str]]:
    """Counted SMS answers by operator, by choice ('' for free)."""
    out: dict[str, Counter[str]] = {}
    for operator, choice, n in db.session.execute(
            select(Reply.operator, Reply.choice, func.count())
            .where(*_counted(c), Reply.channel == "sms")
            .group_by(Reply.operator, Reply.choice)):
        out.setdefault(operator or "other", Counter())[choice or ""] += n
    return out


def timeline(c: Campaign) -> dict[str, Any]:
    """Replies received and answers counted per hour (per day past four days), local time."""
    replied = [Reply.campaign_id == c.id, Reply.kind.in_(REPLIED)]
    first, last = db.session.execute(
        select(func.min(Reply.received_at), func.max(Reply.received_at)).where(*replied)).one()
    width = 3600 if first is None or last - first <= HOURLY_UP_TO else 86400
    bucket = time_bucket(Reply.received_at, width)
    counts: dict[int, Counter[str]] = {}
    mine = counted_kind(c)
    for start, kind, counted, n in db.session.execute(
            select(bucket, Reply.kind, Reply.counted, func.count()).where(*replied)
            .group_by(bucket, Reply.kind, Reply.counted)):
        row = counts.setdefault(int(start), Counter())
        row["replies"] += n
        if kind == mine and counted:
            row["answers"] += n
    buckets = []
    zone = local_zone()
    if counts:
        for start in range(min(counts), max(counts) + width, width):
            row = counts.get(start, Counter())
            buckets.append({"start": datetime.fromtimestamp(start, UTC).astimezone(zone),
                            "answers": row["answers"], "replies": row["replies"]})
    return {"bucket_seconds": width, "buckets": buckets}


def free_replies(c: Campaign) -> Select[Any]:
    """The campaign's free-text replies, newest first (a page of them for the page)."""
    return (select(Reply).where(Reply.campaign_id == c.id, Reply.kind == "free")
            .order_by(Reply.received_at.desc(), Reply.id.desc()))


# --- results ---------------------------------------------------------------------------------

def results(c: Campaign, *, ledger: dict[str, Any] | None = None,
            places: list[dict[str, Any]] | None = None, detail: bool = True,
            counts: list[Any] | None = None) -> dict[str, Any] | None:
    """The results of campaign `c`, or None when it asked for no answer.

    `ledger` is the campaign's funnel (dispatch.reports.campaign.funnel) and `places` its funnel
    by locality (dispatch.reports.places.by_locality) when the caller has them already; they
    are read otherwise. `detail` adds the figures by locality, operator and over time.
    """
    if not asks(c):
        return None
    if ledger is None:
        ledger = funnel(grouped(Message.campaign_id == c.id), prices())
    mine = counted_kind(c)
    answers: Counter[str] = Counter()  # counted, by choice key ('' for free replies)
    by_channel: Counter[str] = Counter()
    free = Counter[str]()
    not_counted = Counter[str]()
    for kind, channel, choice, counted, over_limit, n in (
            counts if counts is not None else _counts([c.id])[c.id]):
        if kind == "free":
            free["replies"] += n
        if kind == "opt_out":
            not_counted["opted_out"] += n
        if kind != mine:
            continue
        if counted:
            answers[choice or ""] += n
            by_channel[channel] += n
        else:
            not_counted["over_limit" if over_limit else "replaced"] += n
    total = sum(answers.values())
    channels = ledger.get("by_channel", {})
    reach = {"sms": reached(channels.get("sms")), "push": reached(channels.get("push"))}
    reach["total"] = reach["sms"] + reach["push"]
    out: dict[str, Any] = {
        "campaign_id": c.id,
        "mode": c.reply_mode,
        "question": (c.survey or {}).get("question") if c.reply_mode == "survey" else None,
        "window": _window(c),
        "answers": total,
        "reached": reach,
        "response_rate_percent": percent(total, reach["total"]),
        "by_channel": {
            channel: {"answers": by_channel[channel], "reached": reach[ledger_channel],
                      "rate_percent": percent(by_channel[channel], reach[ledger_channel])}
            for channel, ledger_channel in LEDGER_CHANNEL.items()
            if by_channel[channel] or reach[ledger_channel]},
        "choices": _choices(c, answers, total),
        "free_replies": free["replies"],
        "not_counted": {k: not_counted[k] for k in ("replaced", "over_limit", "opted_out")},
    }
    if detail:
        if places is None:
            places = localities.by_locality([c.id], prices())
        out["by_locality"] = _by_place(c, _by_locality(c), places)
        out["by_operator"] = _by_op(c, _by_operator(c), ledger.get("by_operator", {}))
        out["timeline"] = timeline(c)
    return out


def of_campaigns(campaigns: Iterable[Campaign]) -> list[dict[str, Any]]:
    """The results (without detail) of those campaigns that asked for an answer, in order."""
    asking = [c for c in campaigns if asks(c)]
    if not asking:
        return []
    ids = [c.id for c in asking]
    rows: dict[int, list[Any]] = {cid: [] for cid in ids}
    for cid, *rest in grouped(Message.campaign_id.in_(ids), by=[Message.campaign_id]):
        rows[cid].append(rest)
    counts = _counts(ids)
    table = prices()
    return [r for c in asking if (r := results(c, ledger=funnel(rows[c.id], table),
                                               detail=False, counts=counts[c.id]))]


def _window(c: Campaign) -> dict[str, Any]:
    opens = c.launched_at
    closes = opens + timedelta(days=int(c.reply_days or 0)) if opens else None
    return {"days": int(c.reply_days or 0), "opens": local(opens), "closes": local(closes)}


def _choices(c: Campaign, answers: Counter[str], total: int) -> list[dict[str, Any]]:
    if c.reply_mode != "survey":
        return []
    listed = choices_of(c)
    # An answer stored for a key no longer offered is still an answer: shown under its key.
    listed += [{"key": key, "label": key} for key in sorted(answers)
               if key and key not in {ch["key"] for ch in listed}]
    return [{**ch, "answers": answers[ch["key"]], "percent": percent(answers[ch["key"]], total)}
            for ch in listed]


def _row(c: Campaign, by_choice: Counter[str], reach: int) -> dict[str, Any]:
    n = sum(by_choice.values())
    row: dict[str, Any] = {"answers": n, "reached": reach, "rate_percent": percent(n, reach)}
    if c.reply_mode == "survey":
        row["by_choice"] = {ch["key"]: by_choice[ch["key"]] for ch in choices_of(c)}
    return row


def _by_place(c: Campaign, answered: dict[str, Counter[str]],
              places: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reach = {row["name"]: reached(row) for row in places}
    names = localities.ordered(set(reach) | set(answered))
    return [{"name": name, **_row(c, answered.get(name, Counter()), reach.get(name, 0))}
            for name in names]


def _by_op(c: Campaign, answered: dict[str, Counter[str]],
           operators: dict[str, Any]) -> dict[str, Any]:
    keys = sorted(set(operators) | set(answered))
    return {op: _row(c, answered.get(op, Counter()), reached(operators.get(op)))
            for op in keys}
