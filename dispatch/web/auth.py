"""Sign-in, sign-out, the language switch, and the person's own password and API tokens."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import flask_login
from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from dispatch import ratelimit, users
from dispatch.auth import require
from dispatch.errors import NotAuthenticated, NotFound, RateLimited, ValidationFailed
from dispatch.extensions import db
from dispatch.models import ApiToken
from dispatch.models.common import utcnow
from dispatch.schemas.users import TokenCreateSchema
from dispatch.web import forms, pages
from dispatch.web.i18n import LOCALES
from dispatch.web.pages import errors_of, me, safe_next
from dispatch.web.session import sign_in, sign_out

bp = pages.blueprint("web_auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"), url_for("web_dashboard.index"))
    error = None
    if g.get("session_expired"):
        error = _("Your session has ended. Please sign in again.")
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            ratelimit.check(f"signin:{request.remote_addr}",
                            limit=current_app.config["SIGNIN_LIMIT_PER_IP"], window=900,
                            what="sign-in attempts")
            user = users.authenticate(username, request.form.get("password", ""))
        except RateLimited as err:
            minutes = max(1, math.ceil(err.retry_after / 60))
            error = _("Too many failed sign-ins. Try again in %(minutes)d minutes.",
                      minutes=minutes)
            return render_template("auth/login.html", error=error, username=username,
                                   next=target), 429
        except NotAuthenticated:
            error = _("Wrong username or password.")
            return render_template("auth/login.html", error=error, username=username,
                                   next=target), 401
        sign_in(user)
        if user.must_change_password:
            return redirect(url_for("web_auth.password", next=target))
        return redirect(target)
    return render_template("auth/login.html", error=error, username=username, next=target)


@bp.post("/logout")
def logout() -> Response:
    sign_out()
    flash(_("You have signed out."), "info")
    return redirect(url_for("web_auth.login"))


@bp.get("/lang/<code>")
def language(code: str) -> Response:
    if code in LOCALES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("web_dashboard.index")))


@bp.route("/account/password", methods=["GET", "POST"])
def password() -> Any:
    """Change your password; a one-time password leads here before anything else."""
    current = flask_login.current_user
    if not current.is_authenticated:
        return redirect(url_for("web_auth.login", next=request.path))
    user = current.user
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        new = request.form.get("new_password", "")
        try:
            if new != request.form.get("confirm_password", ""):
                raise ValidationFailed.field("confirm_password", "The two passwords differ.")
            users.change_password(user, request.form.get("current_password", ""), new)
            db.session.commit()
        except ValidationFailed as err:
            db.session.rollback()
            errors = errors_of(err)
        else:
            sign_in(user)  # the old session's stamp no longer matches the new password
            flash(_("Your password has been changed."), "success")
            return redirect(safe_next(request.args.get("next"), url_for("web_dashboard.index")))
    return render_template("auth/password.html", errors=errors, forced=user.must_change_password,
                           min_length=users.MIN_PASSWORD), 422 if errors else 200


@bp.route("/account/tokens", methods=["GET", "POST"])
@require("self")
def tokens() -> Any:
    """Your API tokens: create one (its secret is shown once), revoke one."""
    errors: dict[str, list[str]] = {}
    secret = None
    if request.method == "POST":
        days = request.form.get("days", "").strip()
        number = forms.whole(days)
        expires = utcnow() + timedelta(days=number) if number and number <= 3650 else None
        data, errors = forms.load(TokenCreateSchema(), {
            "name": forms.text(request.form, "name"),
            "expires_at": None if expires is None else expires.isoformat()},
            blank={"name": "Give the token a name."})
        if days and (number is None or not 1 <= number <= 3650):
            errors["days"] = ["Give a number of days from 1 to 3650, or leave it empty."]
        if not errors:
            _token, secret = users.create_token(me(), data["name"], expires_at=expires)
            db.session.commit()
    mine = db.session.scalars(select(ApiToken).where(ApiToken.user_id == me().id)
                              .order_by(ApiToken.id.desc())).all()
    return render_template("auth/tokens.html", tokens=mine, secret=secret, errors=errors,
                           now=utcnow()), 422 if errors else 200


@bp.post("/account/tokens/<int:token_id>/revoke")
@require("self")
def revoke_token(token_id: int) -> Response:
    try:
        users.revoke_token(token_id, actor=me())
    except NotFound:
        db.session.rollback()
        flash(_("That token does not exist."), "error")
    else:
        db.session.commit()
        flash(_("The token has been revoked."), "success")
    return redirect(url_for("web_auth.tokens"))
