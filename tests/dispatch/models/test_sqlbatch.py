"""Batch SQL (dispatch.models.sqlbatch): arrays sent as text literals carry any value intact."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from dispatch.extensions import db
from dispatch.models import RawReceipt
from dispatch.models.sqlbatch import any_of, array_literal, insert_rows, set_by_id

_raw = RawReceipt.__table__

# What an array literal has to quote or escape: its delimiters, quotes, backslashes, the word
# NULL, empty and blank strings, and text that is not ASCII.
AWKWARD = ['a"b', "back\\slash", "trail\\", "{brace}", "com,ma", "NULL", "", " ", "Hủy ",
           'x\\"y', "tab\there", "line\nbreak"]


def test_array_literal_spells_ints_strings_and_nulls() -> None:
    assert array_literal([1, 22, None]) == "{1,22,NULL}"
    assert array_literal(['a"b', "c\\d", "NULL"]) == '{"a\\"b","c\\\\d","NULL"}'
    when = datetime(2025, 1, 1, tzinfo=UTC)
    assert array_literal([when]) == [when]  # left to the driver


def test_awkward_strings_round_trip_through_insert_any_of_and_set_by_id(app, backend) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    insert_rows(_raw, [{"account_id": 1, "smsc_id": value, "stat": None if i % 2 else "DELIVRD",
                        "err": value[:16], "body": value * 3, "received_at": now,
                        "part_id": None if i % 3 else i}
                       for i, value in enumerate(AWKWARD)])
    db.session.commit()
    rows = db.session.execute(sa.select(_raw.c.smsc_id, _raw.c.stat, _raw.c.err, _raw.c.body,
                                        _raw.c.part_id).order_by(_raw.c.id)).all()
    assert [tuple(r) for r in rows] == [
        (value, None if i % 2 else "DELIVRD", value[:16], value * 3, None if i % 3 else i)
        for i, value in enumerate(AWKWARD)]
    wanted = ['a"b', "NULL", "", "trail\\", "missing"]
    found = db.session.scalars(sa.select(_raw.c.smsc_id).where(any_of(_raw.c.smsc_id, wanted)))
    assert sorted(found) == sorted(wanted[:4])
    ids = dict(db.session.execute(sa.select(_raw.c.smsc_id, _raw.c.id)).all())
    set_by_id(_raw, "stat", [(ids["NULL"], 'q"\\'), (ids["com,ma"], None)])
    db.session.commit()
    stats = dict(db.session.execute(
        sa.select(_raw.c.smsc_id, _raw.c.stat).where(any_of(_raw.c.id, list(ids.values())))
    ).all())
    assert stats["NULL"] == 'q"\\' and stats["com,ma"] is None
    assert stats["a\"b"] == "DELIVRD"
