"""Who may do what to campaigns: the role × action matrix and separation of duties."""

from __future__ import annotations

import pytest

ROLES = ["editor", "editor2", "approver", "approver2", "admin", "editor_approver", None]

# endpoint -> expected status per caller, in ROLES order (None: anonymous). The campaign is
# written by `editor`; every other caller is a stranger to it. Derived from the issue: editors
# draft, approvers approve/reject, admins administer (and may pause, resume and cancel).
EXPECTED = {
    "list":       (200, 200, 200, 200, 200, 200, 401),
    "get":        (200, 200, 200, 200, 200, 200, 401),
    "audit":      (200, 200, 200, 200, 200, 200, 401),
    "diff":       (200, 200, 200, 200, 200, 200, 401),
    "preview":    (200, 200, 200, 200, 200, 200, 401),
    "plans":      (200, 200, 200, 200, 200, 200, 401),
    "create":     (201, 201, 403, 403, 403, 201, 401),
    "patch":      (200, 200, 403, 403, 403, 200, 401),
    "delete":     (204, 403, 403, 403, 403, 403, 401),  # a draft's author only
    "submit":     (200, 200, 403, 403, 403, 200, 401),
    "reopen":     (200, 200, 403, 403, 403, 200, 401),
    "approve":    (403, 403, 200, 200, 403, 200, 401),  # never the author
    "reject":     (403, 403, 200, 200, 403, 200, 401),
    "launch":     (200, 200, 200, 200, 403, 200, 401),
    "pause":      (200, 200, 200, 200, 200, 200, 401),
    "resume":     (200, 200, 200, 200, 200, 200, 401),
    "cancel":     (403, 403, 200, 200, 200, 200, 401),
}

# The state each endpoint needs so that only the caller decides the outcome.
NEEDS = {"patch": "draft", "delete": "draft", "submit": "draft", "reopen": "pending_approval",
         "approve": "pending_approval", "reject": "pending_approval", "launch": "approved",
         "pause": "sending", "resume": "paused", "cancel": "approved"}

CASES = [(endpoint, role, codes[i]) for endpoint, codes in EXPECTED.items()
         for i, role in enumerate(ROLES)]


def call(flow, client, endpoint, c):
    cid = c["id"]
    if endpoint == "list":
        return client.get("/api/campaigns")
    if endpoint == "plans":
        return client.get("/api/plans")
    if endpoint in ("audit", "diff", "preview"):
        return client.get(f"/api/campaigns/{cid}/{endpoint}")
    if endpoint == "get":
        return client.get(f"/api/campaigns/{cid}")
    if endpoint == "create":
        return client.post("/api/campaigns", json=flow.body())
    if endpoint == "patch":
        return client.patch(f"/api/campaigns/{cid}", json={"sms_text": "Nội dung mới."})
    if endpoint == "delete":
        return client.delete(f"/api/campaigns/{cid}")
    body = {"approve": {"snapshot_hash": c["snapshot_hash"]}, "reject": {"reason": "Chưa ổn."},
            "cancel": {"reason": "Hoãn."}}.get(endpoint, {})
    return client.post(f"/api/campaigns/{cid}/{endpoint}", json=body)


@pytest.mark.parametrize(("endpoint", "role", "expected"), CASES,
                         ids=[f"{e}-{r or 'anonymous'}" for e, r, _ in CASES])
def test_role_action_matrix(flow, api, backend, endpoint, role, expected):
    c = flow.to(NEEDS.get(endpoint, "pending_approval"))
    client = flow.as_(role) if role else api
    resp = call(flow, client, endpoint, c)
    assert resp.status_code == expected, resp.json
    if expected == 403:
        code = resp.json["code"]
        assert code == ("not_author" if endpoint == "delete" and role in ("editor2",
                                                                          "editor_approver")
                        else "forbidden")


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_author_never_approves_or_rejects_own_campaign(flow, backend, action):
    c = flow.to("pending_approval", author="editor_approver")
    body = ({"snapshot_hash": c["snapshot_hash"]} if action == "approve"
            else {"reason": "Tự từ chối."})
    resp = flow.act("editor_approver", c["id"], action, **body)
    assert resp.status_code == 403 and resp.json["code"] == "own_campaign"
    assert flow.get(c["id"], "editor_approver")["status"] == "pending_approval"
    assert "approve" not in flow.get(c["id"], "editor_approver")["allowed_actions"]
    # Another approver may.
    assert flow.ok("approver", c["id"], action, **body)["status"] in ("approved", "rejected")


def test_whoever_edited_or_submitted_cannot_approve(flow, backend):
    """A co-author (an editor-approver who changed someone's draft) counts as an author."""
    c = flow.create("editor")
    edited = flow.as_("editor_approver").patch(f"/api/campaigns/{c['id']}",
                                               json={"sms_text": "Sửa một chữ."})
    assert edited.status_code == 200
    c = flow.submit(c["id"])
    resp = flow.act("editor_approver", c["id"], "approve", snapshot_hash=c["snapshot_hash"])
    assert resp.status_code == 403 and resp.json["code"] == "own_campaign"

    submitted_by_them = flow.create("editor")
    s = flow.submit(submitted_by_them["id"], "editor_approver")
    resp = flow.act("editor_approver", s["id"], "approve", snapshot_hash=s["snapshot_hash"])
    assert resp.status_code == 403 and resp.json["code"] == "own_campaign"


def test_allowed_actions_follow_role_status_and_authorship(flow, backend):
    c = flow.to("pending_approval", author="editor_approver")
    assert flow.get(c["id"], "editor_approver")["allowed_actions"] == ["edit", "reopen"]
    assert flow.get(c["id"], "approver")["allowed_actions"] == ["approve", "reject"]
    assert flow.get(c["id"], "admin")["allowed_actions"] == []
    d = flow.to("draft")
    assert flow.get(d["id"], "editor")["allowed_actions"] == ["edit", "delete", "submit"]
    assert flow.get(d["id"], "editor2")["allowed_actions"] == ["edit", "submit"]
    s = flow.to("sending")
    assert flow.get(s["id"], "admin")["allowed_actions"] == ["pause", "cancel", "retry"]
    assert flow.get(s["id"], "editor")["allowed_actions"] == ["pause"]
