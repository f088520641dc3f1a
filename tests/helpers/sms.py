"""For the SMS tests: the SMSC stand-in and the smpp process in threads (fixtures), campaigns in
`sending`, queued rows, and what the SMSC and the ledger hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import time as clock_time
from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus, SmppAccount, User
from dispatch.models.common import utcnow
from dispatch.sms.process import SmppProcess
from scripts.smsc import Behaviour, Smsc
from tests.helpers.factories import SMPP_PASSWORD, SMPP_SYSTEM_ID

SYSTEM_ID, PASSWORD = SMPP_SYSTEM_ID, SMPP_PASSWORD  # the stand-in's account


TEXT = "Thong bao: lich tiem chung tai tram y te xa vao sang thu Bay"  # one GSM-7 part


FAST_TIMERS: dict[str, Any] = dict(
    enquire_link_interval=5.0, response_timeout=3.0, connect_timeout=2.0, socket_timeout=0.2,
    reconnect_initial=0.05, reconnect_max=0.3, auth_retry_delay=0.3, queue_timeout=5.0,
    drain_timeout=2.0)


def make_campaign(user: User, **changes: Any) -> Campaign:
    values: dict[str, Any] = dict(
        title="Thong bao", channels="sms", sms_text=TEXT, sms_sender="LOA",
        status=CampaignStatus.SENDING, launched_at=utcnow(), created_by_id=user.id,
        window_start=clock_time(0, 0), window_end=clock_time(23, 59, 59, 999999))
    values.update(changes)
    c = Campaign(**values)
    db.session.add(c)
    db.session.commit()
    return c


def number(i: int) -> str:
    return f"+8491{i:07d}"


def queue_rows(c: Campaign, account: SmppAccount, n: int, start: int = 0) -> list[int]:
    """`queued` rows for n recipients, as the expand job leaves them."""
    now = utcnow()
    rows = [Message(campaign_id=c.id, channel="sms", recipient_id=i, address=number(i),
                    status=MessageStatus.QUEUED, queued_at=now, account_id=account.id,
                    operator="viettel") for i in range(start, start + n)]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def counts(campaign_id: int) -> Counter[str]:
    """Rows per status, read afresh (the process writes from its own threads)."""
    db.session.rollback()
    stmt = (select(Message.status, func.count()).where(Message.campaign_id == campaign_id)
            .group_by(Message.status))
    return Counter({status.value: n for status, n in db.session.execute(stmt)})


def per_destination(smsc: Smsc) -> Counter[str]:
    return Counter(r.destination for r in smsc.received())


@pytest.fixture()
def smsc() -> Iterator[Smsc]:
    server = Smsc({SYSTEM_ID: PASSWORD}, Behaviour(seed=1)).start()
    yield server
    server.stop()


@pytest.fixture()
def smpp(app: Any, redis: Any) -> Iterator[Callable[..., SmppProcess]]:
    """Start the smpp process shape in this process (threads), stopped after the test."""
    started: list[SmppProcess] = []

    def start(**kwargs: Any) -> SmppProcess:
        options: dict[str, Any] = dict(poll_interval=0.3, status_interval=0.2,
                                       timers=FAST_TIMERS, drain_timeout=2.0)
        options.update(kwargs)
        process = SmppProcess(app, **options).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
