"""Read-only figures the pages show: campaign filters, errors by reason, queues, binds, reports.

Bind health is what the running smpp processes publish in Redis (`dispatch.sms.status`:
one short-lived key per bind holding its `SessionStatus`); with no smpp process running, the
dashboard says there is nothing to show.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import redis
from flask import current_app
from rq import Queue
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from dispatch.campaigns import kinds
from dispatch.extensions import db
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import (
    Campaign,
    CampaignStatus,
    Message,
    MessageStatus,
    Phase,
    SmppAccount,
    User,
)
from dispatch.sms import status as smpp_status
from dispatch.web.i18n import _l

log = logging.getLogger(__name__)
S = MessageStatus
PROBLEMS = (S.FAILED, S.UNKNOWN, S.EXPIRED, S.SUPPRESSED, S.CANCELLED)


def campaigns(filters: dict[str, Any]) -> Select[Any]:
    """Campaigns, newest first, narrowed like `GET /api/campaigns`."""
    stmt = (select(Campaign).options(selectinload(Campaign.phase)).where(kinds.counted())
            .order_by(Campaign.id.desc()))
    if filters.get("status"):
        stmt = stmt.where(Campaign.status == CampaignStatus(filters["status"]))
    if filters.get("phase_id"):
        stmt = stmt.where(Campaign.phase_id == int(filters["phase_id"]))
    if filters.get("plan_id"):
        stmt = stmt.where(Campaign.phase_id.in_(
            select(Phase.id).where(Phase.plan_id == int(filters["plan_id"]))))
    if filters.get("channel"):
        channel = filters["channel"]
        stmt = stmt.where(Campaign.channels.in_([channel] if channel == "both"
                                                else [channel, "both"]))
    if filters.get("author_id"):
        stmt = stmt.where(Campaign.created_by_id == int(filters["author_id"]))
    if filters.get("since"):
        stmt = stmt.where(Campaign.created_at >= filters["since"])
    if filters.get("until"):
        stmt = stmt.where(Campaign.created_at < filters["until"])
    if filters.get("q"):
        stmt = stmt.where(Campaign.title.ilike(f"%{filters['q']}%"))
    return stmt


def with_status(*statuses: CampaignStatus, limit: int = 50) -> list[Campaign]:
    stmt = (select(Campaign).where(Campaign.status.in_(statuses), kinds.counted())
            .order_by(Campaign.id.desc()).limit(limit))
    return list(db.session.scalars(stmt))


def names(user_ids: set[int | None]) -> dict[int, str]:
    """Display names of users, for authors and actors in lists."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.full_name, User.username)
                              .where(User.id.in_(ids)))
    return {uid: full or username for uid, full, username in rows}


def problems(c: Campaign) -> list[dict[str, Any]]:
    """Messages that did not get through, counted by status and reason."""
    stmt = (select(Message.status, Message.reason, Message.error_code, func.count())
            .where(Message.campaign_id == c.id, Message.status.in_(PROBLEMS))
            .group_by(Message.status, Message.reason, Message.error_code)
            .order_by(func.count().desc()).limit(50))
    return [{"status": S(status).value, "reason": reason, "error_code": code, "count": n}
            for status, reason, code, n in db.session.execute(stmt)]


def queue_depths() -> list[dict[str, Any]] | None:
    """Jobs waiting per RQ queue, or None when Redis cannot be reached."""
    try:
        conn = get_redis()
        queues = Queue.all(connection=conn)
        return sorted(({"name": q.name, "jobs": q.count} for q in queues),
                      key=lambda row: row["name"])
    except (redis.exceptions.RedisError, OSError):
        log.warning("queue depths unavailable: Redis unreachable")
        return None


def bind_health() -> list[dict[str, Any]] | None:
    """Each SMPP account with the state its binds last reported (None: Redis unreachable).

    The smpp process publishes one short-lived key per bind (`dispatch.sms.status`);
    an account shows its best bind (bound if any is), with in-flight and rate summed over binds.
    """
    try:
        rows = smpp_status.read(get_redis())
    except (redis.exceptions.RedisError, OSError):
        return None
    by_account: dict[int, list[dict[str, Any]]] = {}
    for data in rows:
        by_account.setdefault(int(data["account_id"]), []).append(data)
    out = []
    for account in db.session.scalars(select(SmppAccount).order_by(SmppAccount.name)):
        binds = by_account.get(account.id, [])
        status = None
        since = None
        if binds:
            best = next((b for b in binds if b.get("state") == "bound"), binds[0])
            status = dict(best, in_flight=sum(int(b.get("in_flight", 0)) for b in binds),
                          rate=round(sum(float(b.get("rate", 0)) for b in binds), 1),
                          bind_count=len(binds))
            try:
                since = datetime.fromisoformat(best["since"])
            except (KeyError, ValueError):
                since = None
        out.append({"account": account, "status": status, "since": since})
    return out


REPORT_LINKS = (
    ("report", "/campaigns/<int:campaign_id>/report", _l("Report")),
    # The readable exports (dispatch.web.exports); the API's code form is for machines.
    ("csv", "/campaigns/<int:campaign_id>/export.csv", _l("Export CSV")),
    ("xlsx", "/campaigns/<int:campaign_id>/export.xlsx", _l("Export Excel")),
)


def report_links(c: Campaign) -> list[dict[str, str]]:
    """The report and export endpoints that this installation serves, for this campaign."""
    rules = {rule.rule for rule in current_app.url_map.iter_rules()}
    return [{"kind": kind, "label": str(label),
             "url": rule.replace("<int:campaign_id>", str(c.id))}
            for kind, rule, label in REPORT_LINKS if rule in rules]
