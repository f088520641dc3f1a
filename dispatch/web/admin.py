"""Administration: users and roles, SMPP accounts, settings, and the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import or_, select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from dispatch.access import sessions, totp, users
from dispatch.access.auth import require
from dispatch.campaigns import settings
from dispatch.errors import LoaError, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import OPERATORS, ROLES, ApiToken, AuditEvent, SmppAccount, User
from dispatch.models.common import utcnow
from dispatch.schemas.smpp import SmppAccountCreateSchema, SmppAccountUpdateSchema
from dispatch.schemas.users import UserCreateSchema, UserUpdateSchema
from dispatch.sms import accounts as smpp_accounts
from dispatch.web import forms, pages, queries
from dispatch.web.pages import Errors, errors_of, me

bp = pages.blueprint("web_admin", __name__, url_prefix="/admin")
ROLE_NEEDED = {"roles": "Give at least one role."}


@bp.get("")
@require("audit.view")
def index() -> Response:
    if pages.can("user.manage"):
        return redirect(url_for(".user_list"))
    return redirect(url_for(".audit"))


# --- users -----------------------------------------------------------------------------------

@bp.route("/users", methods=["GET", "POST"])
@require("user.manage")
def user_list() -> Any:
    errors: Errors = {}
    if request.method == "POST":
        form = request.form
        raw = {"username": forms.text(form, "username"), "roles": form.getlist("roles"),
               "full_name": forms.text(form, "full_name"),
               "email": forms.text(form, "email") or None}
        if form.get("password"):
            raw["password"] = form["password"]
        data, errors = forms.load(UserCreateSchema(), raw, blank=ROLE_NEEDED)
        try:
            if errors:
                raise ValidationFailed("Check the fields.", errors=errors)
            user, generated = users.create_user(
                data["username"], data["roles"], actor=me(), password=data["password"],
                full_name=data["full_name"], email=data["email"])
            db.session.commit()
        except LoaError as err:
            db.session.rollback()
            errors = errors_of(err)
        else:
            return render_template("admin/password_once.html", user=user, password=generated)
    stmt = select(User).order_by(User.username)
    if request.args.get("q"):
        like = f"%{request.args['q'].lower()}%"
        stmt = stmt.where(or_(User.username.like(like), User.full_name.ilike(like)))
    return render_template("admin/users.html", page=pages.page_of(stmt), roles=ROLES,
                           errors=errors, form=request.form), 422 if errors else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require("user.manage")
def user_edit(user_id: int) -> Any:
    user = users.get_user(user_id)
    errors: Errors = {}
    if request.method == "POST":
        form = request.form
        data, errors = forms.load(UserUpdateSchema(), {
            "roles": form.getlist("roles"), "full_name": forms.text(form, "full_name"),
            "email": forms.text(form, "email") or None, "active": form.get("active") == "on"},
            blank=ROLE_NEEDED)
        try:
            if errors:
                raise ValidationFailed("Check the fields.", errors=errors)
            users.update_user(user, actor=me(), **data)
            db.session.commit()
        except LoaError as err:
            db.session.rollback()
            user = users.get_user(user_id)
            errors = errors_of(err)
        else:
            flash(_("The account has been saved."), "success")
            return redirect(url_for(".user_edit", user_id=user_id))
    values = request.form if request.method == "POST" else _user_values(user)
    return render_template("admin/user.html", user=user, roles=ROLES, values=values,
                           errors=errors, user_sessions=sessions.active(user),
                           describe=sessions.describe_agent), 422 if errors else 200


def _user_values(user: User) -> MultiDict[str, str]:
    values = MultiDict({"full_name": user.full_name, "email": user.email or ""})
    for role in user.roles:
        values.add("roles", role)
    if user.active:
        values["active"] = "on"
    return values


@bp.post("/users/<int:user_id>/reset-password")
@require("user.manage")
def user_reset(user_id: int) -> Any:
    user = users.get_user(user_id)
    password = users.reset_password(user, actor=me())
    db.session.commit()
    # Shown in this response only: a flash message would travel in the (signed, not
    # encrypted) session cookie.
    return render_template("admin/password_once.html", user=user, password=password)


@bp.post("/users/<int:user_id>/sessions/end")
@require("user.manage")
def user_end_sessions(user_id: int) -> Response:
    """Sign a user out of every browser (a lost laptop, someone leaving)."""
    user = users.get_user(user_id)
    count = sessions.end_everywhere(user, actor=me())
    db.session.commit()
    flash(_("%(u)s has been signed out of %(n)d sessions.", u=user.username, n=count), "success")
    return redirect(url_for(".user_edit", user_id=user_id))


@bp.post("/users/<int:user_id>/reset-two-factor")
@require("user.manage")
def user_reset_two_factor(user_id: int) -> Response:
    user = users.get_user(user_id)
    totp.remove(user, actor=me())
    db.session.commit()
    flash(_("Two-factor sign-in of %(u)s is off; their sessions have ended.", u=user.username),
          "success")
    return redirect(url_for(".user_edit", user_id=user_id))


@bp.get("/tokens")
@require("user.manage")
def token_list() -> Any:
    """Every API token, whose it is and when it was last used; admins may revoke any."""
    stmt = select(ApiToken).order_by(ApiToken.id.desc())
    if request.args.get("active") == "1":
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    page = pages.page_of(stmt)
    names = queries.names({t.user_id for t in page["items"]})
    return render_template("admin/tokens.html", page=page, names=names, now=utcnow())


@bp.post("/tokens/<int:token_id>/revoke")
@require("user.manage")
def token_revoke(token_id: int) -> Response:
    users.revoke_token(token_id, actor=me())
    db.session.commit()
    flash(_("The token has been revoked."), "success")
    return redirect(url_for(".token_list"))


# --- SMPP accounts ----------------------------------------------------------------------------

SMPP_INTS = ("port", "binds", "tps", "window", "source_ton", "source_npi", "validity_minutes")
SMPP_TEXTS = ("name", "host", "system_id", "system_type", "bind_mode", "id_format", "concat",
              "pacing")


@bp.get("/smpp")
@require("gateway.manage")
def smpp_list() -> Any:
    accounts = db.session.scalars(select(SmppAccount).order_by(SmppAccount.name)).all()
    routes = smpp_accounts.route_table()
    by_id = {a.id: a for a in accounts}
    return render_template("admin/smpp.html", accounts=accounts, routes=routes, by_id=by_id,
                           binds=queries.bind_health())


def _smpp_input(form: MultiDict[str, str], creating: bool) -> dict[str, Any]:
    raw: dict[str, Any] = {name: form.get(name, "").strip() for name in SMPP_TEXTS}
    for name in SMPP_INTS:
        raw[name] = forms.number_or_text(form.get(name))
    raw["brandnames"] = [b.strip() for b in form.get("brandnames", "").split(",") if b.strip()]
    raw["operators"] = form.getlist("operators")
    raw["is_default"] = form.get("is_default") == "on"
    raw["enabled"] = form.get("enabled") == "on"
    if form.get("password"):
        raw["password"] = form["password"]
    if not raw["system_type"]:
        raw.pop("system_type")
    if not raw["pacing"]:  # a form from before the setting: the account keeps its pacing
        raw.pop("pacing")
    schema = SmppAccountCreateSchema() if creating else SmppAccountUpdateSchema()
    data: dict[str, Any] = schema.load(raw)
    return data


@bp.route("/smpp/new", methods=["GET", "POST"])
@bp.route("/smpp/<int:account_id>", methods=["GET", "POST"])
@require("gateway.manage")
def smpp_edit(account_id: int | None = None) -> Any:
    account = smpp_accounts.get(account_id) if account_id is not None else None
    errors: Errors = {}
    values: MultiDict[str, str] = request.form if request.method == "POST" else _smpp_values(
        account)
    if request.method == "POST":
        try:
            data = _smpp_input(request.form, creating=account is None)
            if account is None:
                account = smpp_accounts.create(data, actor=me())
            else:
                smpp_accounts.update(account, data, actor=me())
            db.session.commit()
        except (LoaError, ma.ValidationError) as err:
            db.session.rollback()
            errors = errors_of(err)
            account = smpp_accounts.get(account_id) if account_id is not None else None
        else:
            flash(_("The SMPP account has been saved."), "success")
            return redirect(url_for(".smpp_list"))
    return render_template("admin/smpp_form.html", account=account, values=values,
                           errors=errors, operators=OPERATORS), 422 if errors else 200


def _smpp_values(account: SmppAccount | None) -> MultiDict[str, str]:
    if account is None:
        return MultiDict({"port": "2775", "bind_mode": "trx", "binds": "1", "tps": "50",
                          "window": "10", "source_ton": "5", "source_npi": "0",
                          "validity_minutes": "1440", "id_format": "auto", "concat": "udh",
                          "pacing": "per_second",
                          "enabled": "on"})
    values: MultiDict[str, str] = MultiDict()
    for name in (*SMPP_TEXTS, *SMPP_INTS):
        values[name] = str(getattr(account, name) or "")
    values["brandnames"] = ", ".join(account.brandnames)
    for op in account.operators:
        values.add("operators", op)
    if account.is_default:
        values["is_default"] = "on"
    if account.enabled:
        values["enabled"] = "on"
    return values


@bp.post("/smpp/<int:account_id>/delete")
@require("gateway.manage")
def smpp_delete(account_id: int) -> Response:
    smpp_accounts.remove(smpp_accounts.get(account_id), actor=me())
    db.session.commit()
    flash(_("The SMPP account has been removed."), "success")
    return redirect(url_for(".smpp_list"))


# --- settings ---------------------------------------------------------------------------------

@bp.get("/settings")
@require("settings.manage")
def settings_page() -> Any:
    return _settings_page({}, None)


def _settings_page(errors: Errors, failed: str | None) -> Any:
    current = {key: settings.get_row(key) for key in sorted(settings.VALIDATORS)}
    db.session.commit()  # get_row may have stored a missing default
    names = queries.names({row.updated_by_id for row in current.values()})
    return render_template("admin/settings.html", current=current, errors=errors, failed=failed,
                           form=request.form, operators=OPERATORS,
                           names=names), 422 if errors else 200


@bp.post("/settings/<key>")
@require("settings.manage")
def settings_save(key: str) -> Any:
    if key not in settings.VALIDATORS:
        raise NotFound(f"No setting {key!r}.")
    try:
        settings.update(key, forms.setting_input(key, request.form), actor=me())
        db.session.commit()
    except LoaError as err:
        db.session.rollback()
        return _settings_page(errors_of(err), key)
    flash(_("The setting has been saved."), "success")
    return redirect(url_for(".settings_page") + f"#{key}")


# --- audit log --------------------------------------------------------------------------------

@bp.get("/audit")
@require("audit.view")
def audit() -> Any:
    args = request.args
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    for name in ("entity", "entity_id", "action"):
        if args.get(name):
            stmt = stmt.where(getattr(AuditEvent, name) == args[name].strip())
    actor_id = pages.whole(args.get("actor_id"))
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    for name, op in (("since", "ge"), ("until", "lt")):
        if args.get(name):
            try:
                moment = forms.parse_local(args[name] + "T00:00")
            except ValueError:
                continue
            if moment is None:
                continue
            if op == "ge":
                stmt = stmt.where(AuditEvent.at >= moment)
            else:
                stmt = stmt.where(AuditEvent.at < moment + timedelta(days=1))
    page = pages.page_of(stmt)
    people = db.session.scalars(select(User).order_by(User.username)).all()
    entities = db.session.scalars(select(AuditEvent.entity).distinct()
                                  .order_by(AuditEvent.entity)).all()
    names = {u.id: u.full_name or u.username for u in people}
    return render_template("admin/audit.html", page=page, args=args, people=people,
                           names=names, entities=entities)
