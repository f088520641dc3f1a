"""Personalised SMS end to end: expansion renders each recipient's text, the smpp process sends
exactly that text over a real socket to the SMSC stand-in, in the parts the encoder counts."""

from __future__ import annotations

from sqlalchemy import select

from dispatch.engine import expand
from dispatch.extensions import db
from dispatch.models import Contact, Locality, Message, MessageText
from gateways.sms.encoding import analyse
from scripts.harness import wait_for
from tests.helpers.factories import make_list
from tests.helpers.sms import counts, make_campaign, number

TEMPLATE = "Kinh gui {ho_ten|ong ba} ({nghe}), hop tai {xa|UBND xa} {huyen|}. {{Loa}}"
LONG = "ab " * 666 + "z"  # 2,000 characters


def _people() -> list[Contact]:
    district = Locality(code="p2-vi-thuy", name="Huyện Vị Thủy", kind="district")
    db.session.add(district)
    db.session.flush()
    commune = Locality(code="p2-vi-thang", name="Xã Vị Thắng", kind="commune",
                       parent_id=district.id)
    db.session.add(commune)
    db.session.flush()
    people = [
        ("Nguyễn Thị Lan", {"nghe": "nông dân"}, commune.id),  # Vietnamese: UCS-2
        ("Tran Van Binh", {"nghe": "ngu dan"}, None),  # ASCII: GSM-7, defaults
        (None, {"nghe": "giao vien"}, None),  # no name: the default
        # hostile: sent as text (a NUL cannot be stored: the unit tests render one away)
        ("{0} %s {ho_ten} {{\x1b\x07", {"nghe": LONG}, None),
        ("Le Van Ty", {}, commune.id),  # no `nghe` and no default: suppressed
    ]
    contacts = [Contact(msisdn=number(i), operator="viettel", name=name, attributes=attrs,
                        locality_id=place) for i, (name, attrs, place) in enumerate(people)]
    db.session.add_all(contacts)
    db.session.commit()
    return contacts


EXPECTED = {
    0: "Kinh gui Nguyễn Thị Lan (nông dân), hop tai Xã Vị Thắng Huyện Vị Thủy. {Loa}",
    1: "Kinh gui Tran Van Binh (ngu dan), hop tai UBND xa . {Loa}",
    2: "Kinh gui ong ba (giao vien), hop tai UBND xa . {Loa}",
    3: "Kinh gui {0} %s {ho_ten} {{ (" + LONG + "), hop tai UBND xa . {Loa}",
}


def test_each_recipient_gets_its_own_text_in_the_parts_promised(app, redis, smsc, account,
                                                                editor, smpp, backend):
    contacts = _people()
    lst = make_list("Cá nhân hoá", contacts)
    c = make_campaign(editor, sms_text=TEMPLATE, audience={"lists": [lst.id]})
    expand.expand(c.id)
    smpp()
    assert wait_for(lambda: counts(c.id).get("delivered") == 4, timeout=30), counts(c.id)
    rows = {m.address: m for m in db.session.scalars(select(Message)
                                                     .where(Message.campaign_id == c.id))}
    stored = dict(db.session.execute(select(MessageText.message_id, MessageText.text)).all())
    for i, text in EXPECTED.items():
        got = smsc.received(number(i)[1:])
        analysis = analyse(text)
        assert "".join(r.text for r in got) == text
        assert len(got) == analysis.parts == rows[number(i)].parts
        assert {r.data_coding for r in got} == {analysis.data_coding}
        assert stored[rows[number(i)].id] == text
    assert analyse(EXPECTED[0]).encoding == "ucs2" and analyse(EXPECTED[1]).encoding == "gsm7"
    assert rows[number(3)].parts == 14
    missing = rows[number(4)]
    assert (missing.status.value, missing.reason) == ("suppressed", "missing_value")
    assert smsc.received(number(4)[1:]) == [] and missing.id not in stored
    assert c.expansion["suppressed_missing_value"] == 1
    # Run again: no row and no text twice.
    expand.expand(c.id)
    assert db.session.query(MessageText).count() == 4


