"""The dashboard: what is sending now, what is scheduled, what waits for me, links and queues."""

from __future__ import annotations

from typing import Any

from flask import render_template

from dispatch.access.auth import require
from dispatch.campaigns import service
from dispatch.engine import progress
from dispatch.models import CampaignStatus
from dispatch.web import pages, queries
from dispatch.web.pages import can, me

bp = pages.blueprint("web_dashboard", __name__)
S = CampaignStatus


@bp.get("/")
@require("campaign.view")
def index() -> Any:
    sending = queries.with_status(S.SENDING, S.PAUSED)
    live = {c.id: progress.progress(c) for c in sending}
    scheduled = queries.with_status(S.SCHEDULED, S.APPROVED)
    waiting = [c for c in queries.with_status(S.PENDING_APPROVAL)
               if "approve" in service.allowed_actions(c, me())] if can("campaign.approve") else []
    mine = [c for c in queries.with_status(S.DRAFT, S.REJECTED)
            if c.created_by_id == me().id] if can("campaign.create") else []
    everyone = sending + scheduled + waiting + mine
    authors = queries.names({c.created_by_id for c in everyone})
    return render_template(
        "dashboard.html", sending=sending, live=live, scheduled=scheduled, waiting=waiting,
        mine=mine, authors=authors,
        binds=queries.bind_health() if can("gateway.view") else None,
        queues=queries.queue_depths() if can("gateway.view") else None,
    )
