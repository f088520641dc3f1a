"""A campaign's report: exact funnel, cost at seeded and changed prices, timeline buckets."""

from __future__ import annotations

from dispatch.campaigns import settings
from dispatch.extensions import db
from dispatch.reports.tally import Tally
from tests.helpers.reports import Ledger

VIETTEL = {
    "targeted": 13, "suppressed": 3, "suppressed_by_reason": {"invalid_number": 1, "opt_out": 2},
    "waiting": 0, "cancelled": 0, "expired_unsent": 0, "submitted": 10, "delivered": 5,
    "partial": 1, "failed": 2, "failed_by_reason": {"ESME_RINVDSTADR": 1, "UNDELIV": 1},
    "refused_at_submit": 1, "expired": 1, "unknown": 1, "unknown_by_reason": {"no_receipt": 1},
    "awaiting_receipt": 0, "accepted_by_fcm": 0, "sms_delivered_percent": 50.0,
    "parts_billed": 12, "cost_vnd": 9_600,  # not the refused row: the SMSC took no part of it
}
VINAPHONE = {
    "targeted": 5, "suppressed": 1, "suppressed_by_reason": {"recipient_cap": 1}, "waiting": 0,
    "cancelled": 0, "expired_unsent": 1, "submitted": 3, "delivered": 2, "partial": 0,
    "failed": 0, "failed_by_reason": {}, "refused_at_submit": 0, "expired": 0, "unknown": 0,
    "unknown_by_reason": {}, "awaiting_receipt": 1, "accepted_by_fcm": 0,
    "sms_delivered_percent": 66.7, "parts_billed": 3, "cost_vnd": 2_400,
}
PUSH = {
    "targeted": 6, "suppressed": 2, "suppressed_by_reason": {"device_disabled": 1, "opt_out": 1},
    "waiting": 0, "cancelled": 0, "expired_unsent": 0, "submitted": 4, "delivered": 0,
    "partial": 0, "failed": 1, "failed_by_reason": {"fcm_unregistered": 1},
    "refused_at_submit": 1, "expired": 0, "unknown": 0, "unknown_by_reason": {},
    "awaiting_receipt": 0, "accepted_by_fcm": 3, "sms_delivered_percent": None,
    "parts_billed": 0, "cost_vnd": 0,
}


def report(api, people, ledger: Ledger, query: str = "") -> dict:
    r = api.as_(people["editor"]).get(f"/api/campaigns/{ledger.campaign.id}/report{query}")
    assert r.status_code == 200, r.json
    return r.json


def test_funnel_per_operator_channel_and_total(api, people, main_campaign, backend):
    body = report(api, people, main_campaign)
    assert body["by_operator"]["viettel"] == VIETTEL
    assert body["by_operator"]["vinaphone"] == VINAPHONE
    assert body["by_operator"]["gmobile"]["suppressed_by_reason"] == {"no_route": 1}
    assert body["by_operator"]["gmobile"]["submitted"] == 0
    assert body["by_channel"]["push"] == PUSH
    sms = body["by_channel"]["sms"]
    assert (sms["targeted"], sms["suppressed"], sms["submitted"], sms["delivered"],
            sms["parts_billed"], sms["cost_vnd"]) == (19, 5, 13, 7, 15, 12_000)
    total = body["total"]
    assert (total["targeted"], total["suppressed"], total["submitted"], total["failed"],
            total["accepted_by_fcm"], total["cost_vnd"]) == (25, 7, 17, 3, 3, 12_000)
    # Every row lands in exactly one place of the funnel.
    for t in [total, sms, PUSH, VIETTEL, VINAPHONE]:
        assert t["targeted"] == (t["suppressed"] + t["waiting"] + t["cancelled"]
                                 + t["expired_unsent"] + t["submitted"])
        assert t["submitted"] == (t["delivered"] + t["partial"] + t["failed"] + t["expired"]
                                  + t["unknown"] + t["awaiting_receipt"] + t["accepted_by_fcm"])
    assert body["not_in_ledger"] == {"duplicates_across_lists": 4, "excluded_by_lists": 2,
                                     "left_audience_since_approval": 0, "not_approved": 0}
    assert body["campaign"]["status"] == "completed"
    assert body["campaign"]["launched_at"] == "2025-03-10T07:59:00+07:00"
    assert any("not a delivery" in note for note in body["notes"])


