"""Batched upsert of contacts and their list membership, in the caller's transaction.

The statements are SQL written out here rather than built per batch by SQLAlchemy: a million
rows through SQLAlchemy's per-parameter processing cost ~25 s more than the database work itself
(measured on SQLite). Both backends run `INSERT ... ON CONFLICT (msisdn) DO UPDATE ... RETURNING`
(SQLite ≥ 3.35 and PostgreSQL speak it alike):

- SQLite: multi-row VALUES of 1,000 rows, then the list members the same way;
- PostgreSQL: the batch is COPYed into a temporary table, then one statement upserts the
  contacts, adds the members and counts the new contacts. Sending the columns as arrays instead
  cost twice the client CPU (psycopg dumps arrays element by element in Python), and a long
  VALUES list is re-parsed by psycopg on every execution.

Rows are written in msisdn order, so the unique index's pages are visited in turn (measured
15 % less CPU on SQLite). Times go through the column type's own bind processor and JSON through
json.dumps, as SQLAlchemy would, so rows read back through the ORM as if it had written them.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy import Connection

from dispatch.audiences.columns import fold_name
from dispatch.models import Contact
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import chunks

# One pending contact: operator, operator_override, locality_id, name, attributes, first-in-file.
Pending = list[Any]
OPERATOR, OVERRIDE, LOCALITY, NAME, ATTRIBUTES, FIRST = range(6)
ROWS_PER_STATEMENT = 1000  # 9 parameters a row: under SQLite's limit of 32,766
FOLDED_MAX = 200

_COLUMNS = ("msisdn", "operator", "operator_override", "locality_id", "name", "name_folded",
            "attributes", "created_at", "updated_at")
# Empty cells keep what is stored (coalesce); attributes merge key by key. created_at equals
# updated_at only on a row this statement inserted (an existing contact keeps its older
# created_at), which tells new contacts apart on both backends.
_ON_CONFLICT = """ON CONFLICT (msisdn) DO UPDATE SET
  operator = excluded.operator,
  operator_override = coalesce(excluded.operator_override, contacts.operator_override),
  locality_id = coalesce(excluded.locality_id, contacts.locality_id),
  name = coalesce(excluded.name, contacts.name),
  name_folded = coalesce(excluded.name_folded, contacts.name_folded),
  {attributes}updated_at = excluded.updated_at
