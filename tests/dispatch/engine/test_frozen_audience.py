"""The approved audience is the audience sent to (DESIGN invariant 8, issue 11 point 2).

Through the services, real RQ workers and Redis, on both databases: members who join a list or
a locality after the approval are never sent; opt-outs and removals since then still apply.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from dispatch.campaigns import frozen, service, settings
from dispatch.engine import clock
from dispatch.extensions import db
from dispatch.models import (
    Campaign,
    CampaignMember,
    CampaignStatus,
    Contact,
    Device,
    ListMember,
    Locality,
    Message,
    OptOut,
)
from dispatch.models.common import utcnow
from tests.helpers.engine import launched, ledger, numbers, work
from tests.helpers.factories import add_account, add_contacts

PRICE = 800  # VND per part for Viettel, set below: the figures are easy to read


def reload(c: Campaign) -> Campaign:
    db.session.expire_all()
    found = db.session.get(Campaign, c.id)
    assert found is not None
    return found


def priced(people) -> None:
    settings.update("sms_price_per_part",
                    {**settings.get("sms_price_per_part"), "viettel": PRICE},
                    actor=people["admin"])
    db.session.commit()


def grow(list_name: str, addresses: list[str]) -> None:
    add_contacts(list_name, addresses)


def test_members_who_join_after_approval_are_not_sent(engine_app, people, backend, api):
    """The reported case: a list of 297 approved, 469 at launch; here 6 approved, 10 at launch."""
    add_account()
    priced(people)
    old = add_contacts("Older", numbers(900, 1))  # a contact older than the list's members
    lst = add_contacts("Cử tri", numbers(0, 6))
    c = launched(people, launch=False, audience={"lists": [lst.id]})
    assert c.frozen_reach["sms"]["recipients"] == 6
    assert c.frozen_reach["sms"]["cost_vnd"] == 6 * PRICE
    grow("Cử tri", numbers(100, 3))  # new contacts, higher ids
    older = db.session.scalar(select(ListMember.contact_id).where(ListMember.list_id == old.id))
    db.session.add(ListMember(list_id=lst.id, contact_id=older))  # an old contact, lower id
    db.session.commit()

    before = frozen.reach(reload(c))
    assert before["basis"] == "audience_now"
    assert before["not_approved"]["sms"] == 4
    assert before["actual"]["sms"]["recipients"] == 6

    approver = api.as_(people["approver"])
    resp = approver.post(f"/api/campaigns/{c.id}/launch")
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "sending"
    assert resp.json["reach"]["approved"]["sms"]["recipients"] == 6
    assert resp.json["reach"]["not_approved"] == {"sms": 4}
    work()

    c = reload(c)
    rows = ledger(c)
    assert sorted(rows) == sorted(numbers(0, 6))
    assert all(status == "queued" for status, _ in rows.values())
    assert c.expansion["not_approved"] == 4
    # The ledger now says who was targeted: the frozen members are dropped, the figures kept.
    assert db.session.scalar(select(func.count()).select_from(CampaignMember)) == 0

    report = approver.get(f"/api/campaigns/{c.id}/report").json
    assert report["reach"]["basis"] == "ledger"
    assert report["reach"]["approved"]["sms"]["recipients"] == 6
    assert report["reach"]["actual"]["sms"]["recipients"] == 6
    assert report["reach"]["actual"]["sms"]["cost_vnd"] == 6 * PRICE
    assert report["reach"]["not_approved"]["sms"] == 4
    assert report["not_in_ledger"]["not_approved"] == 4
    shown = approver.get(f"/api/campaigns/{c.id}").json["reach"]
    assert shown["actual"]["sms"]["recipients"] == 6 and shown["not_approved"]["sms"] == 4
    summary = approver.get("/api/reports/summary").json
    [item] = summary["campaigns"]
    assert item["approved_sms_recipients"] == 6 and item["approved_cost_vnd"] == 6 * PRICE
    assert item["targeted"] == 6 and summary["total"]["approved_sms_recipients"] == 6
    csv = approver.get("/api/reports/summary.csv").get_data(as_text=True)
    assert "Người nhận SMS được duyệt" in csv.splitlines()[0]


def test_opt_outs_and_removals_since_approval_still_apply(engine_app, people, backend):
    add_account()
    lst = add_contacts("Cử tri", numbers(0, 5))
    db.session.add(OptOut(channel="sms", address=numbers(4, 1)[0], source="staff"))
    db.session.commit()
    c = launched(people, launch=False, audience={"lists": [lst.id]})
    assert c.frozen_reach["sms"]["recipients"] == 4  # the opted-out number is not approved
    assert c.frozen_reach["held"] == {"sms_opt_out": 1}

    db.session.add(OptOut(channel="sms", address=numbers(0, 1)[0], source="keyword"))
    gone = db.session.scalar(select(Contact.id).where(Contact.msisdn == numbers(1, 1)[0]))
    db.session.execute(ListMember.__table__.delete().where(
        ListMember.list_id == lst.id, ListMember.contact_id == gone))
    # The opt-out that held a number back at approval is lifted: still not approved.
    db.session.execute(OptOut.__table__.delete().where(OptOut.address == numbers(4, 1)[0]))
    db.session.commit()
    service.launch(reload(c), actor=people["approver"])
    db.session.commit()
    work()

    c = reload(c)
    rows = ledger(c)
    assert numbers(1, 1)[0] not in rows  # removed from the list: not sent, no row
    assert rows[numbers(0, 1)[0]] == ("suppressed", "opt_out")
    assert rows[numbers(4, 1)[0]] == ("suppressed", "opt_out")
    assert sorted(a for a, (s, _) in rows.items() if s == "queued") == numbers(2, 2)
    assert c.expansion["left_audience"] == 1
    reach = frozen.reach(c)
    assert reach["actual"]["sms"]["recipients"] == 2
    assert reach["no_longer_reached"]["sms"] == 2
    # Reachable again since its opt-out was lifted, but not approved: counted as such.
    assert reach["not_approved"]["sms"] == 1


def test_a_contact_moving_into_a_locality_after_approval_is_not_sent(engine_app, people,
                                                                      backend):
    add_account()
    place = db.session.scalar(select(Locality.id).where(Locality.code == "vi-thanh"))
    add_contacts("Vị Thanh", numbers(0, 3), locality_id=place)
    mover = add_contacts("Elsewhere", numbers(50, 1))
    c = launched(people, launch=False, audience={"localities": ["vi-thanh"]})
    moved = db.session.scalar(select(ListMember.contact_id).where(ListMember.list_id == mover.id))
    db.session.execute(update(Contact).where(Contact.id == moved).values(locality_id=place))
    db.session.commit()
    service.launch(reload(c), actor=people["approver"])
    db.session.commit()
    work()
    assert sorted(ledger(reload(c))) == numbers(0, 3)


def test_a_scheduled_campaign_starting_later_keeps_to_the_approved_members(engine_app, people,
                                                                          backend):
    add_account()
    lst = add_contacts("Cử tri", numbers(0, 2))
    c = launched(people, audience={"lists": [lst.id]}, send_at=utcnow() + timedelta(hours=1))
    assert c.status is CampaignStatus.SCHEDULED
    grow("Cử tri", numbers(10, 5))
    db.session.execute(update(Campaign).where(Campaign.id == c.id)
                       .values(send_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert clock.tick(engine_app.config)["started"] == 1
    work()
    c = reload(c)
    assert sorted(ledger(c)) == numbers(0, 2)
    assert c.expansion["not_approved"] == 5


def test_push_devices_registered_after_approval_are_not_sent(engine_app, people, backend):
    place = db.session.scalar(select(Locality.id).where(Locality.code == "vi-thanh"))

    def device(n: int, **extra) -> Device:
        d = Device(installation_id=f"inst-{n}", fcm_token=f"tok-{n}", platform="android",
                   locality_id=place, **extra)
        db.session.add(d)
        db.session.commit()
        return d

    first = [device(i) for i in range(3)]
    c = launched(people, launch=False, channels="push", sms_text=None, sms_sender=None,
                 push_title="Triều cường", push_body="Đề nghị người dân chú ý.",
                 audience={"localities": ["vi-thanh"]})
    assert c.frozen_reach["push"] == {"devices": 3}
    later = device(99)
    service.launch(reload(c), actor=people["approver"])
    db.session.commit()
    work(["urgent", "default"])
    c = reload(c)
    sent = set(db.session.scalars(select(Message.recipient_id).where(Message.campaign_id == c.id)))
    assert sent == {d.id for d in first} and later.id not in sent
    assert c.expansion["push_not_approved"] == 1


def test_an_edit_after_approval_voids_it_and_drops_the_frozen_members(engine_app, people,
                                                                       backend, api):
    lst = add_contacts("Cử tri", numbers(0, 3))
    c = launched(people, launch=False, audience={"lists": [lst.id]})
    count = select(func.count()).select_from(CampaignMember).where(
        CampaignMember.campaign_id == c.id)
    assert db.session.scalar(count) == 3
    resp = api.as_(people["editor"]).patch(f"/api/campaigns/{c.id}", json={"title": "Mới"})
    assert resp.status_code == 200 and resp.json["status"] == "draft"
    assert resp.json["reach"] is None
    assert db.session.scalar(count) == 0


def test_a_campaign_approved_before_audiences_were_frozen_is_not_launched(engine_app, people,
                                                                          backend, api):
    lst = add_contacts("Cử tri", numbers(0, 3))
    c = launched(people, launch=False, audience={"lists": [lst.id]})
    db.session.execute(update(Campaign).where(Campaign.id == c.id).values(frozen_reach=None))
    db.session.commit()
    resp = api.as_(people["approver"]).post(f"/api/campaigns/{c.id}/launch")
    assert resp.status_code == 409 and resp.json["code"] == "audience_not_frozen"


def test_no_topic_send_once_the_audience_gained_a_device(engine_app, people, backend,
                                                         monkeypatch):
    from dispatch.push import topic as push_topic
    monkeypatch.setitem(engine_app.config, "PUSH_TOPIC_SENDS", True)
    for n in range(2):
        db.session.add(Device(installation_id=f"inst-{n}", fcm_token=f"tok-{n}",
                              platform="android", topics=["all"]))
    db.session.commit()
    c = launched(people, launch=False, channels="push", sms_text=None, sms_sender=None,
                 push_title="Triều cường", push_body="Đề nghị người dân chú ý.",
                 audience={"all_app_users": True})
    assert push_topic.choose_push_mode(c)[0] == "topic"
    db.session.add(Device(installation_id="inst-new", fcm_token="tok-new", platform="android",
                          topics=["all"]))
    db.session.commit()
    mode, why = push_topic.choose_push_mode(reload(c))
    assert (mode, why) == ("devices", "joined_since_approval?devices=1")


def test_a_person_erased_after_approval_leaves_the_frozen_audience(engine_app, people, backend):
    from dispatch.audiences import retention
    add_account()
    lst = add_contacts("Cử tri", numbers(0, 3))
    c = launched(people, launch=False, audience={"lists": [lst.id]})
    erased = numbers(2, 1)[0]
    gone = db.session.scalar(select(Contact.id).where(Contact.msisdn == erased))
    retention.erase_person(erased, actor=people["admin"], reason="đơn yêu cầu")
    assert db.session.scalar(select(func.count()).select_from(CampaignMember).where(
        CampaignMember.campaign_id == c.id, CampaignMember.recipient_id == gone)) == 0
    service.launch(reload(c), actor=people["approver"])
    db.session.commit()
    work()
    assert sorted(ledger(reload(c))) == numbers(0, 2)