def test_plain_variant_strips_the_rendered_text(app, redis, smsc, account, editor, smpp,
                                                backend):
    contacts = _people()
    lst = make_list("Không dấu", contacts[:1])
    c = make_campaign(editor, sms_text="Chào {ho_ten}, {xa}", sms_plain=True,
                      audience={"lists": [lst.id]})
    expand.expand(c.id)
    smpp()
    assert wait_for(lambda: counts(c.id).get("delivered") == 1, timeout=30), counts(c.id)
    (got,) = smsc.received(number(0)[1:])
    assert got.text == "Chao Nguyen Thi Lan, Xa Vi Thang" and got.data_coding == 0


def test_preview_promises_the_parts_and_cost_that_are_sent(app, api, people, smsc, account, smpp,
                                                           backend):
    from tests.helpers.campaigns import api_draft, api_launch
    from tests.helpers.engine import work

    contacts = _people()
    lst = make_list("Xem trước", contacts)
    editor, approver = api.as_(people["editor"]), api.as_(people["approver"])
    cid = api_draft(editor, title="Cá nhân hoá", channels="sms", sms_sender="HAUGIANG",
                    sms_text=TEMPLATE, audience={"lists": [lst.id]})
    draft = editor.get(f"/api/campaigns/{cid}/preview").json["personal"]
    assert draft["complete"] is False and draft["missing_value"] == 1
    assert [p["name"] for p in draft["placeholders"]] == ["ho_ten", "nghe", "xa", "huyen"]
    assert [s["text"] for s in draft["samples"]] == [EXPECTED[0], EXPECTED[1], EXPECTED[2]]
    assert draft["longest"]["text"] == EXPECTED[3]
    api_launch(editor, approver, cid)
    promised = editor.get(f"/api/campaigns/{cid}").json
    page = approver.get(f"/campaigns/{cid}")
    work()
    smpp()
    assert wait_for(lambda: counts(cid).get("delivered") == 4, timeout=30), counts(cid)
    sent = {r.destination: 0 for r in smsc.received()}
    for r in smsc.received():
        sent[r.destination] += 1
    histogram: dict[str, int] = {}
    for n in sent.values():
        histogram[str(n)] = histogram.get(str(n), 0) + 1
    from dispatch.models import Campaign

    reach = db.session.get(Campaign, cid).frozen_reach
    exact = reach["personal"]
    assert exact["complete"] and exact["parts_histogram"] == histogram
    assert exact["parts"] == sum(sent.values()) == reach["sms"]["parts"]
    price = exact["by_operator"]["viettel"]["price_per_part"]
    assert exact["cost_vnd"] == sum(sent.values()) * price == reach["sms"]["cost_vnd"]
    assert exact["missing_value"] == 1 and counts(cid)["suppressed"] == 1
    assert promised["status"] == "sending" and page.status_code == 200


def test_what_did_number_x_receive(app, api, people, smsc, account, smpp, backend):
    contacts = _people()
    lst = make_list("Tra cứu", contacts)
    c = make_campaign(people["editor"], sms_text=TEMPLATE, audience={"lists": [lst.id]})
    expand.expand(c.id)
    smpp()
    assert wait_for(lambda: counts(c.id).get("delivered") == 4, timeout=30), counts(c.id)
    reader = api.as_(people["editor"])
    local = "0" + number(3)[3:]  # as a person writes it
    got = reader.get(f"/api/campaigns/{c.id}/received", query_string={"msisdn": local})
    assert got.status_code == 200, got.json
    assert got.json["text"] == EXPECTED[3] == "".join(r.text for r in smsc.received(number(3)[1:]))
    assert got.json["parts"] == 14 and got.json["status"] == "delivered"
    none = reader.get(f"/api/campaigns/{c.id}/received", query_string={"msisdn": number(4)}).json
    assert none["text"] is None and none["reason"] == "missing_value" and none["parts"] == 0
    stranger = reader.get(f"/api/campaigns/{c.id}/received",
                          query_string={"msisdn": "0987654321"}).json
    assert stranger["found"] is False
    bad = reader.get(f"/api/campaigns/{c.id}/received", query_string={"msisdn": "12ab"})
    assert bad.status_code == 422 and "msisdn" in bad.json["errors"]
