"""Helpers every resource uses: the page envelope and the acting user."""

from __future__ import annotations

from functools import cache
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import g
from sqlalchemy import Select, func, select
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from dispatch.api import jsonbody
from dispatch.extensions import db
from dispatch.models import User


class StrictParser(FlaskParser):
    """webargs ignores unknown query-string fields by default; Loa names them in a 422 instead,
    so a misspelt filter (`?stauts=sending`) is an error rather than a silently unfiltered list.
    Each schema's own `Meta.unknown` (RAISE, from `StrictSchema`) then applies everywhere."""

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None,
    }

    def _raw_load_json(self, req: Any) -> Any:
        """The body through `jsonbody.loads`, as `request.get_json` reads it (one set of checks)."""
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        return jsonbody.loads(data.decode("utf-8") if isinstance(data, bytes) else data)


class Blueprint(flask_smorest.Blueprint):
    """The Blueprint every resource uses: flask-smorest's, with the strict argument parser."""

    ARGUMENTS_PARSER = StrictParser()


def with_extra(obj: Any, schema: type[ma.Schema], **extra: Any) -> dict[str, Any]:
    """`obj`'s fields for `schema` plus one-off values (a secret shown once) for the response."""
    return {name: getattr(obj, name) for name in schema().fields} | extra


def actor() -> User:
    """The user `auth.require` let through for this request."""
    return g.actor


@cache
def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The envelope schema of a page of `item_schema` items."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(name, (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "page": ma.fields.Integer(),
        "per_page": ma.fields.Integer(),
        "total": ma.fields.Integer(),
    })


def paginate(stmt: Select[Any], args: dict[str, Any]) -> dict[str, Any]:
    """Run `stmt` for one page; `args` holds page and per_page from `PageQuery`."""
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "page": page, "per_page": per_page, "total": total or 0}
