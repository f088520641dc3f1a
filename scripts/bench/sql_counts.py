"""Run a command-line module with every SQL statement it sends counted, per kind and table.

    python -m scripts.bench.sql_counts OUT.json flask smpp run

For a benchmark's children (sms_campaign.py --log-statements): PostgreSQL's own count
(pg_stat_statements) needs the library preloaded at the server's start, which a shared server
does not have. A listener on every SQLAlchemy engine counts the statements (`UPDATE messages`,
`INSERT message_parts`, `SELECT message_parts`…: the first word and the first table named),
the rows of an executemany, and the commits; the counts are written to OUT.json every second
and at the exit. Each commit and each pool checkout is also counted by where in Loa it came from
(`sites`: the innermost frames of dispatch/ and gateways/): with `pool_pre_ping` every checkout
sends a `SELECT 1` in autocommit, one more transaction for PostgreSQL (`xact_commit`) that no
SQLAlchemy commit event sees. The listener costs the process some CPU: runs that count are not
the runs whose rates are reported.
"""

from __future__ import annotations

import atexit
import json
import re
import runpy
import sys
import threading
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

_OURS = ("/dispatch/", "/gateways/")


def site() -> str:
    """The innermost two frames of Loa's own code on the stack, innermost first."""
    frames = [f for f in traceback.extract_stack()
              if any(part in f.filename for part in _OURS)]
    return " < ".join(f"{f.filename.rsplit('/', 2)[-2]}/{f.filename.rsplit('/', 1)[-1]}"
                      f":{f.name}:{f.lineno}" for f in reversed(frames[-2:])) or "?"

# The table a statement is about: the one it writes, else the first it reads.
_TARGET = re.compile(r"\b(?:INSERT\s+INTO|(?<!FOR )UPDATE|DELETE\s+FROM)\s+\"?(\w+)",
                     re.IGNORECASE)
_FROM = re.compile(r"\bFROM\s+\"?(\w+)", re.IGNORECASE)
_WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def kind(statement: str) -> str:
    """`UPDATE messages`, `SELECT message_parts`, `WITH…UPDATE messages` (a CTE)…"""
    text = statement.lstrip()
    first = text.split(None, 1)[0].upper() if text else "?"
    target = _TARGET.search(text)
    if target is not None:
        verb = _WRITE.search(text[target.start():])
        word = verb.group(1).upper() if verb else first
        name = f"{word} {target.group(1)}"
        return f"WITH…{name}" if first == "WITH" else name
    table = _FROM.search(text)
    return f"{first} {table.group(1)}" if table else first


class Counts:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.lock = threading.Lock()
        self.statements: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()  # executemany: the parameter sets
        self.commits = 0
        self.sites: Counter[str] = Counter()  # "commit <site>", "checkout <site>"

    def statement(self, statement: str, parameters: Any, many: bool) -> None:
        name = kind(statement)
        with self.lock:
            self.statements[name] += 1
            self.rows[name] += len(parameters) if many else 1

    def commit(self) -> None:
        where = site()
        with self.lock:
            self.commits += 1
            self.sites[f"commit {where}"] += 1

    def checkout(self) -> None:
        where = site()
        with self.lock:
            self.sites[f"checkout {where}"] += 1

    def write(self) -> None:
        with self.lock:
            data = {"statements": dict(self.statements), "rows": dict(self.rows),
                    "commits": self.commits, "sites": dict(self.sites)}
        self.out.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")


def install(counts: Counts) -> None:
    @event.listens_for(Engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        counts.statement(statement, parameters, executemany)

    @event.listens_for(Engine, "commit")
    def _commit(conn: Any) -> None:
        counts.commit()

    @event.listens_for(Pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        counts.checkout()

    def every_second() -> None:
        while True:
            threading.Event().wait(1.0)
            counts.write()

    threading.Thread(target=every_second, name="sql-counts", daemon=True).start()
    atexit.register(counts.write)


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    out, module, *rest = sys.argv[1:]
    install(Counts(Path(out)))
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
