"""Signed-in sessions in the browser (Flask-Login over the server-side `dispatch.access.sessions`).

The cookie carries only the session's random token (besides the CSRF secret, the language and
flashed messages); whether it still opens anything is decided on the server at every request, so
sign-out, a password change, a disabled account or an admin's "sign out everywhere" end it at
once, also for a copy of the cookie saved earlier. A session ends after `LOA_SESSION_HOURS`
however busy, or after `LOA_SESSION_IDLE_MINUTES` without a page view (the pages' polling of the
API does not count as activity, so a dashboard left open still times out).

The same session authenticates API calls through `dispatch.access.auth.current_user`, which asks
`g.session_user_loader` after API tokens; a request that carries an Authorization header is
never authenticated by its cookie.
"""

from __future__ import annotations

import time

import flask_login
from flask import Flask, flash, g, request, session
from flask_babel import gettext

from dispatch.access import sessions, totp
from dispatch.errors import Forbidden, NotAuthenticated
from dispatch.extensions import db
from dispatch.models import User, UserSession

login_manager = flask_login.LoginManager()
# A right password for an account with a second factor waits this long for the code, in the
# (signed) cookie: no session exists until the code is given.
PENDING = "loa_pending"
SECOND_FACTOR_WAIT = 300
# The server-side session is the protection; Flask-Login's IP/agent hash would add nothing.
login_manager.session_protection = None


class SignedIn(flask_login.UserMixin):
    """The Flask-Login view of a live server-side session."""

    def __init__(self, record: UserSession, token: str) -> None:
        self.record = record
        self.user: User = record.user
        self.token = token

    def get_id(self) -> str:
        return self.token

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)


@login_manager.user_loader
def _load(token: str) -> SignedIn | None:
    # `_check_session` has already looked the token up for this request.
    record = g.get("user_session")
    if record is None or g.get("user_session_token") != token:
        return None
    return SignedIn(record, token)


# Per-request values that Flask-Login, Flask-WTF, Flask-Babel and this package keep in `g`.
REQUEST_STATE = ("_login_user", "csrf_token", "csrf_valid", "session_expired",
                 "session_user_loader", "_flask_babel", "user_session", "user_session_token")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.before_request(_forget_previous_request)
    app.before_request(_check_session)
    app.before_request(_offer_session_user)


def sign_in(user: User, *, two_factor: bool) -> UserSession:
    """Start a fresh server-side session for `user` (a new CSRF token with it)."""
    _end_previous()
    _clear_cookie()
    session.permanent = True
    record, token = sessions.start(user, ip=request.remote_addr or "",
                                   user_agent=request.user_agent.string, two_factor=two_factor)
    db.session.commit()
    g.user_session, g.user_session_token = record, token
    flask_login.login_user(SignedIn(record, token))
    return record


def sign_out(reason: str = "signed_out") -> None:
    """End this browser's session on the server and forget it in the cookie."""
    record = current_session()
    if record is not None:
        sessions.end(record, reason)
        db.session.commit()
    _clear_cookie()


def _end_previous() -> None:
    # Signing in over a live session (another account, or the same one again) would otherwise
    # leave the old one open on the server, with no cookie left to end it from.
    previous = current_session()
    if previous is not None:
        sessions.end(previous, "replaced")
        db.session.commit()


def _clear_cookie() -> None:
    lang = session.get("lang")
    flask_login.logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    g.pop("user_session", None)
    g.pop("user_session_token", None)


def expect_second_factor(user: User, target: str) -> None:
    """Remember, for `SECOND_FACTOR_WAIT` seconds, whose password was right; no session yet."""
    _end_previous()
    _clear_cookie()
    session[PENDING] = {"user": user.id, "at": int(time.time()), "next": target}


def awaiting_second_factor() -> tuple[User, str] | None:
    """The account (and where it was going) whose password was given, if recent and active."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > SECOND_FACTOR_WAIT:
        session.pop(PENDING, None)
        return None
    user = db.session.get(User, int(pending.get("user", 0)))
    if user is None or not user.active:
        return None
    return user, str(pending.get("next") or "/")


def signed_in() -> bool:
    """Whether this request carries a session token (checked by `_check_session`)."""
    return "_user_id" in session


def current_session() -> UserSession | None:
    """This request's live server-side session, if it has one."""
    return sessions.current()


def needs_second_factor(user: User, record: UserSession | None) -> bool:
    """Whether this session must (set up and) give a second factor before anything else."""
    if record is not None and record.two_factor:
        return False
    return totp.enabled(user) or totp.required(user)


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
    if needs_second_factor(user, current.record):
        raise Forbidden("Set up two-factor sign-in first.", code="two_factor_required")
    return user


def signed_in_account() -> User:
    """The account signed in on this browser, also while it must still change its one-time
    password or set up a second factor (the two pages that let it do so); when nobody is,
    NotAuthenticated, which the pages turn into the sign-in page (and back here after it)."""
    current = flask_login.current_user
    if not current.is_authenticated:
        raise NotAuthenticated("Sign in first.")
    user: User = current.user
    return user


def _forget_previous_request() -> None:
    # `g` lives on the app context, which a test (or CLI) may keep across requests.
    for name in REQUEST_STATE:
        g.pop(name, None)


def _offer_session_user() -> None:
    g.session_user_loader = session_user


def _check_session() -> None:
    if not signed_in() or request.headers.get("Authorization") or \
            request.path.startswith("/static/"):
        return
    token = str(session["_user_id"])
    record = sessions.live(token)
    if record is None:
        _clear_cookie()
        g.session_expired = True
        if not request.path.startswith("/api/"):
            # Shown by the sign-in page this request is about to be sent to.
            flash(gettext("Your session has ended. Please sign in again."), "info")
        return
    g.user_session, g.user_session_token = record, token
    if not request.path.startswith("/api/"):
        sessions.touch(record)
