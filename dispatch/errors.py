"""Domain errors and the one JSON error format of the API.

Every error response has the shape::

    {"status": 422, "code": "validation_error", "message": "...",
     "errors": {"audience.lists": ["Unknown list 7."]}}

`errors` is present only when fields are at fault; its keys are dotted paths into the request
(the JSON body, query string field, or uploaded file column).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException


class LoaError(Exception):
    """An expected failure the caller can act on; services raise these, views never catch them."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        if code:
            self.code = code


class ValidationFailed(LoaError):
    status = 422
    code = "validation_error"

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        return cls(f"{name}: {message}", errors={name: [message]})


class NotAuthenticated(LoaError):
    status = 401
    code = "not_authenticated"


class Forbidden(LoaError):
    status = 403
    code = "forbidden"


class NotFound(LoaError):
    status = 404
    code = "not_found"


class Conflict(LoaError):
    status = 409
    code = "conflict"


class RateLimited(LoaError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidTransition(Conflict):
    code = "invalid_transition"


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow/webargs nested messages into {"a.b.0": [...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_"] = list(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            out.update(flatten_errors(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "_"] = [str(messages)]
    return out


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def error_body(status: int, code: str, message: str,
               errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if errors:
        body["errors"] = errors
    return body


def http_error_payload(error: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Map any HTTPException (including webargs validation aborts) to the one format."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    raw = data.get("errors") or data.get("messages")
    errors: dict[str, list[str]] | None = None
    if raw:
        # webargs nests by location ({"json": {...}}); the location is implied by the request.
        if isinstance(raw, dict) and set(raw) <= {"json", "query", "form", "files", "headers"}:
            merged: dict[str, Any] = {}
            for part in raw.values():
                if isinstance(part, dict):
                    merged.update(part)
                else:  # a message about the whole body, e.g. "Invalid JSON body."
                    merged.setdefault("_", []).extend(part if isinstance(part, list) else [part])
            raw = merged
        errors = flatten_errors(raw)
    message = data.get("message")
    if not message:
        if errors:
            first = next(iter(errors.items()))
            message = f"{first[0]}: {first[1][0]}" if first[0] != "_" else first[1][0]
        else:
            message = error.description or error.name
    code = data.get("code") or _HTTP_CODES.get(status, "error")
    if status >= 500:
        code, message, errors = "internal_error", "Internal server error.", None
    return error_body(status, code, str(message), errors), status, headers


def nul_refusal(err: Exception) -> ValidationFailed | None:
    """The 422 for a NUL that reached PostgreSQL (which refuses one in text) through a path no
    schema checked (a sign-in name, a filter): naming the request's fields that hold one.

    The backstop only: schemas and the query-string check refuse NUL before any query runs.
    """
    from flask import has_request_context, request
    from sqlalchemy.exc import DataError

    if not isinstance(err, DataError) or "NUL" not in str(err.orig) or not has_request_context():
        return None
    fields = sorted({name for source in (request.args, request.form)
                     for name, value in source.items(multi=True) if "\x00" in value})
    errors = {name: ["Contains a NUL character."] for name in fields or ["_"]}
    return ValidationFailed(f"{(fields or ['A value'])[0]}: Contains a NUL character.",
                            errors=errors)


def _discard_unfinished_work() -> None:
    """Roll back whatever the failed request changed: nothing half-written reaches the database.

    Imported late: this module is imported by `extensions` itself.
    """
    from dispatch.extensions import db

    db.session.rollback()


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(LoaError)
    def _loa_error(err: LoaError):
        _discard_unfinished_work()
        headers = {}
        if isinstance(err, RateLimited):
            headers["Retry-After"] = str(err.retry_after)
        if isinstance(err, NotAuthenticated):
            headers["WWW-Authenticate"] = 'Bearer realm="loa"'
        body = error_body(err.status, err.code, err.message, err.errors)
        return jsonify(body), err.status, headers

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        _discard_unfinished_work()
        body, status, headers = http_error_payload(err)
        return jsonify(body), status, headers

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        if isinstance(err, HTTPException):
            return _http_error(err)
        refusal = nul_refusal(err)
        if refusal is not None:
            return _loa_error(refusal)
        _discard_unfinished_work()
        app.logger.exception("unhandled error")
        return jsonify(error_body(500, "internal_error", "Internal server error.")), 500
