"""Webhooks (admin pages): register a receiver, pick its events, see its secret once, rotate
it, send a test event, read every delivery attempt, disable and enable it again."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from dispatch.access.auth import require
from dispatch.errors import LoaError
from dispatch.extensions import db
from dispatch.hooks import deliver, registry
from dispatch.hooks.events import EVENTS
from dispatch.models import Webhook
from dispatch.schemas.hooks import HookCreateSchema, HookUpdateSchema
from dispatch.web import forms, pages
from dispatch.web.i18n import dt
from dispatch.web.pages import Errors, errors_of, me

bp = pages.blueprint("web_hooks", __name__, url_prefix="/admin/hooks")

EVENT_WORDS = {
    "reply.received": _l("A reply is received"),
    "survey.answered": _l("A survey is answered"),
    "message.delivered": _l("A message is delivered"),
    "message.failed": _l("A message failed"),
    "campaign.completed": _l("A campaign is completed"),
    "hook.test": _l("Test event"),
}
STATUS_WORDS = {"pending": _l("Will be retried"), "delivered": _l("Delivered"),
                "failed": _l("Given up")}


def event_options() -> list[tuple[str, str]]:
    return [(e, str(EVENT_WORDS[e])) for e in EVENTS]


def disabled_words(hook: Webhook) -> str:
    """Why a hook is disabled, in words."""
    found = registry.reason_of(hook)
    if found is None:
        return hook.disabled_reason or ""
    code, values = found
    if code == registry.FAILING:
        return _("Every delivery failed for a day (since %(since)s; last error: %(last)s).",
                 since=dt(values.get("since")), last=values.get("last", "?"))
    return _("Disabled by an administrator.")


@bp.app_template_filter("hook_event")
def hook_event(code: str) -> str:
    return str(EVENT_WORDS.get(code, code))


@bp.get("")
@require("hook.manage")
def hook_list() -> Any:
    hooks = db.session.scalars(select(Webhook).order_by(Webhook.id)).all()
    return render_template("admin/hooks.html", hooks=hooks, why=disabled_words)


def _input(form: MultiDict[str, str], creating: bool) -> dict[str, Any]:
    raw = {"name": forms.text(form, "name"), "url": forms.text(form, "url"),
           "events": form.getlist("events")}
    schema = HookCreateSchema() if creating else HookUpdateSchema()
    data: dict[str, Any] = schema.load(raw)
    return data


@bp.route("/new", methods=["GET", "POST"])
@require("hook.manage")
def hook_new() -> Any:
    errors: Errors = {}
    if request.method == "POST":
        try:
            hook, secret = registry.create(_input(request.form, creating=True), actor=me())
            db.session.commit()
        except (LoaError, ma.ValidationError) as err:
            db.session.rollback()
            errors = errors_of(err)
        else:
            return render_template("admin/hook_secret.html", hook=hook, secret=secret)
    values = request.form if request.method == "POST" else MultiDict(
        [("events", e) for e in EVENTS])
    return render_template("admin/hook.html", hook=None, values=values, errors=errors,
                           options=event_options()), 422 if errors else 200


@bp.route("/<int:hook_id>", methods=["GET", "POST"])
@require("hook.manage")
def hook_edit(hook_id: int) -> Any:
    hook = registry.get(hook_id)
    errors: Errors = {}
    if request.method == "POST":
        try:
            registry.update_hook(hook, _input(request.form, creating=False), actor=me())
            db.session.commit()
        except (LoaError, ma.ValidationError) as err:
            db.session.rollback()
            errors = errors_of(err)
            hook = registry.get(hook_id)
        else:
            flash(_("The webhook has been saved."), "success")
            return redirect(url_for(".hook_edit", hook_id=hook_id))
    if request.method == "POST":
        values: MultiDict[str, str] = request.form
    else:
        values = MultiDict([("name", hook.name), ("url", hook.url),
                            *[("events", e) for e in hook.events]])
    return render_template("admin/hook.html", hook=hook, values=values, errors=errors,
                           options=event_options(), attempts=registry.attempts(hook.id),
                           waiting=registry.waiting(hook.id), why=disabled_words,
                           status_words=STATUS_WORDS), 422 if errors else 200


@bp.post("/<int:hook_id>/secret")
@require("hook.manage")
def hook_rotate(hook_id: int) -> Any:
    hook = registry.get(hook_id)
    secret = registry.rotate(hook, actor=me())
    db.session.commit()
    # In this response only, never in a flash message (the session cookie is not encrypted).
    return render_template("admin/hook_secret.html", hook=hook, secret=secret)


@bp.post("/<int:hook_id>/test")
@require("hook.manage")
def hook_test(hook_id: int) -> Response:
    delivery = registry.send_test(registry.get(hook_id), actor=me())
    delivery_id = delivery.id
    db.session.commit()
    deliver.enqueue([delivery_id])
    flash(_("A test event is on its way; its attempt appears below."), "success")
    return redirect(url_for(".hook_edit", hook_id=hook_id))


@bp.post("/<int:hook_id>/enable")
@require("hook.manage")
def hook_enable(hook_id: int) -> Response:
    registry.enable(registry.get(hook_id), actor=me())
    db.session.commit()
    deliver.sweep()
    flash(_("The webhook is enabled again; waiting deliveries are sent now."), "success")
    return redirect(url_for(".hook_edit", hook_id=hook_id))


@bp.post("/<int:hook_id>/disable")
@require("hook.manage")
def hook_disable(hook_id: int) -> Response:
    registry.disable(registry.get(hook_id), registry.BY_ADMIN, actor=me())
    db.session.commit()
    flash(_("The webhook is disabled; its deliveries wait until it is enabled."), "success")
    return redirect(url_for(".hook_edit", hook_id=hook_id))
