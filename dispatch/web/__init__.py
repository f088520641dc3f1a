"""The staff web UI: server-rendered pages, in Vietnamese by default, English available.

Pages call the same service functions as the JSON API and check the same permission table
(`dispatch.access.auth.require`); a signed-in session also authenticates API calls, so the pages'
scripts can poll `/api/campaigns/<id>/progress` and ask for SMS previews.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, send_from_directory


def register_web(app: Flask) -> None:
    """Sessions, CSRF, translations and the page blueprints."""
    _config_defaults(app)
    from dispatch.web import errors, i18n, security, session, templating

    session.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    from dispatch.web import (
        account,
        admin,
        approvals,
        audiences,
        auth,
        campaigns,
        dashboard,
        exports,
        hooks,
        inbox,
        plans,
        reports,
        testsend,
    )

    for module in (auth, account, dashboard, reports, campaigns, plans, approvals, audiences,
                   admin, hooks, exports, inbox, testsend):
        app.register_blueprint(module.bp)
    # Browsers ask for /favicon.ico whatever the page says: answer it, not a 404 in the log.
    app.add_url_rule("/favicon.ico", "favicon", _favicon)


def _favicon() -> Response:
    response = send_from_directory(current_app.static_folder or "static", "favicon.svg",
                                   mimetype="image/svg+xml", max_age=7 * 24 * 3600)
    return response


def _config_defaults(app: Flask) -> None:
    """The web side's fixed settings (those read from the environment are in dispatch.config)."""
    defaults = {
        "SESSION_COOKIE_NAME": "loa_session",
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": app.config["TIMEZONE"],
        # Checked by dispatch.web.security, which knows which requests ride on the cookie.
        "WTF_CSRF_CHECK_DEFAULT": False,
        # The token is bound to the session, which expires on its own; a form left open over
        # lunch should still submit.
        "WTF_CSRF_TIME_LIMIT": None,
    }
    for key, value in defaults.items():
        # Flask has its own defaults for some of these (31-day sessions): replace those too.
        if key not in app.config or app.config[key] == Flask.default_config.get(key):
            app.config[key] = value
