"""What every page blueprint shares: error pages, form errors, paging and safe redirects."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import marshmallow as ma
from flask import Blueprint, g, redirect, render_template, request, url_for
from sqlalchemy import Select
from sqlalchemy.exc import DataError
from werkzeug.wrappers import Response

from dispatch.access.permissions import allowed
from dispatch.api.common import paginate
from dispatch.errors import Forbidden, LoaError, NotAuthenticated, flatten_errors, nul_refusal
from dispatch.extensions import db
from dispatch.models import User

Errors = dict[str, list[str]]
T = TypeVar("T")
PER_PAGE = 50
_WHOLE = re.compile(r"^[0-9]{1,9}$")
# What a `next` path may hold: no control characters (a line break in a Location header is a
# 500, or a header injection), no whitespace, no backslash (browsers read it as a slash).
_SAFE_PATH = re.compile(r"/(?![/\\])[^\s\x00-\x1f\x7f-\x9f\\]*")


def blueprint(name: str, import_name: str, url_prefix: str | None = None) -> Blueprint:
    """A page blueprint: service errors nobody caught become pages, not JSON."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.register_error_handler(LoaError, _error_page)
    bp.register_error_handler(DataError, _data_error_page)
    return bp


def _data_error_page(err: DataError) -> Any:
    refusal = nul_refusal(err)
    if refusal is None:
        raise err
    return _error_page(refusal)


def _error_page(err: LoaError) -> Any:
    db.session.rollback()
    if isinstance(err, NotAuthenticated):
        return redirect(url_for("web_auth.login", next=_here()))
    if err.code == "password_change_required":
        return redirect(url_for("web_auth.password"))
    if err.code == "two_factor_required":
        return redirect(url_for("web_account.two_factor", next=_here()))
    message = err.message
    if err.code == "forbidden" and message.startswith("Your roles"):
        message = "Your roles do not allow this."  # the catalog's words, not the role codes
    return render_template("error.html", status=err.status, code=err.code,
                           message=message), err.status


def _here() -> str:
    return request.full_path.rstrip("?") if request.method == "GET" else request.path


def me() -> User:
    """The user `dispatch.access.auth.require` let through."""
    user: User = g.actor
    return user


def demand(action: str) -> None:
    """Refuse unless the person's roles grant `action`: `require` for part of a view."""
    user = me()
    if not allowed(user.roles, action):
        raise Forbidden(f"Your roles ({', '.join(user.roles) or 'none'}) do not allow "
                        f"'{action}'.")


def can(action: str) -> bool:
    """For templates: whether the signed-in person may `action` (the same table as the API)."""
    user = g.get("actor") or g.get("user")
    return user is not None and allowed(user.roles, action)


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: a `next` pointing elsewhere would be an open redirect."""
    if not target or not _SAFE_PATH.fullmatch(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def whole(value: str | None) -> int | None:
    """A whole number typed in a field or a query string, else None.

    ASCII digits only, at most nine: `str.isdigit` is true of "²", which `int` refuses, and
    `int` refuses numbers of more than 4,300 digits.
    """
    value = (value or "").strip()
    return int(value) if _WHOLE.match(value) else None


def errors_of(err: LoaError | ma.ValidationError) -> Errors:
    """Messages per field, whichever layer refused the input."""
    if isinstance(err, ma.ValidationError):
        return flatten_errors(err.messages)
    return dict(err.errors) or {"_": [err.message]}


def save(work: Callable[[], T]) -> tuple[T | None, Errors]:
    """Run `work` and commit: its result and no errors, or, when a service refused, nothing and
    the messages per field, the session rolled back so the page can be shown again."""
    try:
        done = work()
        db.session.commit()
    except LoaError as err:
        db.session.rollback()
        return None, errors_of(err)
    return done, {}


def page_args() -> dict[str, int]:
    def number(name: str, default: int, top: int) -> int:
        given = whole(request.args.get(name))
        return default if given is None else min(max(given, 1), top)

    return {"page": number("page", 1, 100_000), "per_page": number("per_page", PER_PAGE, 500)}


def page_of(stmt: Select[Any]) -> dict[str, Any]:
    """One page of `stmt` for the `pager` macro, with the filters kept in its links."""
    page = paginate(stmt, page_args())
    page["pages"] = max(1, -(-page["total"] // page["per_page"]))
    values: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page"}
    values.update(request.view_args or {})
    page["url"] = lambda n: url_for(request.endpoint or "", **(values | {"page": n}))
    return page


def back(default: str) -> Response:
    return redirect(safe_next(request.form.get("next"), default))
