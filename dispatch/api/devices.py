"""App installations: a read-only summary (registration comes with the push issue)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dispatch.access.auth import require
from dispatch.api.common import Blueprint
from dispatch.audiences.devices import device_summary
from dispatch.schemas.audiences import DeviceSummarySchema

blp = Blueprint("devices", __name__, url_prefix="/api", description="App installations")


@blp.route("/devices/summary")
class DeviceSummary(MethodView):
    @require("audience.view")
    @blp.response(200, DeviceSummarySchema)
    def get(self) -> dict[str, Any]:
        """Count installations by platform and by locality, active and disabled."""
        return device_summary()
