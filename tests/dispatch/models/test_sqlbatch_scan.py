"""`any_of` on PostgreSQL reads its array once, whatever plan the database picks.

Found by the SMSC throttle drill: the array went as a text parameter CAST to the array type.
PostgreSQL does not fold that cast (array_in is only STABLE), so under a sequential scan it
parsed the whole array again for every row: each 10,000-contact batch of an expansion spent
one to two minutes in `SELECT … FROM contacts WHERE id = ANY(…)`, and a 50,000-recipient
campaign took over 20 minutes to expand. Sent untyped, the literal is read as the array
itself: one constant, parsed once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from dispatch.extensions import db
from dispatch.models import RawReceipt
from dispatch.models.sqlbatch import any_of, in_param, insert_rows, values_param

_raw = RawReceipt.__table__


@pytest.mark.postgres_only
def test_a_large_array_under_a_sequential_scan_is_read_once(app, backend) -> None:
    rows = 10_000
    now = datetime(2025, 1, 1, tzinfo=UTC)
    insert_rows(_raw, [{"account_id": 1, "smsc_id": f"{i:08X}", "stat": "DELIVRD", "body": "",
                        "received_at": now, "part_id": None} for i in range(rows)])
    db.session.commit()
    ids = list(db.session.scalars(sa.select(_raw.c.id).order_by(_raw.c.id)))
    wanted = ids[::3]  # 3,334 ids; 3,334 strings below
    # The plan an expansion batch got on a real table: no index, every row tested.
    db.session.execute(sa.text("SET LOCAL enable_indexscan = off"))
    db.session.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
    started = time.monotonic()
    found = db.session.scalars(sa.select(_raw.c.id).where(any_of(_raw.c.id, wanted))).all()
    by_name = db.session.scalars(sa.select(_raw.c.id).where(
        in_param(_raw.c.smsc_id, "names", True)),
        {"names": values_param([f"{i:08X}" for i in range(0, rows, 3)], True)}).all()
    seconds = time.monotonic() - started
    db.session.rollback()
    assert sorted(found) == wanted and len(by_name) == len(wanted)
    # Read once: a few milliseconds. Parsed per row it was ~33 million elements: tens of seconds.
    assert seconds < 3.0, f"{seconds:.1f} s: the array is parsed for every row"