def test_cost_follows_the_price_per_operator(api, people, main_campaign, backend):
    body = report(api, people, main_campaign)
    assert body["prices_vnd_per_part"] == {"gmobile": 800, "viettel": 800, "vinaphone": 800}
    prices = dict(settings.get("sms_price_per_part"), viettel=650, vinaphone=900)
    settings.update("sms_price_per_part", prices, actor=people["admin"])
    db.session.commit()
    body = report(api, people, main_campaign)
    assert body["by_operator"]["viettel"]["cost_vnd"] == 12 * 650
    assert body["by_operator"]["vinaphone"]["cost_vnd"] == 3 * 900
    assert body["total"]["cost_vnd"] == 12 * 650 + 3 * 900
    assert body["total"]["parts_billed"] == 15


def test_timeline_per_minute_with_first_and_last_send(api, people, main_campaign, backend):
    body = report(api, people, main_campaign)
    assert body["first_submit"] == "2025-03-10T08:00:00+07:00"
    assert body["last_submit"] == "2025-03-10T08:01:20+07:00"
    assert body["last_outcome"] == "2025-03-10T08:03:20+07:00"
    line = body["timeline"]
    assert line["bucket_seconds"] == 60
    got = [(b["start"], b["submitted"], b["delivered"], b["partial"], b["failed"])
           for b in line["buckets"]]
    assert got == [
        ("2025-03-10T08:00:00+07:00", 12, 3, 0, 2),
        ("2025-03-10T08:01:00+07:00", 3, 1, 1, 0),
        ("2025-03-10T08:02:00+07:00", 0, 2, 0, 1),
        ("2025-03-10T08:03:00+07:00", 0, 1, 0, 0),
    ]
    assert line["buckets"][0]["submit_rate_per_second"] == 0.2


def test_wider_buckets_align_on_local_time(api, people, main_campaign, backend):
    five = report(api, people, main_campaign, "?bucket=300")["timeline"]["buckets"]
    assert [(b["start"], b["submitted"], b["delivered"], b["failed"]) for b in five] == [
        ("2025-03-10T08:00:00+07:00", 15, 7, 3)]
    day = report(api, people, main_campaign, "?bucket=86400")["timeline"]["buckets"]
    assert [b["start"] for b in day] == ["2025-03-10T00:00:00+07:00"]


def test_bad_bucket_and_unknown_campaign(api, people, main_campaign):
    who = api.as_(people["editor"])
    r = who.get(f"/api/campaigns/{main_campaign.campaign.id}/report?bucket=7")
    assert r.status_code == 422 and "bucket" in r.json["errors"]
    r = who.get(f"/api/campaigns/{main_campaign.campaign.id}/report?buckets=60")
    assert r.status_code == 422 and "buckets" in r.json["errors"]
    assert who.get("/api/campaigns/999999/report").status_code == 404


def test_a_campaign_not_yet_sent_has_an_empty_report(api, people, app):
    from dispatch.models import CampaignStatus
    from tests.helpers.reports import campaign

    c = campaign(people, "Nháp", status=CampaignStatus.DRAFT, launched=None)
    db.session.commit()
    body = api.as_(people["approver"]).get(f"/api/campaigns/{c.id}/report").json
    assert body["total"]["targeted"] == 0 and body["by_channel"] == {}
    assert body["timeline"]["buckets"] == [] and body["first_submit"] is None


def test_tally_counts_unsent_rows_apart():
    t = Tally()
    t.add("sms", "queued", None, 0, 4, 4, 800)
    t.add("sms", "sending", None, 0, 1, 1, 800)
    t.add("sms", "cancelled", "cancelled", 0, 2, 2, 800)
    t.add("sms", "expired", "validity_ended", 0, 3, 3, 800)
    t.add("sms", "expired", "EXPIRED", 1, 1, 2, 800)
    d = t.as_dict()
    assert (d["waiting"], d["cancelled"], d["expired_unsent"], d["expired"]) == (5, 2, 3, 1)
    assert (d["submitted"], d["parts_billed"], d["cost_vnd"]) == (1, 2, 1600)
