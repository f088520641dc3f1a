"""The ledger's status table and guarded bulk moves."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from dispatch.engine import ledger
from dispatch.errors import InvalidTransition
from dispatch.extensions import db
from dispatch.models import Campaign, Message, MessageStatus

S = MessageStatus

# The moves the product relies on, written out independently of ledger.ALLOWED.
EXPECTED_LEGAL = {
    (S.PENDING, S.QUEUED), (S.PENDING, S.SUPPRESSED), (S.PENDING, S.CANCELLED),
    (S.PENDING, S.EXPIRED),
    (S.QUEUED, S.SENDING), (S.QUEUED, S.CANCELLED), (S.QUEUED, S.EXPIRED),
    (S.SENDING, S.SUBMITTED), (S.SENDING, S.FAILED), (S.SENDING, S.UNKNOWN),
    (S.SENDING, S.QUEUED),
    (S.SUBMITTED, S.DELIVERED), (S.SUBMITTED, S.PARTIAL), (S.SUBMITTED, S.FAILED),
    (S.SUBMITTED, S.EXPIRED), (S.SUBMITTED, S.UNKNOWN),
    (S.UNKNOWN, S.DELIVERED), (S.UNKNOWN, S.PARTIAL), (S.UNKNOWN, S.FAILED),
    (S.UNKNOWN, S.QUEUED), (S.FAILED, S.QUEUED),
}


@pytest.mark.parametrize(("old", "new"), list(itertools.product(S, S)))
def test_transition_table(old, new):
    assert ledger.can_move(old, new) == ((old, new) in EXPECTED_LEGAL)
    if (old, new) not in EXPECTED_LEGAL:
        with pytest.raises(InvalidTransition):
            ledger.check_move(old, new)


def test_final_statuses_never_go_back_to_sending():
    for status in ledger.FINAL:
        assert not ledger.can_move(status, S.SENDING)


@pytest.fixture()
def campaign(app, people):
    c = Campaign(title="t", channels="sms", created_by_id=people["editor"].id)
    db.session.add(c)
    db.session.commit()
    return c


def _rows(campaign, statuses):
    rows = [Message(campaign_id=campaign.id, channel="sms", recipient_id=i, address=f"+8491{i:07d}",
                    status=s) for i, s in enumerate(statuses)]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def test_claim_moves_each_row_once(campaign, backend):
    ids = _rows(campaign, [S.QUEUED] * 5 + [S.SUBMITTED])
    assert ledger.move(ids, S.SENDING) == 5
    # A second worker claiming the same rows gets none of them.
    assert ledger.move(ids, S.SENDING) == 0
    db.session.commit()
    stamped = db.session.scalars(sa.select(Message.sending_at).where(Message.status == S.SENDING))
    assert all(t is not None for t in stamped)


def test_retry_only_from_named_statuses(campaign, backend):
    ids = _rows(campaign, [S.FAILED, S.UNKNOWN, S.DELIVERED, S.SENDING])
    assert ledger.move(ids, S.QUEUED, only_from=[S.FAILED, S.UNKNOWN], reason="retry") == 2
    db.session.commit()
    statuses = sorted(s.value for s in db.session.scalars(sa.select(Message.status)))
    assert statuses == ["delivered", "queued", "queued", "sending"]
    with pytest.raises(InvalidTransition):
        ledger.move(ids, S.QUEUED, only_from=[S.DELIVERED])


def test_one_row_per_campaign_channel_recipient(campaign, backend):
    _rows(campaign, [S.PENDING])
    db.session.add(Message(campaign_id=campaign.id, channel="sms", recipient_id=0))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    # The same recipient on the other channel is a different row.
    db.session.add(Message(campaign_id=campaign.id, channel="push", recipient_id=0))
    db.session.commit()


def test_claim_returns_only_the_rows_won(campaign, backend):
    ids = _rows(campaign, [S.QUEUED, S.QUEUED, S.SUBMITTED, S.QUEUED])
    first = ledger.claim(ids[:2])
    db.session.commit()
    second = ledger.claim(ids)
    db.session.commit()
    assert first == ids[:2] and second == [ids[3]]
    attempts = db.session.scalars(sa.select(Message.attempts).where(Message.id.in_(ids[:2])))
    assert list(attempts) == [1, 1]


def test_claim_next_seeks_past_the_last_id_and_finds_earlier_rows_from_the_start(campaign,
                                                                                  backend):
    """The runner's cursor: `after` skips what it claimed before; a row put back below the
    cursor (a retry for later) is found once the runner looks from the start again."""
    ids = _rows(campaign, [S.QUEUED] * 5)
    db.session.execute(sa.update(Message).where(Message.id.in_(ids)).values(account_id=7))
    db.session.commit()
    first = ledger.claim_next(campaign.id, 7, 2)
    db.session.commit()
    assert [r[0] for r in first] == ids[:2]
    ledger.move([ids[0]], S.QUEUED, only_from=[S.SENDING])  # put back, below the cursor
    db.session.commit()
    rest = ledger.claim_next(campaign.id, 7, 5, after=ids[1])
    db.session.commit()
    assert [r[0] for r in rest] == ids[2:]
    assert ledger.claim_next(campaign.id, 7, 5, after=ids[-1]) == []
    again = ledger.claim_next(campaign.id, 7, 5)
    db.session.commit()
    assert [r[0] for r in again] == [ids[0]] and again[0][2] == 2  # its second attempt
    assert ledger.claim_next(campaign.id, 8, 5) == []  # another account's runner sees none


@pytest.mark.postgres_only  # FOR UPDATE SKIP LOCKED and the planner are PostgreSQL's
def test_two_claimers_at_once_get_different_rows(app, campaign, backend):
    """Two smpp processes claiming for one account: the second skips what the first holds
    (uncommitted), and neither ever gets a row twice."""
    ids = _rows(campaign, [S.QUEUED] * 6)
    db.session.execute(sa.update(Message).where(Message.id.in_(ids)).values(account_id=7))
    db.session.commit()
    first = ledger.claim_next(campaign.id, 7, 4)  # held: not committed yet
    with db.engine.connect() as other:
        sql, params = _claim_sql_and_params(campaign.id, 7, 4)
        second = sorted(r[0] for r in other.exec_driver_sql(sql, params))
        other.commit()
    db.session.commit()
    assert [r[0] for r in first] == ids[:4] and second == ids[4:]
    assert ledger.claim_next(campaign.id, 7, 10) == []


@pytest.mark.postgres_only
def test_the_claim_joins_from_the_picked_ids_even_with_statistics_older_than_the_rows(
        app, campaign, backend):
    """Expansion writes the rows before it runs ANALYZE: the claims meanwhile must still
    update by primary key the n rows they picked, not walk the queued rows once per pick."""
    earlier = Campaign(title="earlier", channels="sms", created_by_id=campaign.created_by_id)
    db.session.add(earlier)
    db.session.commit()
    _rows(earlier, [S.DELIVERED] * 3000)
    db.session.execute(sa.text("ANALYZE messages"))  # statistics of a database in use
    ids = _rows(campaign, [S.QUEUED] * 3000)  # then a new campaign's rows, not analysed
    db.session.execute(sa.update(Message).where(Message.id.in_(ids)).values(account_id=7))
    db.session.commit()
    sql, params = _claim_sql_and_params(campaign.id, 7, 100)
    plan = db.session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql,
                                                   params).scalar()
    db.session.rollback()
    scans: list[str | None] = []

    def walk(node):
        if node.get("Relation Name") == "messages" and "Scan" in node["Node Type"]:
            scans.append(node.get("Index Name"))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    # One scan picks from the claim index (in the CTE); the UPDATE finds its rows by id.
    assert sorted(scans, key=str) == ["ix_messages_queued_claim", "pk_messages"], scans


def _claim_sql_and_params(campaign_id, account_id, n):
    compiled = ledger._claim_next_sql().compile(dialect=db.engine.dialect)
    params = compiled.construct_params({"campaign": campaign_id, "account": account_id, "n": n,
                                        "after": 0, "at": ledger.utcnow()})
    return str(compiled), params
