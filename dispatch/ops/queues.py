"""The RQ dashboard (rq-dashboard) at `/admin/rq`, read-only, for admins.

rq-dashboard 0.9 works with RQ 3 (queues, registries, jobs and workers checked in
tests/dispatch/ops). It is mounted with three guards of Loa's own, since the package has none:

- only a signed-in admin (permission `ops.view`) reaches it; anyone else is sent to sign in or
  refused, like every page;
- read-only: its requeue, delete, empty and compact actions (POSTs without a CSRF token, and a
  GET that requeues every failed job) are refused with 405. Re-running a send job by hand
  would bypass the audited paths (`campaign.retry`, the clock's orphan handling);
- its pages carry inline scripts, so they get their own Content-Security-Policy allowing
  inline script and style; everything else on the page stays as strict as Loa's pages.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, redirect, render_template, request, url_for

from dispatch.access.auth import current_user
from dispatch.access.permissions import allowed
from dispatch.jobs.redis_conn import redis_url
from dispatch.web.security import CSP

PREFIX = "/admin/rq"
BLUEPRINT = "rq_dashboard"
READ_ONLY_REFUSED = frozenset({"rq_dashboard.requeue_all"})
DASHBOARD_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")


def mount(app: Flask) -> bool:
    """Mount the dashboard if rq-dashboard is installed; return whether it was."""
    try:
        import rq_dashboard
    except ImportError:
        return False
    app.config.setdefault("RQ_DASHBOARD_DISABLE_DELETE", True)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=PREFIX)
    app.before_request(_guard)
    app.after_request(_headers)
    return True


def _guard() -> Any:
    if request.blueprint != BLUEPRINT:
        return None
    user = current_user()
    if user is None:
        return redirect(url_for("web_auth.login", next=request.full_path.rstrip("?")))
    if not allowed(user.roles, "ops.view"):
        return _page(403, "forbidden", "Your roles do not allow this.")
    if request.method not in ("GET", "HEAD") or request.endpoint in READ_ONLY_REFUSED:
        return _page(405, "method_not_allowed", "The queue dashboard is read-only.")
    if (request.view_args or {}).get("instance_number", 0) != 0:
        return _page(404, "not_found", "There is one Redis.")
    _connect()
    return None


def _connect() -> None:
    """Point rq-dashboard at Loa's Redis (resolved on first use: it may be the embedded one)."""
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if getattr(app, "redis_conn", None) is None:
        import rq_dashboard

        app.config["RQ_DASHBOARD_REDIS_URL"] = redis_url(app)
        rq_dashboard.web.setup_rq_connection(app)


def _page(status: int, code: str, message: str) -> Any:
    return render_template("error.html", status=status, code=code, message=message), status


def _headers(response: Response) -> Response:
    if request.blueprint == BLUEPRINT:
        response.headers["Content-Security-Policy"] = DASHBOARD_CSP
        response.headers["Cache-Control"] = "no-store"
    return response
