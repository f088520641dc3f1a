"""Error pages for addresses outside the API that no page answers (the API keeps its JSON)."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from dispatch.errors import http_error_payload


def init_app(app: Flask) -> None:
    app.register_error_handler(NotFound, _page)
    app.register_error_handler(MethodNotAllowed, _page)


def _page(err: HTTPException) -> Any:
    from dispatch.extensions import db

    db.session.rollback()
    if request.path.startswith("/api/"):
        body, status, headers = http_error_payload(err)
        return jsonify(body), status, headers
    return render_template("error.html", status=err.code, code=err.name,
                           message=err.description), err.code
