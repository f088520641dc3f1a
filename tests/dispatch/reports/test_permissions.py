"""Who may see reports and take the ledger out."""

from __future__ import annotations

import pytest

from dispatch.access.permissions import allowed


@pytest.mark.parametrize("who", ["editor", "approver", "admin"])
def test_every_staff_role_sees_reports_and_the_summary(api, people, main_campaign, who):
    caller = api.as_(people[who])
    assert caller.get(f"/api/campaigns/{main_campaign.campaign.id}/report").status_code == 200
    assert caller.get("/api/reports/summary").status_code == 200
    assert caller.get("/api/reports/summary.csv").status_code == 200


@pytest.mark.parametrize(("who", "status"), [("editor", 403), ("approver", 200), ("admin", 200),
                                             ("editor_approver", 200)])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_ledger_export_is_for_approvers_and_admins(api, people, main_campaign, who, status, fmt):
    r = api.as_(people[who]).get(f"/api/campaigns/{main_campaign.campaign.id}/export.{fmt}")
    assert r.status_code == status
    if status == 403:
        assert r.json["code"] == "forbidden" and "report.export" in r.json["message"]


def test_anonymous_callers_get_nothing(api, main_campaign):
    cid = main_campaign.campaign.id
    for path in [f"/api/campaigns/{cid}/report", f"/api/campaigns/{cid}/export.csv",
                 "/api/reports/summary", "/api/reports/summary.xlsx"]:
        assert api.get(path).status_code == 401


def test_matrix():
    assert all(allowed([r], "report.view") for r in ("editor", "approver", "admin"))
    assert not allowed(["editor"], "report.export")
    assert allowed(["approver"], "report.export") and allowed(["admin"], "report.export")
