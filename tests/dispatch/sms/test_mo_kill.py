"""kill -9 of `flask smpp run` while survey answers pour in: the next process loses none, and
counts each number once, whether a message was stored and not yet answered (the SMSC delivers
it again), or stored and answered and not yet attributed (the mark says so)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import InboundMessage, Message, MessageStatus
from dispatch.models.replies import Reply
from dispatch.sms import status
from scripts.harness import wait_for
from tests.helpers.factories import add_account
from tests.helpers.sms import SYSTEM_ID, make_campaign, number

ROOT = Path(__file__).resolve().parents[3]
NUMBERS = 1200
LONG = ("toi dong y voi du thao va de nghi bo sung noi dung ve chuyen doi so o cap xa, dao tao "
        "nghe cho thanh nien nong thon va giu chan lao dong tai dia phuong, xin cam on cac anh "
        "chi")  # 175 characters: two parts


def answer(i: int) -> str:
    return LONG if i % 10 == 9 else ("1", " 2.", "hai")[i % 3]  # 10 % in two parts


def smpp_process(app: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLASK_APP": "dispatch:create_app", "LOA_ENV": "development",
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": app.config["REDIS_URL"], "LOA_INSTANCE_PATH": app.instance_path}
    return subprocess.Popen([sys.executable, "-m", "flask", "smpp", "run", "--poll", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def count(*where: Any, model: Any = InboundMessage) -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.mark.postgres_only  # what a kill leaves is PostgreSQL's committed state
def test_a_killed_smpp_process_loses_no_answer_and_counts_none_twice(app, redis, smsc,
                                                                      editor, backend):
    account = add_account(smsc, window=10)
    survey = make_campaign(editor, reply_mode="survey", reply_days=7, survey={
        "question": "?", "choices": [{"key": "1", "label": "Một"}, {"key": "2", "label": "Hai"}]})
    db.session.add_all(Message(campaign_id=survey.id, channel="sms", recipient_id=i,
                               address=number(i), status=MessageStatus.DELIVERED,
                               account_id=account.id, operator="viettel")
                       for i in range(NUMBERS))
    db.session.commit()
    first = smpp_process(app)
    second = None
    try:
        assert wait_for(lambda: any(r["state"] == "bound" for r in status.read(redis)),
                        timeout=60)
        smsc.flood_mo(SYSTEM_ID, [(number(i).lstrip("+"), "8088", answer(i))
                                  for i in range(NUMBERS)])
        assert wait_for(lambda: count() >= NUMBERS // 3, timeout=60)
        os.killpg(first.pid, signal.SIGKILL)  # no handler runs: nothing drained, nothing put back
        first.wait(10)
        left = count(InboundMessage.reply_pending.is_(True))
        second = smpp_process(app)
        stats = smsc.stats
        assert wait_for(lambda: stats()["mos_acked"] >= NUMBERS * 11 // 10
                        and count(InboundMessage.reply_pending.is_(True)) == 0, timeout=90), (
            stats(), left, count(InboundMessage.reply_pending.is_(True)), count())
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
    db.session.rollback()
    stored = db.session.execute(select(InboundMessage.id, InboundMessage.source)).all()
    # None lost: every number's answer is stored (some twice: stored, then the kill came before
    # the SMSC had its answer, so it delivered them again).
    assert {source for _, source in stored} == {number(i).lstrip("+") for i in range(NUMBERS)}
    # Every stored message is one reply, none made twice.
    replies = db.session.execute(select(Reply.inbound_id, Reply.msisdn, Reply.choice,
                                        Reply.counted, Reply.kind)).all()
    assert sorted(r.inbound_id for r in replies) == sorted(i for i, _ in stored)
    # Counted once per number, the choices exactly as sent.
    counted = [r for r in replies if r.counted]
    assert len({r.msisdn for r in counted}) == len(counted)
    expected = Counter("1" if answer(i) == "1" else "2"
                       for i in range(NUMBERS) if answer(i) != LONG)
    assert Counter(r.choice for r in counted) == expected
    assert sum(1 for r in replies if r.kind == "free") >= NUMBERS // 10
