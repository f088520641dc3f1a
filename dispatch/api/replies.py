"""The inbox's API: replies (numbers masked by default), their labels, bulk changes."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor, page_of, paginate
from dispatch.extensions import db
from dispatch.models.replies import Reply
from dispatch.replies import inbox
from dispatch.schemas.replies import (
    BulkResultSchema,
    BulkSchema,
    LabelChangeSchema,
    LabelCreateSchema,
    LabelSchema,
    ReplyChangeSchema,
    ReplyOneQuery,
    ReplyQuery,
    ReplySchema,
)

blp = Blueprint("replies", __name__, url_prefix="/api",
                description="The inbox: what people write back, labelled and handled by staff")


def shown(replies: list[Reply], unmask: bool) -> list[dict[str, Any]]:
    """The replies as the caller may see them: masked, or full numbers with one audit each."""
    full = inbox.unmask(replies, actor()) if unmask else {}
    out = []
    for reply in replies:
        item = {name: getattr(reply, name) for name in ReplySchema().fields if name != "masked"}
        item["msisdn"] = full.get(reply.id) or inbox.masked(reply.msisdn) or None
        item["masked"] = reply.id not in full
        out.append(item)
    if unmask:
        db.session.commit()
    return out


@blp.route("/replies")
class Replies(MethodView):
    @require("reply.view")
    @blp.arguments(ReplyQuery, location="query")
    @blp.response(200, page_of(ReplySchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List replies, newest first, by campaign, locality, operator, day, label, state, kind
        and text (case and diacritics ignored)."""
        filters = inbox.Filters.of(args)
        if args["unmask"]:
            inbox.demand_unmask(actor())  # before any query: a refusal reveals nothing
        inbox.check(filters)
        page = paginate(inbox.query(filters), args)
        page["items"] = shown(list(page["items"]), args["unmask"])
        return page


@blp.route("/replies/<int:reply_id>")
class ReplyById(MethodView):
    @require("reply.view")
    @blp.arguments(ReplyOneQuery, location="query")
    @blp.response(200, ReplySchema)
    def get(self, args: dict[str, Any], reply_id: int) -> dict[str, Any]:
        """Show a reply (its number masked unless `unmask=1`, permitted and audited)."""
        return shown([inbox.get_reply(reply_id)], args["unmask"])[0]

    @require("reply.handle")
    @blp.arguments(ReplyChangeSchema)
    @blp.response(200, ReplySchema)
    def patch(self, data: dict[str, Any], reply_id: int) -> dict[str, Any]:
        """Label, mark handled (or new again), assign, or write the internal note."""
        reply = inbox.change(inbox.get_reply(reply_id), data, actor())
        db.session.commit()
        return shown([reply], False)[0]


@blp.route("/replies/bulk")
class Bulk(MethodView):
    @require("reply.handle")
    @blp.arguments(BulkSchema)
    @blp.response(200, BulkResultSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Label, handle or assign the chosen replies, or all those matching a filter
        (at most 1,000, in one transaction)."""
        changes: dict[str, Any] = {k: data[k] for k in ("label_id", "state", "assigned_to_id")
                                   if k in data}
        filters = inbox.Filters.of(data["filter"]) if "filter" in data else None
        changed = inbox.bulk(changes, actor(), ids=data.get("ids"), filters=filters)
        db.session.commit()
        return {"changed": changed}


@blp.route("/reply-labels")
class Labels(MethodView):
    @require("reply.view")
    @blp.response(200, LabelSchema(many=True))
    def get(self) -> Any:
        """The labels, active first."""
        return inbox.labels()

    @require("reply.labels")
    @blp.arguments(LabelCreateSchema)
    @blp.response(201, LabelSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a label (admins)."""
        label = inbox.create_label(data["name"], actor())
        db.session.commit()
        return label


@blp.route("/reply-labels/<int:label_id>")
class LabelById(MethodView):
    @require("reply.labels")
    @blp.arguments(LabelChangeSchema)
    @blp.response(200, LabelSchema)
    def patch(self, data: dict[str, Any], label_id: int) -> Any:
        """Rename, deactivate or reactivate a label (admins); replies keep their label."""
        label = inbox.update_label(inbox.get_label(label_id), data, actor())
        db.session.commit()
        return label
