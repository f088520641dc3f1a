"""The phase tags offered when writing a campaign."""

from __future__ import annotations

from collections.abc import Sequence

from flask.views import MethodView
from sqlalchemy import select

from dispatch.access.auth import require
from dispatch.api.common import Blueprint
from dispatch.extensions import db
from dispatch.models import PhaseTag
from dispatch.schemas.campaigns import PhaseTagSchema

blp = Blueprint("phase_tags", __name__, url_prefix="/api",
                description="Suggested campaign phase tags")


@blp.route("/phase-tags")
class PhaseTags(MethodView):
    @require("campaign.view")
    @blp.response(200, PhaseTagSchema(many=True))
    def get(self) -> Sequence[PhaseTag]:
        """List the suggested tags (campaigns may use any tag)."""
        return db.session.scalars(select(PhaseTag).order_by(PhaseTag.id)).all()
