"""The province app's API (authenticated by an app key) and the admin view of app keys."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import aliased

from dispatch.access import ratelimit
from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor, with_extra
from dispatch.errors import NotAuthenticated
from dispatch.extensions import db
from dispatch.models import AppKey, Device, Locality
from dispatch.models.common import utcnow
from dispatch.push import devices as app_devices
from dispatch.push import installations as app_installations
from dispatch.push import numbers as app_numbers
from dispatch.push.installations import SECRET_HEADER
from dispatch.replies import app as app_replies
from dispatch.schemas.app_devices import (
    AnswerGivenSchema,
    AnswerSchema,
    AppDeviceSchema,
    AppKeyCreatedSchema,
    AppKeyCreateSchema,
    AppKeySchema,
    AppKeyUpdateSchema,
    AppLocalitySchema,
    DeviceRegisterSchema,
    NumberSchema,
    OpenedAnswerSchema,
    OpenedSchema,
    OptOutRequestSchema,
    TopicsSchema,
)
from dispatch.schemas.common import ErrorSchema

F = TypeVar("F", bound=Callable[..., Any])

APP_KEY_HEADER = "X-App-Key"
SECURITY_SCHEME = "appKey"
INSTALLATION_SCHEME = "installationSecret"
# Calls about one installation need both; registering needs the key, and the secret too once
# the installation has one.
BOTH: list[dict[str, list[str]]] = [{SECURITY_SCHEME: [], INSTALLATION_SCHEME: []}]


class _AppBlueprint(Blueprint):
    """A Blueprint that also declares the app-key security scheme its operations use."""

    def register_views_in_doc(self, api: Any, app: Any, spec: Any, *, name: str,
                              parameters: Any) -> None:
        if SECURITY_SCHEME not in spec.components.security_schemes:
            spec.components.security_scheme(SECURITY_SCHEME, {
                "type": "apiKey", "in": "header", "name": APP_KEY_HEADER,
                "description": "The province app's key (`flask appkeys create`), shared by every "
                               "installation and rate-limited per key. Staff tokens are refused. "
                               "On its own it only registers new installations.",
            })
            spec.components.security_scheme(INSTALLATION_SCHEME, {
                "type": "apiKey", "in": "header", "name": SECRET_HEADER,
                "description": "The installation's own secret, returned once as "
                               "`installation_secret` when it registered (PUT /api/app/devices/"
                               "{installation_id} with the app key alone). Every later call for "
                               "that installation sends it with the app key. Lost: register "
                               "under a new installation id.",
            })
        super().register_views_in_doc(api, app, spec, name=name, parameters=parameters)


blp = _AppBlueprint(
    "app", __name__, url_prefix="/api/app",
    description="For the province app: device registration, topics and push opt-out. "
                f"Every call sends the app key in {APP_KEY_HEADER} (not a staff token); every "
                f"call about an installation also sends its own secret in {SECRET_HEADER}, "
                "issued once when it registered. Limits: per app key, per source address, per "
                "installation, and new registrations per source address per hour (429 naming "
                f"the limit); bodies over {app_installations.MAX_BODY} bytes are refused (413).",
)
keys_blp = Blueprint("app_keys", __name__, url_prefix="/api",
                     description="Keys the province app authenticates with (admin)")


def require_app_key(view: F) -> F:
    """Refuse the view unless the request carries a live app key within its rate limits."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # Before anything reads the body; a body sent without a length stops at the limit too.
        app_installations.check_body_size(request.content_length)
        request.max_content_length = app_installations.MAX_BODY
        # The address before the key: one address cannot spend the whole fleet's budget.
        app_installations.limit_address(request.remote_addr)
        secret = request.headers.get(APP_KEY_HEADER)
        if not secret and request.headers.get("Authorization"):
            raise NotAuthenticated(f"This endpoint is for the app: send its key in "
                                   f"{APP_KEY_HEADER}. Staff tokens are not accepted here.")
        key = app_devices.key_for_secret(secret)
        ratelimit.check(f"appkey:{key.id}", limit=key.rate_limit_per_minute,
                        what="requests with this app key")
        g.app_key = key
        return view(*args, **kwargs)

    wrapper = blp.alt_response(401, "UNAUTHORIZED")(wrapper)
    wrapper = blp.alt_response(
        429, schema=ErrorSchema,
        description="Over a rate limit (the message names it): the key's, the source "
                    "address's, the installation's, or new registrations per address",
        headers={"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
    )(wrapper)
    wrapper = blp.alt_response(413, schema=ErrorSchema,
                               description="Body over 16 KB, refused unread")(wrapper)
    return blp.doc(security=[{SECURITY_SCHEME: []}])(wrapper)


def app_key() -> AppKey:
    """The key `require_app_key` let through for this request."""
    return g.app_key


def installation(installation_id: str) -> Device:
    """The installation whose secret this request carries (401/403 otherwise), rate-limited."""
    device = app_installations.authenticate(installation_id, request.headers.get(SECRET_HEADER))
    app_installations.limit_installation(device)
    return device


def _own(view: F) -> F:
    """Document that the view needs the installation's secret as well as the app key."""
    view = blp.alt_response(403, schema=ErrorSchema, description="Not this installation's "
                            "secret (or no such installation)")(view)
    return blp.doc(security=BOTH)(view)


@blp.route("/devices/<installation_id>")
class AppDevice(MethodView):
    @_own
    @require_app_key
    @blp.response(200, AppDeviceSchema)
    def get(self, installation_id: str) -> dict[str, Any]:
        """Show how Loa sees this installation (active, opted out, topics)."""
        return app_devices.describe(installation(installation_id))

    @blp.doc(security=[*BOTH, {SECURITY_SCHEME: []}])
    @blp.alt_response(403, schema=ErrorSchema, description="Wrong installation secret")
    @blp.alt_response(409, schema=ErrorSchema, description="`installation_registered`: the id "
                      "is registered already and the request has not its secret")
    @require_app_key
    @blp.arguments(DeviceRegisterSchema)
    @blp.response(200, AppDeviceSchema, description="Refreshed (with the secret), or an "
                  "installation registered before secrets claimed one (`installation_secret`)")
    @blp.alt_response(201, schema=AppDeviceSchema, description="Registered: the answer holds "
                      "`installation_secret`, shown this once", success=True)
    def put(self, data: dict[str, Any], installation_id: str) -> tuple[dict[str, Any], int]:
        """Register an installation, or refresh it with its secret; call it at start and on
        new tokens.

        Without X-Installation-Secret only a new installation id registers (201, the answer
        holds its secret), or an installation registered before secrets existed claims one by
        sending the FCM token Loa holds for it (200); the same registration sent again within
        10 minutes with the same token (its answer was lost) gets a fresh secret. Any other
        registered id answers 409 `installation_registered`. A token already held by another
        installation moves here (that one is disabled with `token_moved`). A new token
        re-enables a disabled installation.
        """
        if data.get("msisdn") is not None:  # before anything is written: refused as a whole
            app_numbers.read_number(data["msisdn"])
        if request.headers.get(SECRET_HEADER):
            installation(installation_id)
            device, _ = app_devices.register(installation_id, data)
            if "msisdn" in data:
                app_numbers.set_number(device, data["msisdn"], key=app_key())
            db.session.commit()
            return app_devices.describe(device), 200
        device, status, secret = app_installations.enroll(installation_id, data,
                                                          address=request.remote_addr)
        if "msisdn" in data:
            app_numbers.set_number(device, data["msisdn"], key=app_key())
        db.session.commit()
        return app_devices.describe(device) | {"installation_secret": secret}, status

    @_own
    @require_app_key
    @blp.response(204)
    def delete(self, installation_id: str) -> None:
        """Unregister: no more pushes, the token is forgotten; registering again (with the
        secret) re-enables."""
        installation(installation_id)
        app_devices.unregister(installation_id)
        db.session.commit()


@blp.route("/devices/<installation_id>/topics")
class AppDeviceTopics(MethodView):
    @_own
    @require_app_key
    @blp.arguments(TopicsSchema)
    @blp.response(200, AppDeviceSchema)
    def put(self, data: dict[str, Any], installation_id: str) -> dict[str, Any]:
        """Replace the topics the installation subscribed to."""
        installation(installation_id)
        device = app_devices.set_topics(installation_id, data["topics"])
        db.session.commit()
        return app_devices.describe(device)


@blp.route("/devices/<installation_id>/opt-out")
class AppDeviceOptOut(MethodView):
    @_own
    @require_app_key
    @blp.arguments(OptOutRequestSchema)
    @blp.response(200, AppDeviceSchema)
    def post(self, data: dict[str, Any], installation_id: str) -> dict[str, Any]:
        """Turn pushes off for this installation (the person's choice; idempotent)."""
        installation(installation_id)
        device = app_devices.opt_out(installation_id, key=app_key(), reason=data["reason"])
        db.session.commit()
        return app_devices.describe(device)

    @_own
    @require_app_key
    @blp.response(200, AppDeviceSchema)
    def delete(self, installation_id: str) -> dict[str, Any]:
        """Turn pushes back on for this installation."""
        installation(installation_id)
        device = app_devices.opt_in(installation_id, key=app_key())
        db.session.commit()
        return app_devices.describe(device)


@blp.route("/devices/<installation_id>/msisdn")
class AppDeviceNumber(MethodView):
    @_own
    @require_app_key
    @blp.arguments(NumberSchema)
    @blp.response(200, AppDeviceSchema)
    def put(self, data: dict[str, Any], installation_id: str) -> dict[str, Any]:
        """Tell the signed-in user's number (replacing any); verified only if this app key
        verifies numbers, else claimed."""
        device = installation(installation_id)
        app_numbers.set_number(device, data["msisdn"], key=app_key())
        db.session.commit()
        return app_devices.describe(device)

    @_own
    @require_app_key
    @blp.response(200, AppDeviceSchema)
    def delete(self, installation_id: str) -> dict[str, Any]:
        """The user signed out: the installation has no number any more (idempotent)."""
        device = installation(installation_id)
        app_numbers.set_number(device, None, key=app_key())
        db.session.commit()
        return app_devices.describe(device)


@blp.route("/devices/<installation_id>/opened")
class AppDeviceOpened(MethodView):
    @_own
    @require_app_key
    @blp.arguments(OpenedSchema)
    @blp.response(200, OpenedAnswerSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="`not_sent`: the campaign sent "
                      "this installation no notification")
    def post(self, data: dict[str, Any], installation_id: str) -> dict[str, Any]:
        """Report that the user opened the campaign's notification (idempotent: the first time
        is kept). A campaign that falls back to SMS sends none to a number whose push was
        opened."""
        device = installation(installation_id)
        at = app_numbers.opened(device, data["campaign_id"])
        db.session.commit()
        return {"campaign_id": data["campaign_id"], "opened_at": at}
@blp.route("/devices/<installation_id>/answers")
class AppDeviceAnswers(MethodView):
    @_own
    @require_app_key
    @blp.arguments(AnswerSchema)
    @blp.response(200, AnswerGivenSchema, description="The answer changed")
    @blp.alt_response(201, schema=AnswerGivenSchema, description="The answer given")
    @blp.alt_response(409, schema=ErrorSchema, description="`not_asked`, `not_reached` or "
                      "`reply_window_closed`")
    def post(self, data: dict[str, Any], installation_id: str) -> tuple[Any, int]:
        """Answer a campaign: one answer per installation, changeable until the window closes."""
        device = installation(installation_id)
        reply, new = app_replies.answer(device, data["campaign_id"], data["text"], utcnow())
        db.session.commit()
        return reply, 201 if new else 200


@blp.route("/localities")
class AppLocalities(MethodView):
    @require_app_key
    @blp.response(200, AppLocalitySchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """List the active locality codes the app may register with."""
        parent = aliased(Locality)
        stmt = (select(Locality.code, Locality.name, Locality.kind, parent.code)
                .outerjoin(parent, parent.id == Locality.parent_id)
                .where(Locality.active.is_(True)).order_by(Locality.kind, Locality.name))
        return [{"code": c, "name": n, "kind": k, "parent": p}
                for c, n, k, p in db.session.execute(stmt)]


@keys_blp.route("/app-keys")
class AppKeys(MethodView):
    @require("appkey.manage")
    @keys_blp.response(200, AppKeySchema(many=True))
    def get(self) -> list[AppKey]:
        """List app keys (secrets are never shown again)."""
        return list(db.session.scalars(select(AppKey).order_by(AppKey.id)))

    @require("appkey.manage")
    @keys_blp.arguments(AppKeyCreateSchema)
    @keys_blp.response(201, AppKeyCreatedSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create an app key; the response is the only time the secret is shown."""
        key, secret = app_devices.create_key(
            data["name"], rate_limit_per_minute=data["rate_limit_per_minute"],
            verifies_numbers=data["verifies_numbers"], actor=actor()
        )
        db.session.commit()
        return with_extra(key, AppKeySchema, key=secret)


@keys_blp.route("/app-keys/<int:key_id>")
class AppKeyById(MethodView):
    @require("appkey.manage")
    @keys_blp.arguments(AppKeyUpdateSchema)
    @keys_blp.response(200, AppKeySchema)
    def patch(self, data: dict[str, Any], key_id: int) -> AppKey:
        """Rename a key, change its rate limit, or mark whether it verifies numbers."""
        key = app_devices.update_key(app_devices.get_key(key_id), actor=actor(), **data)
        db.session.commit()
        return key

    @require("appkey.manage")
    @keys_blp.response(204)
    def delete(self, key_id: int) -> None:
        """Revoke a key: every installation using it is refused from now on."""
        app_devices.revoke_key(app_devices.get_key(key_id), actor=actor())
        db.session.commit()
