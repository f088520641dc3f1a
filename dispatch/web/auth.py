"""Sign-in, sign-out, the language switch, and the person's own password and API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from dispatch.access import signin, totp, users
from dispatch.access.auth import require
from dispatch.errors import NotAuthenticated, NotFound, RateLimited, ValidationFailed
from dispatch.extensions import db
from dispatch.models import ApiToken, User
from dispatch.models.common import utcnow
from dispatch.schemas.users import TokenCreateSchema
from dispatch.web import forms, pages
from dispatch.web.i18n import LOCALES, _l
from dispatch.web.pages import errors_of, me, safe_next
from dispatch.web.session import (
    awaiting_second_factor,
    current_session,
    expect_second_factor,
    needs_second_factor,
    sign_in,
    sign_out,
    signed_in_account,
)

bp = pages.blueprint("web_auth", __name__)
# The same words as dispatch.access.signin.REFUSED, in the catalog.
REFUSED = _l("Wrong username or password, or too many failed sign-ins from this address. "
             "Check them, wait a few minutes, and try again.")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"), url_for("web_dashboard.index"))
    error = None
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            user = signin.authenticate(username, request.form.get("password", ""))
        except NotAuthenticated:
            # One answer whether the name is unknown, the password wrong or the pair throttled.
            return _login_page(REFUSED, username, target, 401)
        except signin.SignInUnavailable:
            return _login_page(_("Sign-in is unavailable for a moment; try again shortly."),
                               username, target, 503)
        except RateLimited:
            return _login_page(_("Too many sign-in attempts from this address. Wait a minute "
                                 "and try again."), username, target, 429)
        if totp.enabled(user):
            expect_second_factor(user, target)
            return redirect(url_for("web_auth.code"))
        sign_in(user, two_factor=False)
        return after_sign_in(user, target)
    return _login_page(error, username, target, 200)


def _login_page(error: str | None, username: str, target: str, status: int) -> Any:
    return render_template("auth/login.html", error=error, username=username,
                           next=target), status


@bp.route("/login/code", methods=["GET", "POST"])
def code() -> Any:
    """The second step for an account with a second factor: the code from the phone app."""
    pending = awaiting_second_factor()
    if pending is None:
        return redirect(url_for("web_auth.login"))
    user, target = pending
    error = None
    if request.method == "POST":
        try:
            signin.check_code(user, request.form.get("code", ""))
        except NotAuthenticated:
            db.session.rollback()
            error = _("Wrong or expired code, or too many failed attempts. Wait for a new code "
                      "and try again.")
            return render_template("auth/code.html", error=error), 401
        except signin.SignInUnavailable:
            db.session.rollback()
            error = _("Sign-in is unavailable for a moment; try again shortly.")
            return render_template("auth/code.html", error=error), 503
        except RateLimited:
            db.session.rollback()
            error = _("Too many sign-in attempts from this address. Wait a minute and try again.")
            return render_template("auth/code.html", error=error), 429
        sign_in(user, two_factor=True)
        return after_sign_in(user, target)
    return render_template("auth/code.html", error=error)


def after_sign_in(user: User, target: str) -> Response:
    """Where a fresh session goes: a one-time password or a missing second factor first."""
    if user.must_change_password:
        return redirect(url_for("web_auth.password", next=target))
    if needs_second_factor(user, current_session()):
        return redirect(url_for("web_account.two_factor", next=target))
    return redirect(target)


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
    user = signed_in_account()
    record = current_session()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        new = request.form.get("new_password", "")
        try:
            if new != request.form.get("confirm_password", ""):
                raise ValidationFailed.field("confirm_password", "The two passwords differ.")
            revoked = users.change_password(user, request.form.get("current_password", ""), new,
                                            revoke_tokens=request.form.get("revoke_tokens") == "on")
            db.session.commit()
        except ValidationFailed as err:
            db.session.rollback()
            errors = errors_of(err)
        else:
            # Every session of the account ended with the change, this one too: a fresh one
            # (new token, new CSRF secret) carries on what this one had proven.
            sign_in(user, two_factor=bool(record and record.two_factor))
            if revoked:
                flash(_("Your password has been changed and your API tokens revoked."),
                      "success")
            else:
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
