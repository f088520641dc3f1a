"""Signed-in sessions (Flask-Login) and their expiry.

A session names the user and a stamp of their password hash: changing or resetting a password
ends every other session of that account. A session ends after `PERMANENT_SESSION_LIFETIME`
however busy, or after `SESSION_IDLE_MINUTES` without a page view (the pages' polling of the API
does not count as activity, so a dashboard left open still times out).

The same session authenticates API calls through `dispatch.auth.current_user`, which asks
`g.session_user_loader` after API tokens; a request that carries an Authorization header is
never authenticated by its cookie.
"""

from __future__ import annotations

import hashlib
import time

import flask_login
from flask import Flask, current_app, g, request, session

from dispatch.errors import Forbidden
from dispatch.extensions import db
from dispatch.models import User

login_manager = flask_login.LoginManager()
# Keys this module keeps in the session, besides Flask-Login's own.
SINCE, SEEN = "loa_since", "loa_seen"


class SignedIn(flask_login.UserMixin):
    """The Flask-Login view of a staff account."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{stamp(self.user)}"

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)


def stamp(user: User) -> str:
    """Changes whenever the password does."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@login_manager.user_loader
def _load(session_id: str) -> SignedIn | None:
    user_id, _, user_stamp = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or stamp(user) != user_stamp:
        return None
    return SignedIn(user)


# Per-request values that Flask-Login, Flask-WTF, Flask-Babel and this package keep in `g`.
REQUEST_STATE = ("_login_user", "csrf_token", "csrf_valid", "session_expired",
                 "session_user_loader", "_flask_babel")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.before_request(_forget_previous_request)
    app.before_request(_expire)
    app.before_request(_offer_session_user)


def sign_in(user: User) -> None:
    """Start a fresh session for `user` (a new CSRF token with it)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.permanent = True
    flask_login.login_user(SignedIn(user))
    now = int(time.time())
    session[SINCE] = session[SEEN] = now


def sign_out() -> None:
    lang = session.get("lang")
    flask_login.logout_user()
    session.clear()
    if lang:
        session["lang"] = lang


def signed_in() -> bool:
    """Whether this request carries a signed-in session cookie (not yet checked against the DB)."""
    return "_user_id" in session


def session_user() -> User | None:
    """The account of this request's session, or None; see the module docstring."""
    if request.headers.get("Authorization"):
        return None
    current = flask_login.current_user
    if not current.is_authenticated:
        return None
    user: User = current.user
    if user.must_change_password:
        raise Forbidden("Change your one-time password first.", code="password_change_required")
    return user


def _forget_previous_request() -> None:
    # `g` lives on the app context, which a test (or CLI) may keep across requests.
    for name in REQUEST_STATE:
        g.pop(name, None)


def _offer_session_user() -> None:
    g.session_user_loader = session_user


def _expire() -> None:
    if not signed_in():
        return
    now = int(time.time())
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    since, seen = session.get(SINCE, 0), session.get(SEEN, 0)
    if now - since > lifetime or now - seen > idle:
        sign_out()
        g.session_expired = True
        return
    if not request.path.startswith(("/api/", "/static/")):
        session[SEEN] = now
