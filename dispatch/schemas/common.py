"""Schemas shared by every resource."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import marshmallow as ma
from marshmallow import RAISE


class StrictSchema(ma.Schema):
    """Base for request bodies: unknown fields are an error naming the field.

    A NUL character in any text is refused here too (PostgreSQL cannot store one, and an SMS
    should never carry one): a 422 naming the field instead of a 500 (found by schemathesis).
    """

    class Meta:
        unknown = RAISE

    @ma.pre_load
    def _refuse_nul(self, data: Any, **_: Any) -> Any:
        bad = sorted(_nul_paths(data))
        if bad:
            raise ma.ValidationError({path: ["Contains a NUL character."] for path in bad})
        return data


def _nul_paths(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "_"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                yield sub
            else:
                yield from _nul_paths(item, sub)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _nul_paths(item, f"{path}.{i}" if path else str(i))


MAX_ID = 2**31 - 1  # PostgreSQL's integer; larger numbers cannot name a row


class Id(ma.fields.Integer):
    """A row id in a request: a positive integer the database can hold (else a 422, not a 500)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", ma.validate.Range(min=1, max=MAX_ID))
        super().__init__(**kwargs)


class ErrorSchema(ma.Schema):
    status = ma.fields.Integer(metadata={"description": "HTTP status"})
    code = ma.fields.String(metadata={"description": "Machine-readable error code"})
    message = ma.fields.String(metadata={"description": "What went wrong, for a person"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Messages per field, keyed by dotted path"},
    )


class PageQuery(StrictSchema):
    """Query-string pagination and the common filters."""

    # bounded so page x per_page stays an OFFSET the database accepts (schemathesis found 500s)
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))
