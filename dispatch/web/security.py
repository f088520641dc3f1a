"""CSRF protection and the headers every page carries.

Which requests need a CSRF token:
- every state-changing request to a page (forms carry the token in `csrf_token`), sign-in
  included, so another site cannot sign a person in as someone else;
- a state-changing API request that rides on a signed-in session cookie (the pages' scripts
  send the token in the `X-CSRFToken` header);
- not an API request with an Authorization header (token or Basic): a browser never adds that
  header on its own, and such a request is never authenticated by its cookie
  (`dispatch.web.session.session_user`), so another site cannot forge it;
- not an API request without header or session: it has no one to act as and gets a 401.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from dispatch.errors import error_body
from dispatch.web import session

csrf = CSRFProtect()
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Pages load their scripts and styles from /static only: no inline script, no inline style.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: https:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.before_request(_check_csrf)
    app.after_request(_headers)
    app.register_error_handler(CSRFError, _refused)


def needs_csrf() -> bool:
    if request.method not in UNSAFE:
        return False
    if request.path.startswith("/api/"):
        return not request.headers.get("Authorization") and session.signed_in()
    return True


def _check_csrf() -> None:
    if g.get("session_expired") and request.endpoint != "web_auth.login":
        # The form's token went with the session; the view refuses the request anyway
        # (not signed in) and sends the person to sign in again, which reads better than a 400.
        return
    if needs_csrf():
        csrf.protect()


def _refused(err: CSRFError) -> Any:
    from dispatch.extensions import db

    db.session.rollback()
    if request.path.startswith("/api/"):
        body = error_body(400, "csrf_failed",
                          f"{err.description} Send the page's token in the X-CSRFToken header.")
        return jsonify(body), 400
    return render_template("error.html", status=400, code="csrf_failed",
                           message=err.description), 400


def _headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html" and not request.path.startswith("/api/"):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Pages show personal data (phone numbers): keep them out of shared caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response
