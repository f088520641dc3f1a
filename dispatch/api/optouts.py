"""Opt-outs per channel: never sent to, whatever the campaign."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor, page_of, paginate
from dispatch.audiences import optouts
from dispatch.extensions import db
from dispatch.models import OptOut
from dispatch.schemas.audiences import (
    OptOutCreateSchema,
    OptOutQuery,
    OptOutRemoveSchema,
    OptOutSchema,
)

blp = Blueprint("optouts", __name__, url_prefix="/api", description="Opt-outs")


@blp.route("/optouts")
class OptOuts(MethodView):
    @require("audience.view")
    @blp.arguments(OptOutQuery, location="query")
    @blp.response(200, page_of(OptOutSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List opt-outs, newest first, by channel, source or address."""
        stmt = optouts.opt_outs_query(channel=args.get("channel"), source=args.get("source"),
                                      address=args.get("address"))
        return paginate(stmt, args)

    @require("optout.edit")
    @blp.arguments(OptOutCreateSchema)
    @blp.response(201, OptOutSchema)
    def post(self, data: dict[str, Any]) -> OptOut:
        """Opt an address out of a channel (SMS numbers in any form are normalised)."""
        opt_out = optouts.add_opt_out(data["channel"], data["address"], source=data["source"],
                                      reason=data["reason"], actor=actor())
        db.session.commit()
        return opt_out


@blp.route("/optouts/<int:opt_out_id>")
class OptOutById(MethodView):
    @require("audience.view")
    @blp.response(200, OptOutSchema)
    def get(self, opt_out_id: int) -> OptOut:
        """Show an opt-out."""
        return optouts.get_opt_out(opt_out_id)

    @require("optout.edit")
    @blp.arguments(OptOutRemoveSchema)
    @blp.response(204)
    def delete(self, data: dict[str, Any], opt_out_id: int) -> None:
        """Lift an opt-out; the reason (required, JSON body) goes to the audit log."""
        optouts.remove_opt_out(optouts.get_opt_out(opt_out_id), reason=data["reason"],
                               actor=actor())
        db.session.commit()
