"""The person's own sign-ins: the browsers signed in as them, and the second factor."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from dispatch.access import sessions, signin, totp
from dispatch.access.auth import require
from dispatch.errors import NotAuthenticated, NotFound
from dispatch.extensions import db
from dispatch.web import pages
from dispatch.web.pages import me, safe_next
from dispatch.web.session import (
    current_session,
    needs_second_factor,
    sign_out,
    signed_in_account,
)

bp = pages.blueprint("web_account", __name__, url_prefix="/account")


@bp.get("/sessions")
@require("self")
def session_list() -> Any:
    """Where you are signed in (browser, address, last page view); end one or all others."""
    record = current_session()
    return render_template("auth/sessions.html", sessions=sessions.active(me()),
                           current=record.id if record else None,
                           describe=sessions.describe_agent)


@bp.post("/sessions/<int:session_id>/end")
@require("self")
def session_end(session_id: int) -> Response:
    record = current_session()
    try:
        sessions.end_one(me(), session_id, actor=me())
    except NotFound:
        db.session.rollback()
        flash(_("That session does not exist."), "error")
        return redirect(url_for(".session_list"))
    db.session.commit()
    if record is not None and record.id == session_id:
        sign_out("revoked")
        return redirect(url_for("web_auth.login"))
    flash(_("That session has ended."), "success")
    return redirect(url_for(".session_list"))


@bp.post("/sessions/end-others")
@require("self")
def session_end_others() -> Response:
    record = current_session()
    count = sessions.end_everywhere(me(), actor=me(), keep=record.id if record else None)
    db.session.commit()
    flash(_("Signed out of %(n)d other sessions.", n=count), "success")
    return redirect(url_for(".session_list"))


@bp.route("/two-factor", methods=["GET", "POST"])
def two_factor() -> Any:
    """Set up (or turn off) sign-in codes from a phone app; required ones lead here first."""
    user = signed_in_account()
    if user.must_change_password:
        return redirect(url_for("web_auth.password", next=request.path))
    record = current_session()
    if not needs_second_factor(user, record):
        g.actor = user  # a complete session: the header shows what the roles allow
    target = safe_next(request.args.get("next"), url_for("web_dashboard.index"))
    error = None
    if request.method == "POST" and request.form.get("action") == "disable":
        if totp.required(user):
            error = _("Your role requires a second factor: it cannot be turned off.")
        else:
            try:
                signin.check_code(user, request.form.get("code", ""))
            except NotAuthenticated:
                db.session.rollback()
                error = _("Wrong or expired code, or too many failed attempts. Wait for a new "
                          "code and try again.")
            else:
                totp.remove(user, actor=user, keep_session=record.id if record else None)
                db.session.commit()
                flash(_("Two-factor sign-in is off."), "success")
                return redirect(url_for(".two_factor"))
    elif request.method == "POST":
        if totp.confirm_enrolment(user, request.form.get("code", ""),
                                  keep_session=record.id if record else None):
            if record is not None:
                record.two_factor = True
            db.session.commit()
            flash(_("Two-factor sign-in is on. Your other sessions have ended."), "success")
            return redirect(target)
        error = _("That code does not match: check the phone's clock and type the newest code.")
    secret = None
    if not totp.enabled(user):
        secret = totp.pending_secret(user)
        if secret is None or request.args.get("new") == "1":
            secret = totp.start_enrolment(user)
            db.session.commit()
    uri = totp.uri(user, secret) if secret else None
    return render_template("auth/two_factor.html", user=user, secret=secret, uri=uri,
                           qr=totp.qr_data_uri(uri) if uri else None, error=error,
                           required=totp.required(user), enabled=totp.enabled(user),
                           next=target), 422 if error else 200
