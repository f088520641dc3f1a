"""Localities: everyone reads them, admins maintain them."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor
from dispatch.audiences import localities
from dispatch.extensions import db
from dispatch.models import Locality
from dispatch.schemas.audiences import (
    LocalityCreateSchema,
    LocalityQuery,
    LocalitySchema,
    LocalityUpdateSchema,
)

blp = Blueprint("localities", __name__, url_prefix="/api",
                description="Localities (districts, communes)")


@blp.route("/localities")
class Localities(MethodView):
    @require("audience.view")
    @blp.arguments(LocalityQuery, location="query")
    @blp.response(200, LocalitySchema(many=True))
    def get(self, args: dict[str, Any]) -> list[Locality]:
        """List all localities (a few hundred at most, so not paged), by code."""
        stmt = select(Locality).order_by(Locality.code)
        for field in ("kind", "active", "parent_id"):
            if args.get(field) is not None:
                stmt = stmt.where(getattr(Locality, field) == args[field])
        return list(db.session.scalars(stmt))

    @require("locality.edit")
    @blp.arguments(LocalityCreateSchema)
    @blp.response(201, LocalitySchema)
    def post(self, data: dict[str, Any]) -> Locality:
        """Create a locality."""
        place = localities.create_locality(data.pop("code"), data.pop("name"), actor=actor(),
                                           **data)
        db.session.commit()
        return place


@blp.route("/localities/<int:locality_id>")
class LocalityById(MethodView):
    @require("audience.view")
    @blp.response(200, LocalitySchema)
    def get(self, locality_id: int) -> Locality:
        """Show a locality."""
        return localities.get_locality(locality_id)

    @require("locality.edit")
    @blp.arguments(LocalityUpdateSchema)
    @blp.response(200, LocalitySchema)
    def patch(self, data: dict[str, Any], locality_id: int) -> Locality:
        """Rename, re-parent or deactivate a locality (boundaries change)."""
        place = localities.update_locality(localities.get_locality(locality_id), actor=actor(),
                                           **data)
        db.session.commit()
        return place