RETURNING id, msisdn, created_at = updated_at"""
_MERGE_ATTRIBUTES = {
    "sqlite": "attributes = json_patch(contacts.attributes, excluded.attributes),\n  ",
    "postgresql": "attributes = (contacts.attributes::jsonb || excluded.attributes::jsonb)::json,"
                  "\n  ",
}

_SQLITE_UPSERT = "INSERT INTO contacts ({columns}) VALUES {values}\n" + _ON_CONFLICT
_SQLITE_MEMBERS = ("INSERT INTO list_members (list_id, contact_id) VALUES {values} "
                   "ON CONFLICT DO NOTHING")

_PG_STAGING = "loa_import_incoming"
_PG_CREATE_STAGING = f"""CREATE TEMPORARY TABLE {_PG_STAGING} (
  msisdn varchar(16), operator varchar(16), operator_override varchar(16),
  locality_id integer, name varchar(200), name_folded varchar(200), attributes text,
  first boolean
) ON COMMIT DROP"""
_PG_BATCH = """WITH upserted AS (
  INSERT INTO contacts ({columns})
  SELECT msisdn, operator, operator_override, locality_id, name, name_folded, attributes::json,
    %s, %s
  FROM {staging}
  """ + _ON_CONFLICT + """ AS new
), added AS (
  INSERT INTO list_members (list_id, contact_id) SELECT %s, id FROM upserted
  ON CONFLICT DO NOTHING
)
SELECT count(*) FROM upserted JOIN {staging} USING (msisdn) WHERE upserted.new AND {staging}.first
"""
# COPY's text format: backslash, tab and line breaks escaped; \N is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


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
        attributes = _MERGE_ATTRIBUTES[dialect.name] if with_attributes else ""
        self.time_value = Contact.__table__.c.created_at.type.bind_processor(dialect) or (
            lambda value: value)
        if self.postgres:
            connection.exec_driver_sql(_PG_CREATE_STAGING)
            self.batch_sql = _PG_BATCH.format(columns=", ".join(_COLUMNS), staging=_PG_STAGING,
                                              attributes=attributes)
        else:
            self.upsert_sql = _SQLITE_UPSERT.replace("{attributes}", attributes)
        self._statements: dict[tuple[str, int], str] = {}

    def write(self, batch: dict[str, Pending]) -> int:
        """Upsert the batch; return how many contacts it created (first seen in this file)."""
        return self.send(self.prepare(batch))

    def prepare(self, batch: dict[str, Pending]) -> Any:
        """Turn a batch into what `send` writes (pure Python: runs while the database works)."""
        if self.postgres:
            return self._copy_text(batch)
        return self._values(batch)

    def send(self, prepared: Any) -> int:
        """Write a prepared batch; return how many contacts it created."""
        if prepared is None:
            return 0
        if self.postgres:
            return self._send_postgres(prepared)
        return self._send_sqlite(*prepared)

    def _copy_text(self, batch: dict[str, Pending]) -> str | None:
        if not batch:
            return None
        escapes, dumps, lines = _COPY_ESCAPES, json.dumps, []
        for msisdn in sorted(batch):
            operator, override, locality, name, attributes, first = batch[msisdn]
            lines.append("\t".join((
                msisdn, operator, override or "\\N",
                "\\N" if locality is None else str(locality),
                "\\N" if name is None else name.translate(escapes),
                "\\N" if name is None else fold_name(name)[:FOLDED_MAX].translate(escapes),
                dumps(attributes).translate(escapes) if attributes else "{}",
                "t" if first else "f",
            )))
        lines.append("")
        return "\n".join(lines)

    def _send_postgres(self, text: str) -> int:
        now = self.time_value(utcnow())
        # The psycopg connection under SQLAlchemy's, in the same transaction: COPY is not
        # something SQLAlchemy exposes.
        driver = self.connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            cursor.execute(f"TRUNCATE {_PG_STAGING}")
            with cursor.copy(f"COPY {_PG_STAGING} FROM STDIN") as copy:
                copy.write(text)
            cursor.execute(self.batch_sql, (now, now, self.list_id))
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def _statement(self, kind: str, rows: int) -> str:
        sql = self._statements.get((kind, rows))
        if sql is None:
            if kind == "contacts":
                group = "(" + ", ".join(["?"] * len(_COLUMNS)) + ")"
                sql = self.upsert_sql.format(columns=", ".join(_COLUMNS),
                                             values=", ".join([group] * rows))
            else:
                sql = _SQLITE_MEMBERS.format(values=", ".join(["(?, ?)"] * rows))
            self._statements[(kind, rows)] = sql
        return sql

    def _values(self, batch: dict[str, Pending]) -> tuple[list[Any], set[str]] | None:
        if not batch:
            return None
        now = self.time_value(utcnow())
        dumps = json.dumps
        values: list[Any] = []
        for msisdn in sorted(batch):
            operator, override, locality, name, attributes, _ = batch[msisdn]
            values += (msisdn, operator, override, locality, name,
                       None if name is None else fold_name(name)[:FOLDED_MAX],
                       dumps(attributes) if attributes else "{}", now, now)
        return values, {msisdn for msisdn, pending in batch.items() if pending[FIRST]}

    def _send_sqlite(self, values: list[Any], first: set[str]) -> int:
        width = len(_COLUMNS)
        step = ROWS_PER_STATEMENT * width
        created = 0
        members: list[int] = []
        list_id = self.list_id
        execute = self.connection.exec_driver_sql
        for chunk in chunks(values, step):
            result = execute(self._statement("contacts", len(chunk) // width), tuple(chunk))
            for contact_id, msisdn, new in result:
                members += (list_id, contact_id)
                if new and msisdn in first:
                    created += 1
        for chunk in chunks(members, ROWS_PER_STATEMENT * 2):
            execute(self._statement("members", len(chunk) // 2), tuple(chunk))
        return created


class BackgroundWriter:
    """Writes batches on a second thread while the next one is parsed, one batch in flight.

    The database works (PostgreSQL's server process, or SQLite inside sqlite3 with the GIL
    released) while Python reads and normalises the next rows and prepares the batch: on two
    cores this hides most of the parsing. Only that thread uses the connection until `finish`.
    """

    def __init__(self, writer: ContactWriter) -> None:
        self.writer = writer
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="contact-import")
        self.pending: Future[int] | None = None
        self.created = 0

    def submit(self, batch: dict[str, Pending]) -> None:
        prepared = self.writer.prepare(batch)
        self._collect()
        if prepared is not None:
            self.pending = self.pool.submit(self.writer.send, prepared)

    def _collect(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self.created += pending.result()  # re-raises the writer's exception here

    def finish(self) -> int:
        self._collect()
        self.pool.shutdown()
        return self.created

    def abandon(self) -> None:
        """Wait for the batch in flight (the caller rolls back next) and stop the thread."""
        if self.pending is not None:
            wait([self.pending])
        self.pool.shutdown()
