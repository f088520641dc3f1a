"""The staff web UI: server-rendered pages, in Vietnamese by default, English available.

Pages call the same service functions as the JSON API and check the same permission table
(`dispatch.access.auth.require`); a signed-in session also authenticates API calls, so the pages'
scripts can poll `/api/campaigns/<id>/progress` and ask for SMS previews.
"""

from __future__ import annotations

import os
from datetime import timedelta

from flask import Flask

from dispatch.config import env_int


def register_web(app: Flask) -> None:
    """Sessions, CSRF, translations and the page blueprints."""
    _config_defaults(app)
    from dispatch.web import errors, i18n, security, session, templating

    session.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    from dispatch.web import account, admin, approvals, audiences, auth, campaigns, dashboard

    for module in (auth, account, dashboard, campaigns, approvals, audiences, admin):
        app.register_blueprint(module.bp)


def _config_defaults(app: Flask) -> None:
    env = os.environ
    defaults = {
        # A signed-in session ends after this long however busy it is, or after this long idle.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=env_int(env, "LOA_SESSION_HOURS", 12)),
        "SESSION_IDLE_MINUTES": env_int(env, "LOA_SESSION_IDLE_MINUTES", 60),
        "SESSION_COOKIE_NAME": "loa_session",
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": app.config.get("TIMEZONE", "Asia/Ho_Chi_Minh"),
        # Checked by dispatch.web.security, which knows which requests ride on the cookie.
        "WTF_CSRF_CHECK_DEFAULT": False,
        # The token is bound to the session, which expires on its own; a form left open over
        # lunch should still submit.
        "WTF_CSRF_TIME_LIMIT": None,
        # Failed sign-ins one address may make over all accounts per 15 minutes
        # (dispatch.access.signin).
        "SIGNIN_LIMIT_PER_IP": env_int(env, "LOA_SIGNIN_LIMIT_PER_IP", 30),
        # Attempts of any outcome one address may make per minute: each costs a password hash.
        "SIGNIN_ATTEMPTS_PER_MINUTE": env_int(env, "LOA_SIGNIN_ATTEMPTS_PER_MINUTE", 60),
    }
    for key, value in defaults.items():
        # Flask has its own defaults for some of these (31-day sessions): replace those too.
        if key not in app.config or app.config[key] == Flask.default_config.get(key):
            app.config[key] = value
