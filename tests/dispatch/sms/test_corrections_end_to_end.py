"""A correction (đính chính) of a sent campaign, driven through the API and delivered over a real
SMPP socket: it reaches exactly the original's recipients who were sent it (or only those whose
receipt said delivered), minus opt-outs since, on each database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Message, OptOut
from scripts.harness import wait_for
from tests.helpers.campaigns import api_draft, api_launch
from tests.helpers.engine import numbers, work
from tests.helpers.factories import add_contacts
from tests.helpers.sms import counts

OPEN = {"pending", "queued", "sending", "submitted"}


def _settled(cid: int, n: int) -> bool:
    by_status = counts(cid)
    return sum(by_status.values()) == n and not OPEN & set(by_status)


def _opt_out(number: str) -> None:
    db.session.add(OptOut(channel="sms", address=number, source="staff"))
    db.session.commit()


def _ledger(cid: int) -> dict[str, str]:
    db.session.rollback()
    return {a: s.value for a, s in db.session.execute(
        select(Message.address, Message.status).where(Message.campaign_id == cid))}


def _sent_since(smsc: Any, before: int) -> list[str]:
    return ["+" + r.destination for r in smsc.received()[before:]]


def test_a_correction_reaches_exactly_the_originals_sent_recipients(
        app, api, people, smsc, smpp, backend):
    admin, editor, approver = (api.as_(people[r]) for r in ("admin", "editor", "approver"))
    r = admin.post("/api/smpp-accounts", json={
        "name": "viettel", "host": "127.0.0.1", "port": smsc.port, "system_id": "loa",
        "password": "secret", "tps": 5000, "window": 20, "operators": ["viettel"],
        "is_default": True, "brandnames": ["HAUGIANG"]})
    assert r.status_code == 201, r.json
    everyone = numbers(0, 16)
    lst = add_contacts("Cử tri", everyone)
    _opt_out(everyone[0])  # suppressed in the original: never sent it
    refused = everyone[1:3]  # the SMSC refuses them: failed, never sent it
    smsc.set(reject={n[1:]: 0x45 for n in refused},
             outcomes={"DELIVRD": 0.5, "UNKNOWN": 0.25, "UNDELIV": 0.25})
    cid = api_draft(editor, title="Lịch tiêm chủng", channels="sms", sms_sender="HAUGIANG",
                    sms_text="Lich tiem chung thu Bay", audience={"lists": [lst.id]})
    api_launch(editor, approver, cid)
    work()
    smpp()
    assert wait_for(lambda: _settled(cid, 16), timeout=30), counts(cid)
    original = _ledger(cid)
    assert original[everyone[0]] == "suppressed"
    assert {original[n] for n in refused} == {"failed"}
    # Sent it: handed to the SMSC and not refused by a receipt (UNDELIV: failed).
    sent = {a for a, s in original.items() if s in ("delivered", "unknown")}
    delivered = {a for a, s in original.items() if s == "delivered"}
    undelivered = set(everyone) - {everyone[0], *refused} - sent
    # Every kind present, or the audience and its option prove nothing.
    assert delivered and sent - delivered and undelivered, original
    assert {original[n] for n in undelivered} == {"failed"}
    late = sorted(delivered)[0]
    _opt_out(late)  # opted out after the original: the correction must not reach it

    smsc.set(reject={}, outcomes={"DELIVRD": 1.0})
    for only_delivered, expected in ((False, sent), (True, delivered)):
        r = editor.post(f"/api/campaigns/{cid}/correction", json={"only_delivered": only_delivered})
        assert r.status_code == 201, r.json
        fix = r.json
        assert (fix["kind"], fix["parent_id"], fix["priority"]) == ("correction", cid, "urgent")
        assert fix["status"] == "draft" and fix["sms_text"].startswith("ĐÍNH CHÍNH: ")
        assert fix["audience"]["correction_of"] == cid
        r = editor.patch(f"/api/campaigns/{fix['id']}",
                         json={"sms_text": "DINH CHINH: lich tiem chung Chu nhat"})
        assert r.status_code == 200, r.json
        assert r.json["audience"]["correction_of"] == cid  # an edit keeps the audience
        before = len(smsc.received())
        api_launch(editor, approver, fix["id"])
        work()
        fid = fix["id"]
        assert wait_for(lambda fid=fid, n=len(expected): _settled(fid, n),
                        timeout=30), counts(fid)
        got = _sent_since(smsc, before)
        assert sorted(got) == sorted(expected - {late})  # each once, nobody else
        assert _ledger(fix["id"])[late] == "suppressed"
    listed = editor.get(f"/api/campaigns/{cid}").json["corrections"]
    assert len(listed) == 2
