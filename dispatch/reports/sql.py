"""SQL expressions the reports share, written once per dialect (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from dispatch.config import local_zone
from dispatch.models import Message


class time_bucket(FunctionElement[int]):  # lower case: it reads like a SQL function
    """Start of the `seconds`-wide bucket holding a UTC time, as Unix seconds (NULL for NULL).

    Buckets are aligned on local time (the app's TIMEZONE, at its offset now: Asia/Ho_Chi_Minh
    has no daylight saving), so a day bucket runs from local midnight. The width and the offset
    are written into the SQL as literals, so the expression in SELECT and in GROUP BY is the same
    text (PostgreSQL does not match two different bind parameters).
    """

    type = BigInteger()
    inherit_cache = True
    name = "time_bucket"
    # The width and offset are part of the statement's cache key: 60 s and 300 s must not share SQL.
    _traverse_internals = [
        *FunctionElement._traverse_internals, ("seconds", InternalTraversal.dp_plain_obj),
        ("offset", InternalTraversal.dp_plain_obj)]

    def __init__(self, column: Any, seconds: int) -> None:
        self.seconds = int(seconds)
        offset = datetime.now(UTC).astimezone(local_zone()).utcoffset()
        self.offset = int(offset.total_seconds()) if offset is not None else 0
        super().__init__(column)


def _bucket(compiler: SQLCompiler, element: time_bucket, epoch: str) -> str:
    w, off = element.seconds, element.offset
    return f"((({epoch}) + {off}) / {w}) * {w} - {off}"


@compiles(time_bucket, "postgresql")
def _bucket_pg(element: time_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    # FLOOR, not a bare cast: the cast rounds, which would put 10:00:59.7 into the next minute.
    return _bucket(compiler, element, f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)")


@compiles(time_bucket, "sqlite")
def _bucket_sqlite(element: time_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    # Times are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC; strftime('%s') truncates.
    return _bucket(compiler, element, f"CAST(strftime('%s', {column}) AS INTEGER)")


def sent_flag() -> ColumnElement[int]:
    """1 for a row that was accepted by a gateway at some point (it has a submit time), else 0."""
    return case((Message.submitted_at.is_not(None), 1), else_=0)
