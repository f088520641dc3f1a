"""Liveness (`/healthz`) and readiness (`/readyz`), for load balancers and process supervisors.

Both answer without authentication: a probe has no token. Neither names a host, a URL or a
credential; `/readyz` names the failing dependency and, for SMPP, the accounts without a bound
bind and their state.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, jsonify
from flask.views import MethodView

from dispatch.api.common import Blueprint
from dispatch.errors import error_body
from dispatch.ops.health import readiness

blp = Blueprint("health", __name__, url_prefix="/", description="Service health")


class LiveSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "Always `ok`"})


class CheckSchema(ma.Schema):
    ok = ma.fields.Boolean()
    ms = ma.fields.Float(metadata={"description": "How long the check took"})
    detail = ma.fields.String()
    problems = ma.fields.List(ma.fields.String(),
                              metadata={"description": "SMPP: accounts without a bound bind"})


class ReadySchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "`ok`"})
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(CheckSchema),
                            metadata={"description": "database, redis, smpp"})


class NotReadySchema(ma.Schema):
    """Loa's error format, with every check's result besides."""

    status = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "`not_ready`"})
    message = ma.fields.String()
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
                            metadata={"description": "Why, per failed check"})
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(CheckSchema))


@blp.route("/healthz")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200, LiveSchema)
    def get(self) -> dict[str, str]:
        """Say the process is alive (touches no database, Redis or gateway)."""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.doc(security=[])
    @blp.response(200, ReadySchema)
    @blp.alt_response(503, schema=NotReadySchema, description="A dependency is not ready")
    def get(self) -> Any:
        """Say whether the database, Redis and (when an smpp process runs) every enabled
        SMPP account's binds are ready; 503 naming what is not."""
        results = readiness(current_app._get_current_object())  # type: ignore[attr-defined]
        checks = {r.name: r.as_dict() for r in results}
        failed = [r for r in results if not r.ok]
        if not failed:
            return {"status": "ok", "checks": checks}
        message = "Not ready: " + "; ".join(f"{r.name}: {r.detail}" for r in failed)
        body = error_body(503, "not_ready", message,
                          {r.name: (r.problems or [r.detail]) for r in failed})
        body["checks"] = checks
        response = jsonify(body)
        response.status_code = 503
        response.headers["Cache-Control"] = "no-store"
        return response
