"""Who may do what: the one table every endpoint and page checks.

Roles are additive (a person may hold several). Separation of duties is enforced by the services
on top of this table: an author never approves their own campaign, whatever roles they hold.
"""

from __future__ import annotations

STAFF = frozenset({"editor", "approver", "admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    # campaigns
    "campaign.view": STAFF,
    "campaign.create": frozenset({"editor"}),
    "campaign.edit": frozenset({"editor"}),
    "campaign.submit": frozenset({"editor"}),
    "campaign.approve": frozenset({"approver"}),
    "campaign.reject": frozenset({"approver"}),
    "campaign.launch": frozenset({"editor", "approver"}),
    "campaign.pause": STAFF,
    "campaign.resume": frozenset({"editor", "approver", "admin"}),
    "campaign.cancel": frozenset({"approver", "admin"}),
    # Re-sending failed/unknown messages may reach someone twice: a deliberate, audited decision.
    "campaign.retry": frozenset({"approver", "admin"}),
    "campaign.preview": STAFF,
    # a test send of a draft to the test list (staff phones), before approval
    "campaign.test": frozenset({"editor"}),
    # the test list itself: staff see it (to pick a member), admins keep it
    "testlist.view": STAFF,
    "testlist.manage": frozenset({"admin"}),
    # communication plans and their phases: everyone reads them, admins write them
    "plan.view": STAFF,
    "plan.manage": frozenset({"admin"}),
    # audiences
    "audience.view": STAFF,
    "audience.edit": frozenset({"editor", "admin"}),
    "optout.edit": frozenset({"editor", "admin"}),
    "locality.edit": frozenset({"admin"}),
    # reports: aggregates for every staff member, the summary export included (no personal
    # data in it); the per-recipient ledger export lists citizens' numbers and names, so only
    # approvers and admins take it out (personal data protection, Decree 13/2023/ND-CP)
    "report.view": STAFF,
    "report.export": frozenset({"approver", "admin"}),
    # the inbox of replies: staff read and handle them, admins edit the labels; the full
    # number of a citizen is shown only on request to those allowed, and audited
    "reply.view": STAFF,
    "reply.handle": STAFF,
    "reply.labels": frozenset({"admin"}),
    "reply.unmask": frozenset({"admin"}),
    # administration
    "user.manage": frozenset({"admin"}),
    "settings.manage": frozenset({"admin"}),
    "gateway.manage": frozenset({"admin"}),
    "gateway.view": STAFF,
    "audit.view": frozenset({"approver", "admin"}),
    "appkey.manage": frozenset({"admin"}),
    # webhooks: where Loa posts events (numbers masked) and with which secret
    "hook.manage": frozenset({"admin"}),
    # a person's data exported or erased on their request (dispatch.audiences.retention)
    "personal_data.manage": frozenset({"admin"}),
    # operations: /metrics (without the scrape token) and the RQ dashboard
    "ops.view": frozenset({"admin"}),
    # every signed-in person manages their own tokens and password
    "self": STAFF,
}


def allowed(roles: list[str] | None, action: str) -> bool:
    """Whether any of `roles` grants `action`; unknown actions are denied."""
    granted = PERMISSIONS.get(action)
    if granted is None:
        return False
    return any(r in granted for r in roles or [])
