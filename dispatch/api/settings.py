"""Run-time settings (admin): prices per operator, send window, recipient cap, opt-out keywords."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor
from dispatch.campaigns import settings
from dispatch.extensions import db
from dispatch.models import Setting
from dispatch.schemas.settings import SettingSchema, SettingUpdateSchema

blp = Blueprint("settings", __name__, url_prefix="/api", description="Run-time settings")


@blp.route("/settings")
class Settings(MethodView):
    @require("settings.manage")
    @blp.response(200, SettingSchema(many=True))
    def get(self) -> list[Setting]:
        """List every setting with its current value."""
        rows = [settings.get_row(key) for key in sorted(settings.VALIDATORS)]
        db.session.commit()
        return rows


@blp.route("/settings/<key>")
class SettingByKey(MethodView):
    @require("settings.manage")
    @blp.response(200, SettingSchema)
    def get(self, key: str) -> Setting:
        """Show one setting."""
        row = settings.get_row(key)
        db.session.commit()
        return row

    @require("settings.manage")
    @blp.arguments(SettingUpdateSchema)
    @blp.response(200, SettingSchema)
    def put(self, data: dict[str, Any], key: str) -> Setting:
        """Replace a setting's value (validated per key)."""
        row = settings.update(key, data["value"], actor=actor())
        db.session.commit()
        return row
