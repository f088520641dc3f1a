"""Batch SQL (dispatch.models.sqlbatch): arrays sent as text literals carry any value intact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa

from dispatch.extensions import db
from dispatch.models import RawReceipt
from dispatch.models.sqlbatch import any_of, array_literal, chunks, insert_rows, set_by_id

_raw = RawReceipt.__table__

# What an array literal has to quote or escape: its delimiters, quotes, backslashes, the word
# NULL, empty and blank strings, and text that is not ASCII.
AWKWARD = ['a"b', "back\\slash", "trail\\", "{brace}", "com,ma", "NULL", "", " ", "Hủy ",
           'x\\"y', "tab\there", "line\nbreak"]


def test_array_literal_spells_ints_strings_and_nulls() -> None:
    assert array_literal([1, 22, None]) == "{1,22,NULL}"
    assert array_literal(['a"b', "c\\d", "NULL"]) == '{"a\\"b","c\\\\d","NULL"}'
    when = datetime(2025, 1, 1, 7, 30, 0, 250000, tzinfo=UTC)
    assert array_literal([when, None]) == '{"2025-01-01T07:30:00.250000+00:00",NULL}'
    naive = datetime(2025, 1, 1)
    assert array_literal([naive]) == [naive]  # no time zone to spell: left to the driver


def test_chunks_keeps_the_order_in_lists_of_at_most_the_size() -> None:
    assert list(chunks(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunks((1, 2), 5)) == [[1, 2]]
    assert list(chunks([], 5)) == []


def test_insert_rows_skips_conflicts_and_returns_what_it_wrote(app, backend) -> None:
    from dispatch.models import Message, MessageStatus

    table = Message.__table__
    hanoi = timezone(timedelta(hours=7))
    now = datetime(2025, 1, 1, 9, 0, tzinfo=hanoi)

    def row(recipient: int, status: MessageStatus) -> dict[str, object]:
        queued = status is MessageStatus.QUEUED
        return {"campaign_id": 1, "channel": "sms", "recipient_id": recipient,
                "address": f"+8496000000{recipient}", "status": status, "parts": 1,
                "attempts": 0, "created_at": now, "queued_at": now if queued else None,
                "finished_at": None if queued else now}

    from dispatch.models import Campaign
    from tests.helpers.factories import make_user

    db.session.add(Campaign(id=1, title="t", channels="sms",
                            created_by_id=make_user("editor9", ["editor"]).id))
    db.session.flush()
    key = ("campaign_id", "channel", "recipient_id")
    first = insert_rows(table, [row(1, MessageStatus.QUEUED), row(2, MessageStatus.SUPPRESSED)],
                        skip_conflicts_on=key, returning=("recipient_id", "status"))
    assert sorted(first) == [(1, "queued"), (2, "suppressed")]
    again = insert_rows(table, [row(2, MessageStatus.QUEUED), row(3, MessageStatus.QUEUED)],
                        skip_conflicts_on=key, returning=("recipient_id", "status"))
    assert again == [(3, "queued")]  # recipient 2 had its row: left out, not returned
    assert insert_rows(table, [row(4, MessageStatus.QUEUED)], skip_conflicts_on=key) == []
    db.session.commit()
    stored = db.session.execute(sa.select(table.c.recipient_id, table.c.status,
                                          table.c.queued_at, table.c.finished_at)
                                .order_by(table.c.recipient_id)).all()
    assert [(r, s, q, f) for r, s, q, f in stored] == [
        (1, "queued", now, None), (2, "suppressed", None, now), (3, "queued", now, None),
        (4, "queued", now, None)]


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
