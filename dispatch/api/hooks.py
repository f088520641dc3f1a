"""Webhooks (admin): register a receiver, pick its events, rotate its secret, test, re-enable,
and read every delivery attempt. The secret is returned once, on creation and rotation."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor, with_extra
from dispatch.extensions import db
from dispatch.hooks import deliver, registry
from dispatch.models import Webhook
from dispatch.schemas.common import StrictSchema
from dispatch.schemas.hooks import (
    HookAttemptSchema,
    HookCreateSchema,
    HookSchema,
    HookUpdateSchema,
    HookWithSecretSchema,
)

blp = Blueprint("hooks", __name__, url_prefix="/api",
                description="Webhooks: signed POSTs of events to systems around Loa")


class AttemptsQuery(StrictSchema):
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


class TestSentSchema(ma.Schema):
    delivery = ma.fields.String()


@blp.route("/hooks")
class Hooks(MethodView):
    @require("hook.manage")
    @blp.response(200, HookSchema(many=True))
    def get(self) -> list[Webhook]:
        """List webhooks."""
        return list(db.session.scalars(select(Webhook).order_by(Webhook.id)))

    @require("hook.manage")
    @blp.arguments(HookCreateSchema)
    @blp.response(201, HookWithSecretSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register a webhook; its secret is in this answer only."""
        hook, secret = registry.create(data, actor=actor())
        db.session.commit()
        return with_extra(hook, HookSchema, secret=secret)


@blp.route("/hooks/<int:hook_id>")
class HookById(MethodView):
    @require("hook.manage")
    @blp.response(200, HookSchema)
    def get(self, hook_id: int) -> Webhook:
        """Show a webhook (never its secret)."""
        return registry.get(hook_id)

    @require("hook.manage")
    @blp.arguments(HookUpdateSchema)
    @blp.response(200, HookSchema)
    def patch(self, data: dict[str, Any], hook_id: int) -> Webhook:
        """Change a webhook's name, URL or events."""
        hook = registry.update_hook(registry.get(hook_id), data, actor=actor())
        db.session.commit()
        return hook


@blp.route("/hooks/<int:hook_id>/secret", methods=["POST"])
@require("hook.manage")
@blp.response(200, HookWithSecretSchema)
def rotate_secret(hook_id: int) -> dict[str, Any]:
    """Replace the secret; the new one is in this answer only."""
    hook = registry.get(hook_id)
    secret = registry.rotate(hook, actor=actor())
    db.session.commit()
    return with_extra(hook, HookSchema, secret=secret)


@blp.route("/hooks/<int:hook_id>/test", methods=["POST"])
@require("hook.manage")
@blp.response(202, TestSentSchema)
def send_test(hook_id: int) -> dict[str, Any]:
    """Send one `hook.test` event to this hook (by a worker; see its attempts)."""
    delivery = registry.send_test(registry.get(hook_id), actor=actor())
    uid, delivery_id = delivery.uid, delivery.id
    db.session.commit()
    deliver.enqueue([delivery_id])
    return {"delivery": uid}


@blp.route("/hooks/<int:hook_id>/enable", methods=["POST"])
@require("hook.manage")
@blp.response(200, HookSchema)
def enable(hook_id: int) -> Webhook:
    """Enable a webhook again (after it was disabled); its waiting deliveries go at once."""
    hook = registry.get(hook_id)
    registry.enable(hook, actor=actor())
    db.session.commit()
    deliver.sweep()
    return hook


@blp.route("/hooks/<int:hook_id>/disable", methods=["POST"])
@require("hook.manage")
@blp.response(200, HookSchema)
def disable(hook_id: int) -> Webhook:
    """Stop posting to a webhook; its deliveries wait until it is enabled."""
    hook = registry.get(hook_id)
    registry.disable(hook, registry.BY_ADMIN, actor=actor())
    db.session.commit()
    return hook


@blp.route("/hooks/<int:hook_id>/attempts", methods=["GET"])
@require("hook.manage")
@blp.arguments(AttemptsQuery, location="query")
@blp.response(200, HookAttemptSchema(many=True))
def attempts(args: dict[str, Any], hook_id: int) -> list[dict[str, Any]]:
    """The latest delivery attempts, newest first: status code, error, duration, next try."""
    registry.get(hook_id)
    return registry.attempts(hook_id, limit=args["limit"])
