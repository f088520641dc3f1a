"""SQL for batches of rows that stays cheap for the driver on PostgreSQL.

psycopg parses (and never caches) a statement with more than 50 parameters each time it runs, and
an executemany dumps every row in Python. On PostgreSQL these send arrays instead: `any_of` is
`column = ANY(:array)` (one parameter), `insert_rows` is `INSERT … SELECT * FROM unnest(:col1,
:col2, …)` (one parameter per column). Elsewhere (SQLite) they are the plain IN list and
executemany.

The arrays of ints and strings go as one text literal (`'{1,2,3}'`, cast in SQL): psycopg dumps
a Python list element by element in Python, ~1.7 µs each, five times the cost of building the
literal, and the smpp process sends some fifteen array elements per message.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ARRAY, Enum, Table, any_, bindparam, cast, insert, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import NullType

from dispatch.extensions import db

T = TypeVar("T")


def chunks(values: Sequence[T], size: int) -> Iterator[list[T]]:
    """`values` in lists of at most `size`, in order: one statement or job per list."""
    for start in range(0, len(values), size):
        part = values[start:start + size]
        yield part if isinstance(part, list) else list(part)


def postgres() -> bool:
    """Whether the session's database is PostgreSQL (else SQLite)."""
    return db.session.get_bind().dialect.name == "postgresql"


def array_literal(values: Sequence[Any]) -> str | list[Any]:
    """PostgreSQL's text form of an array of ints, strings, aware datetimes and None; other
    values: the list."""
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
        elif isinstance(value, str):
            items.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif isinstance(value, int) and not isinstance(value, bool):
            items.append(str(value))
        elif isinstance(value, datetime) and value.tzinfo is not None:
            items.append('"' + value.isoformat() + '"')
        else:
            return list(values)
    return "{" + ",".join(items) + "}"


# The literal goes untyped, so PostgreSQL reads it as the array itself: one constant, parsed
# once. Typed as text and then cast, it is not folded (array_in is only STABLE): a sequential
# scan parses the whole array again for every row (minutes for an expansion batch).
_UNTYPED = NullType()


def any_of(column: Any, values: Sequence[Any]) -> Any:
    """`column IN (values)`; on PostgreSQL `column = ANY(CAST(:array AS type[]))`."""
    if postgres():
        array = array_literal(values)
        if isinstance(array, str):
            return column == any_(cast(bindparam(None, array, type_=_UNTYPED),
                                       ARRAY(column.type)))
        return column == any_(bindparam(None, array, type_=ARRAY(column.type)))
    return column.in_(list(values))


def in_param(column: Any, name: str, on_postgres: bool) -> Any:
    """`any_of` with a named parameter, for a statement built once and run many times (building
    and keying a statement costs more than running it); pass `values_param(values, …)` as `name`.
    """
    if on_postgres:
        return column == any_(cast(bindparam(name, type_=_UNTYPED), ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def values_param(values: Sequence[int | str | None], on_postgres: bool) -> Any:
    """The value of an `in_param` parameter: ints and strings only."""
    if not on_postgres:
        return list(values)
    array = array_literal(values)
    if not isinstance(array, str):
        raise TypeError("in_param takes ints and strings")
    return array


_SQL: dict[tuple[Any, ...], Any] = {}


def insert_rows(table: Table, rows: Sequence[dict[str, Any]], *,
                skip_conflicts_on: Sequence[str] = (),
                returning: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """Insert rows (dicts with the same keys) in one statement, in the caller's transaction.

    `skip_conflicts_on`: the columns of a unique key; a row that would repeat one is left out
    (ON CONFLICT … DO NOTHING). `returning`: columns to return for each row written, as tuples
    (none for the rows left out). On PostgreSQL a column whose value is the same in every row is
    sent once, not as an array.
    """
    if not rows:
        return []
    if not postgres():
        stmt: Any = insert(table)
        if skip_conflicts_on:
            stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=skip_conflicts_on)
        if returning:
            stmt = stmt.returning(*(table.c[name] for name in returning))
            return [tuple(row) for row in db.session.execute(stmt, list(rows))]
        db.session.execute(stmt, list(rows))
        return []
    names = tuple(rows[0])
    columns = []
    for name in names:
        values = [row[name] for row in rows]
        if isinstance(table.c[name].type, Enum):  # psycopg would write an Enum's name
            values = [v.value if isinstance(v, enum.Enum) else v for v in values]
        columns.append(values)
    same = [all(v == values[0] for v in values) for values in columns]
    same[0] = False  # unnest needs one array at least (and sets the row count)
    key = (table.name, names, tuple(same), tuple(skip_conflicts_on), tuple(returning))
    statement = _SQL.get(key)
    if statement is None:
        dialect = db.session.get_bind().dialect
        types = [table.c[name].type.compile(dialect=dialect) for name in names]
        arrays = [i for i in range(len(names)) if not same[i]]
        source = ", ".join(f"CAST(:c{i} AS {types[i]}[])" for i in arrays)
        aliases = ", ".join(f"c{i}" for i in arrays)
        picks = ", ".join(f"CAST(:c{i} AS {t})" if same[i] else f"u.c{i}"
                          for i, t in enumerate(types))
        sql = (f"INSERT INTO {table.name} ({', '.join(names)}) "
               f"SELECT {picks} FROM unnest({source}) AS u({aliases})")
        if skip_conflicts_on:
            sql += f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING"
        if returning:
            sql += f" RETURNING {', '.join(returning)}"
        statement = text(sql)
        _SQL[key] = statement
    params = {f"c{i}": values[0] if same[i] else array_literal(values)
              for i, values in enumerate(columns)}
    result = db.session.execute(statement, params)
    return [tuple(row) for row in result] if returning else []


def insert_rows_with_ids(table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows (dicts with the same keys, no `id`) in the caller's transaction; return the
    id each was given, in the order of `rows`.

    On PostgreSQL the ids are taken from the table's sequence first (one statement) and the
    rows inserted with them (`insert_rows`): the order RETURNING gives is not a promise, an id
    drawn beforehand is. On SQLite a row at a time (the tests' batches are small)."""
    if not rows:
        return []
    if not postgres():
        stmt = insert(table).returning(table.c.id)
        return [int(db.session.execute(stmt, dict(row)).scalar_one()) for row in rows]
    ids = [int(i) for i in db.session.scalars(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
             "FROM generate_series(1, :n)"), {"table": table.name, "n": len(rows)})]
    insert_rows(table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def set_by_id(table: Table, column: str, pairs: Sequence[tuple[int, Any]], *,
              only_if_null: bool = False) -> None:
    """Set `column` to a value per row id (`pairs` of (id, value)) in one statement."""
    if not pairs:
        return
    target = table.c[column]
    if not postgres():
        stmt = update(table).where(table.c.id == bindparam("row_id")).values(
            {column: bindparam("row_value")})
        if only_if_null:
            stmt = stmt.where(target.is_(None))
        db.session.execute(stmt, [{"row_id": i, "row_value": v} for i, v in pairs])
        return
    dialect = db.session.get_bind().dialect
    kind = target.type.compile(dialect=dialect)
    guard = f" AND t.{column} IS NULL" if only_if_null else ""
    db.session.execute(text(
        f"UPDATE {table.name} AS t SET {column} = u.v FROM unnest(CAST(:ids AS BIGINT[]), "
        f"CAST(:vals AS {kind}[])) AS u(id, v) WHERE t.id = u.id{guard}"),
        {"ids": array_literal([i for i, _ in pairs]),
         "vals": array_literal([v for _, v in pairs])})
