"""Operations: structured logs, readiness checks, Prometheus metrics and the queue dashboard.

`register_ops(app)` (called by `create_app`) sets up logging for whichever process built the
app, mounts `/metrics` and the RQ dashboard. `/healthz` and `/readyz` are API resources
(`dispatch/api/health.py`) using `dispatch.ops.health`. docs/OPERATIONS.md says how to use them.
"""

from __future__ import annotations

from flask import Flask


def register_ops(app: Flask) -> None:
    from dispatch.ops import logs, metrics, queues

    # Tests leave logging to pytest (caplog); tests/dispatch/ops call `logs.configure` itself.
    if app.config.get("LOG_SETUP", True) and not app.testing:
        logs.configure(app)
    app.register_blueprint(metrics.bp)
    if app.config.get("RQ_DASHBOARD", True):
        queues.mount(app)
