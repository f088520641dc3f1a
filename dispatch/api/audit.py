"""The audit log, newest first."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, page_of, paginate
from dispatch.models import AuditEvent
from dispatch.schemas.audit import AuditEventSchema, AuditQuery

blp = Blueprint("audit", __name__, url_prefix="/api", description="Audit log")


@blp.route("/audit")
class Audit(MethodView):
    @require("audit.view")
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, page_of(AuditEventSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List audit events, filtered by entity, action, actor and time."""
        stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
        for field in ("entity", "entity_id", "action", "actor_id"):
            if args.get(field) is not None:
                stmt = stmt.where(getattr(AuditEvent, field) == args[field])
        if args.get("since"):
            stmt = stmt.where(AuditEvent.at >= args["since"])
        if args.get("until"):
            stmt = stmt.where(AuditEvent.at < args["until"])
        return paginate(stmt, args)
