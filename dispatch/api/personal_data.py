"""A person's data (admin): everything Loa holds on a number, and its erasure on request."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor
from dispatch.audiences import retention
from dispatch.schemas.personal_data import ErasedSchema, EraseRequestSchema, PersonRequestSchema

blp = Blueprint("personal_data", __name__, url_prefix="/api",
                description="A person's data, exported or erased on request (audited)")


@blp.route("/personal-data/export")
class Export(MethodView):
    @require("personal_data.manage")
    @blp.arguments(PersonRequestSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Return everything Loa holds on a number: contact, lists, ledger rows, MO, opt-out."""
        return retention.export_person(data["number"], actor=actor())


@blp.route("/personal-data/erase")
class Erase(MethodView):
    @require("personal_data.manage")
    @blp.arguments(EraseRequestSchema)
    @blp.response(200, ErasedSchema)
    def post(self, data: dict[str, Any]) -> dict[str, int]:
        """Erase a number: contact and memberships deleted, ledger rows pseudonymised, MO purged."""
        return retention.erase_person(data["number"], actor=actor(), reason=data["reason"],
                                      drop_opt_out=data["drop_opt_out"])
