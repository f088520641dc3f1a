"""Personal data retention: old campaigns lose who they were sent to, never their figures;
a person's data is exported and erased by number, audited. Through the CLI and the API."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select, update

from dispatch.config import local_zone
from dispatch.extensions import db
from dispatch.models import (
    AuditEvent,
    Contact,
    ContactList,
    InboundMessage,
    ListMember,
    Message,
    MessageText,
    MoFragment,
    OptOut,
    RawReceipt,
    Reply,
)
from dispatch.models.common import utcnow
from tests.helpers.reports import T0, Ledger


def everything(app) -> str:
    """Every row of every table, as text: where a number could hide."""
    out = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            out.extend(repr(tuple(row)) for row in conn.execute(table.select()))
    return "\n".join(out)


def figures(api, people, ledger: Ledger) -> tuple:
    editor = api.as_(people["editor"])
    report = editor.get(f"/api/campaigns/{ledger.campaign.id}/report")
    summary = editor.get("/api/reports/summary")
    csv = editor.get("/api/reports/summary.csv")
    assert report.status_code == summary.status_code == csv.status_code == 200
    # Only the moment each was made may differ ("as of" now): masked, every figure compared.
    today = re.escape(utcnow().astimezone(local_zone()).date().isoformat())
    stamp = re.compile(today + r"[T ][0-9:.+]+")
    return tuple(stamp.sub("NOW", text) for text in (
        json.dumps(report.json, sort_keys=True), json.dumps(summary.json, sort_keys=True),
        csv.get_data(as_text=True)))


def personal_traces(number: str, message_id: int, campaign_id: int, when) -> list:
    """What a personalised, answered campaign keeps on a person beside the ledger row: the
    text rendered for them (a name in it) and their reply in the inbox, with a staff note."""
    return [MessageText(message_id=message_id, text="Kính gửi ông Lưu Văn Tèo, xã Tân Lập"),
            Reply(channel="sms", msisdn=number, campaign_id=campaign_id, message_id=message_id,
                  text="Tèo góp ý: đường liên xã hỏng", text_folded="teo gop y",
                  kind="free", note="gọi lại cho ông Tèo", received_at=when)]


def test_retention_run_keeps_every_figure_and_no_number(app, api, people, main_campaign,
                                                        backend):
    message_id, number = db.session.execute(select(Message.id, Message.address).where(
        Message.campaign_id == main_campaign.campaign.id, Message.address.is_not(None))).first()
    assert number
    old = T0 + timedelta(hours=3)
    db.session.add_all(personal_traces(number, message_id, main_campaign.campaign.id, old))
    db.session.add_all([
        InboundMessage(source=number[1:], destination="8088", text="TU CHOI", received_at=old,
                       handled_as="opt_out", payload=b"TU CHOI"),
        MoFragment(account_id=1, key=f"{number}:1", source=number[1:], destination="8088",
                   total=2, number=1, data_coding=0, payload=b"half", received_at=old),
        RawReceipt(smsc_id="abc", stat="DELIVRD", body=f"id:abc stat:DELIVRD text:{number}",
                   payload=number.encode(), received_at=old)])
    # The contacts were last imported long ago and are in no list: purged too.
    db.session.execute(update(Contact).values(updated_at=T0))
    db.session.commit()
    before = figures(api, people, main_campaign)
    assert number in everything(app)

    result = app.test_cli_runner().invoke(args=["data", "retain"])
    assert result.exit_code == 0, result.output
    done = json.loads(result.output)
    assert done["campaigns"] == 1 and done["messages"] > 0
    assert done["receipts"] == 1 and done["inbound"] == 2 and done["contacts"] > 0
    assert done["texts"] == 1 and done["replies"] == 1

    db.session.expire_all()
    assert figures(api, people, main_campaign) == before
    dump = everything(app)
    assert number not in dump and number[1:] not in dump and "TU CHOI" not in dump
    assert "Tèo" not in dump
    # The reply still counts where it was counted: its campaign and kind stay.
    reply = db.session.scalars(select(Reply)).one()
    assert (reply.campaign_id, reply.kind, reply.text) == (main_campaign.campaign.id, "free", "")
    # A second run has nothing left to do.
    again = app.test_cli_runner().invoke(args=["data", "retain"])
    assert json.loads(again.output) == {"campaigns": 0, "messages": 0, "texts": 0,
                                        "receipts": 0, "inbound": 0, "replies": 0,
                                        "contacts": 0, "installations": 0}


def test_contacts_in_a_list_or_recently_seen_stay(app, people, backend):
    listed = Contact(msisdn="+84912000001", operator="vinaphone", updated_at=T0)
    fresh = Contact(msisdn="+84912000002", operator="vinaphone")
    stale = Contact(msisdn="+84912000003", operator="vinaphone", updated_at=T0)
    lst = ContactList(name="Tổ dân phố 1")
    db.session.add_all([listed, fresh, stale, lst,
                        OptOut(channel="sms", address="+84912000003", source="keyword")])
    db.session.flush()
    db.session.add(ListMember(list_id=lst.id, contact_id=listed.id))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["data", "retain"])
    assert json.loads(result.output)["contacts"] == 1
    assert set(db.session.scalars(select(Contact.msisdn))) == {"+84912000001", "+84912000002"}
    # The opt-out is the person's standing instruction: it outlives the contact.
    assert db.session.scalar(select(OptOut.address)) == "+84912000003"


def test_export_and_erase_by_number_through_the_cli(app, api, people, main_campaign, backend):
    message_id, number = db.session.execute(select(Message.id, Message.address).where(
        Message.campaign_id == main_campaign.campaign.id, Message.address.is_not(None))).first()
    db.session.add_all(personal_traces(number, message_id, main_campaign.campaign.id, utcnow()))
    lst = ContactList(name="Ấp 3")
    db.session.add(lst)
    db.session.flush()
    contact = db.session.scalar(select(Contact).where(Contact.msisdn == number))
    db.session.add_all([ListMember(list_id=lst.id, contact_id=contact.id),
                        OptOut(channel="sms", address=number, source="keyword"),
                        InboundMessage(source=number[1:], destination="8088", text="TU CHOI")])
    db.session.commit()
    before = figures(api, people, main_campaign)
    written = "0" + number[3:6] + " " + number[6:]  # as a person writes it

    out = app.test_cli_runner().invoke(args=["data", "export", written])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["number"] == number and data["contact"]["msisdn"] == number
    assert data["lists"] == [{"id": lst.id, "name": "Ấp 3"}]
    assert len(data["messages"]) == 1 and data["inbound"][0]["text"] == "TU CHOI"
    assert data["messages"][0]["text"] == "Kính gửi ông Lưu Văn Tèo, xã Tân Lập"
    assert [r["text"] for r in data["replies"]] == ["Tèo góp ý: đường liên xã hỏng"]
    assert data["opt_outs"][0]["source"] == "keyword"

    out = app.test_cli_runner().invoke(args=["data", "erase", written, "--reason", "đơn 12"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"contacts": 1, "memberships": 1, "opt_outs": 0,
                                      "texts": 1, "messages": 1, "inbound": 1, "replies": 1}
    db.session.expire_all()
    assert figures(api, people, main_campaign) == before
    dump = everything(app)
    # Only the opt-out still names the number (kept unless the person asks).
    assert dump.count(number) == 1 and "Tèo" not in dump
    assert db.session.scalar(select(OptOut.address)) == number
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("personal_data.%")).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["personal_data.export", "personal_data.erase"]
    assert all(number not in repr(e.details) + (e.entity_id or "") for e in events)
    assert events[1].reason == "đơn 12"

    bad = app.test_cli_runner().invoke(args=["data", "erase", "09l2345678"])
    assert bad.exit_code != 0 and "number" in bad.output


def test_export_and_erase_through_the_api_admins_only(app, api, people, main_campaign, backend):
    number = db.session.scalar(select(Message.address).where(
        Message.campaign_id == main_campaign.campaign.id, Message.address.is_not(None)))
    for role in ("editor", "approver"):
        r = api.as_(people[role]).post("/api/personal-data/export", json={"number": number})
        assert r.status_code == 403
    admin = api.as_(people["admin"])
    r = admin.post("/api/personal-data/export", json={"number": number})
    assert r.status_code == 200, r.json
    assert r.json["contact"]["msisdn"] == number and len(r.json["messages"]) == 1
    bad = admin.post("/api/personal-data/erase", json={"number": "09l2345678"})
    assert bad.status_code == 422 and "number" in bad.json["errors"]
    bad = admin.post("/api/personal-data/erase", json={"number": number, "extra": 1})
    assert bad.status_code == 422 and "extra" in bad.json["errors"]
    r = admin.post("/api/personal-data/erase", json={"number": number, "drop_opt_out": True})
    assert r.status_code == 200, r.json
    assert r.json["contacts"] == 1 and r.json["messages"] == 1
    db.session.expire_all()
    assert number not in everything(app)
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "personal_data.erase")).one()
    assert event.actor_id == people["admin"].id and number not in repr(event.details)
