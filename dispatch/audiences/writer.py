"""Batched upsert of contacts and their list membership, in the caller's transaction.

The statements are SQL written out here rather than built per batch by SQLAlchemy: a million
rows through SQLAlchemy's per-parameter processing cost ~25 s more than the database work
itself (measured on SQLite). The SQL is plain `INSERT ... ON CONFLICT ... DO UPDATE ...
RETURNING`, which SQLite (≥ 3.35) and PostgreSQL both speak; values that need conversion
(times, JSON) go through the column types' own bind processors, once per batch where possible,
so rows read back through the ORM exactly as if it had written them.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from dispatch.models import Contact
from dispatch.models.common import utcnow

# One pending contact: operator, operator_override, locality_id, name, attributes, first-in-file.
Pending = list[Any]
OPERATOR, OVERRIDE, LOCALITY, NAME, ATTRIBUTES, FIRST = range(6)
ROWS_PER_STATEMENT = 1000  # 8 parameters a row: under SQLite's and PostgreSQL's limits

_COLUMNS = ("msisdn", "operator", "operator_override", "locality_id", "name", "attributes",
            "created_at", "updated_at")
# Empty cells keep what is stored (coalesce); attributes merge key by key. created_at equals
# updated_at only on a row this statement inserted (an existing contact keeps its older
# created_at), which tells new contacts apart on both backends.
_ON_CONFLICT = """ON CONFLICT (msisdn) DO UPDATE SET
  operator = excluded.operator,
  operator_override = coalesce(excluded.operator_override, contacts.operator_override),
  locality_id = coalesce(excluded.locality_id, contacts.locality_id),
  name = coalesce(excluded.name, contacts.name),
  {attributes}updated_at = excluded.updated_at
RETURNING id, msisdn, created_at = updated_at"""
_MERGE_ATTRIBUTES = {
    "sqlite": "attributes = json_patch(contacts.attributes, excluded.attributes),\n  ",
    "postgresql": "attributes = (contacts.attributes::jsonb || excluded.attributes::jsonb)::json,"
                  "\n  ",
}
_UPSERT = "INSERT INTO contacts ({columns}) VALUES {values}\n" + _ON_CONFLICT
_ADD_MEMBERS = ("INSERT INTO list_members (list_id, contact_id) VALUES {values} "
                "ON CONFLICT DO NOTHING")

# PostgreSQL: one statement per batch, the columns sent as seven arrays. A long VALUES list
# is re-parsed by psycopg on every execution (it caches only short queries): measured twice
# as slow as this.
_PG_BATCH = """WITH incoming AS (
  SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::integer[],
                       %s::varchar[], %s::text[], %s::boolean[])
    AS t(msisdn, operator, operator_override, locality_id, name, attributes, first)
), upserted AS (
  INSERT INTO contacts ({columns})
  SELECT msisdn, operator, operator_override, locality_id, name, attributes::json, %s, %s
  FROM incoming
  """ + _ON_CONFLICT + """ AS new
), added AS (
  INSERT INTO list_members (list_id, contact_id) SELECT %s, id FROM upserted
  ON CONFLICT DO NOTHING
)
SELECT count(*) FROM upserted JOIN incoming USING (msisdn) WHERE upserted.new AND incoming.first
"""


def merge_into(pending: Pending, operator: str, override: str | None, locality: int | None,
               name: str | None, attributes: dict[str, str] | None) -> None:
    """A later row for the same number: its non-empty cells win, empty cells keep what was there."""
    pending[OPERATOR] = operator
    if override is not None:
        pending[OVERRIDE] = override
    if locality is not None:
        pending[LOCALITY] = locality
    if name is not None:
        pending[NAME] = name
    if attributes:
        pending[ATTRIBUTES] = {**(pending[ATTRIBUTES] or {}), **attributes}


class ContactWriter:
    """Writes batches of {msisdn: Pending} into `contacts` and one list's members."""

    def __init__(self, connection: Connection, list_id: int, *, with_attributes: bool) -> None:
        self.connection = connection
        self.list_id = list_id
        dialect = connection.dialect
        if dialect.name not in _MERGE_ATTRIBUTES:
            raise RuntimeError(f"contact import does not support {dialect.name}")
        self.postgres = dialect.name == "postgresql"
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.attributes_sql = _MERGE_ATTRIBUTES[dialect.name] if with_attributes else ""
        self.time_value = Contact.__table__.c.created_at.type.bind_processor(dialect) or (
            lambda value: value)
        self.no_attributes = json.dumps({})  # SQLAlchemy's JSON type also uses json.dumps
        self._sql: dict[tuple[str, int], str] = {}

    def write(self, batch: dict[str, Pending]) -> int:
        """Upsert the batch; return how many contacts it created (first seen in this file)."""
        if not batch:
            return 0
        if self.postgres:
            return self._write_postgres(batch)
        return self._write_values(batch)

    def _write_postgres(self, batch: dict[str, Pending]) -> int:
        now = self.time_value(utcnow())
        empty, dumps = self.no_attributes, json.dumps
        pendings = batch.values()
        params = (
            list(batch),
            [p[OPERATOR] for p in pendings],
            [p[OVERRIDE] for p in pendings],
            [p[LOCALITY] for p in pendings],
            [p[NAME] for p in pendings],
            [dumps(p[ATTRIBUTES]) if p[ATTRIBUTES] else empty for p in pendings],
            [p[FIRST] for p in pendings],
            now, now, self.list_id,
        )
        sql = self._sql.get(("postgres", 0))
        if sql is None:
            sql = self._sql[("postgres", 0)] = _PG_BATCH.format(
                columns=", ".join(_COLUMNS), attributes=self.attributes_sql)
        return int(self.connection.exec_driver_sql(sql, params).scalar_one())

    def _statement(self, kind: str, rows: int) -> str:
        sql = self._sql.get((kind, rows))
        if sql is None:
            if kind == "contacts":
                group = "(" + ", ".join([self.mark] * len(_COLUMNS)) + ")"
                sql = _UPSERT.format(columns=", ".join(_COLUMNS),
                                     values=", ".join([group] * rows),
                                     attributes=self.attributes_sql)
            else:
                group = f"({self.mark}, {self.mark})"
                sql = _ADD_MEMBERS.format(values=", ".join([group] * rows))
            self._sql[(kind, rows)] = sql
        return sql

    def _write_values(self, batch: dict[str, Pending]) -> int:
        now = self.time_value(utcnow())
        empty, dumps = self.no_attributes, json.dumps
        values: list[Any] = []
        for msisdn, p in batch.items():
            attributes = p[ATTRIBUTES]
            values += (msisdn, p[OPERATOR], p[OVERRIDE], p[LOCALITY], p[NAME],
                       dumps(attributes) if attributes else empty, now, now)
        width = len(_COLUMNS)
        step = ROWS_PER_STATEMENT * width
        created = 0
        members: list[int] = []
        list_id = self.list_id
        execute = self.connection.exec_driver_sql
        for start in range(0, len(values), step):
            chunk = values[start:start + step]
            result = execute(self._statement("contacts", len(chunk) // width), tuple(chunk))
            for contact_id, msisdn, new in result:
                members += (list_id, contact_id)
                if new and batch[msisdn][FIRST]:
                    created += 1
        for start in range(0, len(members), ROWS_PER_STATEMENT * 2):
            chunk = members[start:start + ROWS_PER_STATEMENT * 2]
            execute(self._statement("members", len(chunk) // 2), tuple(chunk))
        return created
